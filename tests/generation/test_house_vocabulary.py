"""The house model's vocabulary: every word its training captions use is known, and a
prompt's other words are named."""

from __future__ import annotations

import numpy as np

from generation.house.captions import HELD_OUT_TEMPLATES, TRAIN_TEMPLATES, make_caption
from generation.house.specs import random_spec
from generation.house.vocabulary import EXAMPLES, GROUPS, unknown_words


def test_no_word_of_a_training_or_held_out_caption_is_unknown():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        spec = random_spec(rng)
        for template in (*TRAIN_TEMPLATES, *HELD_OUT_TEMPLATES):
            caption = make_caption(spec, rng, template)
            assert unknown_words(caption) == [], caption


def test_the_chips_and_examples_are_known_words():
    for _group, words in GROUPS:
        for word in words:
            assert unknown_words(word) == [], word
    for example in EXAMPLES:
        assert unknown_words(example) == [], example


def test_words_it_never_learnt_are_named_once_in_order():
    assert unknown_words("My dog surfing a HUGE wave at sunset, dog!") == [
        "dog",
        "surfing",
        "wave",
        "sunset",
    ]
    # Plurals of known words pass; counts and speeds are not something it draws.
    assert unknown_words("two red balls falling slowly over the waves") == ["two", "slowly"]
    assert unknown_words("") == []
