"""The house model's vocabulary: every word its training captions use is known, and a
prompt's other words are named."""

from __future__ import annotations

import numpy as np

from generation.house.captions import HELD_OUT_TEMPLATES, TRAIN_TEMPLATES, make_caption
from generation.house.specs import random_spec
from generation.house.vocabulary import EXAMPLES, GROUPS, GUIDE, unknown_words


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
    # Plurals of known words pass; a speed is not something it draws.
    assert unknown_words("two red balls falling slowly over the waves") == ["slowly"]
    assert unknown_words("") == []


def test_filler_and_numbers_are_never_named():
    """Only content words count: articles, linking words, pronouns and numbers don't."""
    filler = "a the on at in with of and to my I we it is this 3 two 10 please make me a clip"
    assert unknown_words(filler) == []
    assert unknown_words("A dog at the beach with 2 cats") == ["dog", "cats"]


def test_case_plurals_and_possessives_are_handled():
    assert unknown_words("A RED Circle Moving LEFT") == []
    for plural in ("circles", "boxes", "stars", "balls", "skies", "triangles"):
        assert unknown_words(plural) == [], plural
    # A plural of an unknown word is named once, as it was first written.
    assert unknown_words("a dog and two dogs") == ["dog"]
    assert unknown_words("my dog's ball, the cat’s star") == ["dog", "cat"]


def test_the_note_names_the_words_and_is_empty_when_all_are_known():
    assert GUIDE.note("riff-house", "my dog surfing a huge wave at sunset") == (
        "riff-house draws coloured shapes; it won't draw: dog, surfing, wave, sunset."
    )
    assert GUIDE.note("riff-house", "a red circle moving left on the beach") == ""
