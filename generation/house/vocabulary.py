"""What the house model can be asked for, in words: the create page's chips, examples, and
the words of a prompt it never learnt.

The model learnt from captions of procedural scenes (captions.py): one or two coloured
shapes, a motion and a background. Any other word reaches it only as MiniLM's embedding of
the whole prompt, where "a dog surfing a wave" lands near nothing it can draw, so the create
page names such words before a person generates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .captions import (
    BACKGROUND_WORDS,
    COLOUR_WORDS,
    HELD_OUT_TEMPLATES,
    MOTION_WORDS,
    SHAPE_WORDS,
    SIZE_WORDS,
    TRAIN_TEMPLATES,
)

SUMMARY = "It draws one or two coloured shapes moving over a simple background."
DRAWS = "coloured shapes"
PLACEHOLDER = "A coloured shape, what it does and where: a red ball bouncing on the beach"

# The chips: what a person taps to add a word (the first, commonest word of each meaning).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Shapes", tuple(words[0] for words in SHAPE_WORDS.values())),
    ("Colours", tuple(words[0] for words in COLOUR_WORDS.values())),
    ("Motions", tuple(ing[0] for ing, _present, _tags in MOTION_WORDS.values())),
    ("Places", tuple(phrases[0] for phrases, _tags in BACKGROUND_WORDS.values())),
)
EXAMPLES = (
    "a red ball bouncing on the beach",
    "a blue square moving to the left in the sky",
    "a small yellow star spinning at night",
    "a green triangle and a pink circle rising over the sea",
)

# Words that carry no drawing of their own: articles, linking words, and what people write
# around a description ("a clip of", "please", "make"). Counts and speeds are not among
# them: the model draws neither.
_GLUE = frozenset(
    (
        *("a", "an", "the", "and", "with", "of", "in", "on", "at", "to", "over", "under"),
        *("into", "onto", "across", "above", "below", "around", "through", "from", "by"),
        *("it", "its", "is", "are", "be", "being", "this", "that", "there", "here", "some"),
        *("my", "your", "his", "her", "their", "our", "please", "make", "show", "me"),
        *("showing", "clip", "video", "scene", "animation", "shot"),
    )
)
_WORD = re.compile(r"[a-z]+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _known() -> frozenset[str]:
    phrases = [
        *(w for table in (COLOUR_WORDS, SHAPE_WORDS, SIZE_WORDS) for w in sum(table.values(), ())),
        *(p for ing, present, tags in MOTION_WORDS.values() for p in (*ing, *tags)),
        *(v for _ing, present, _tags in MOTION_WORDS.values() for pair in present for v in pair),
        *(p for phrases, tags in BACKGROUND_WORDS.values() for p in (*phrases, *tags)),
        *(re.sub(r"\{\w+\}", " ", t) for t in (*TRAIN_TEMPLATES, *HELD_OUT_TEMPLATES)),
        "grey gray",
    ]
    return frozenset(word for phrase in phrases for word in _words(phrase)) | _GLUE


KNOWN = _known()


def unknown_words(prompt: str, known: frozenset[str] = KNOWN) -> list[str]:
    """The words of `prompt` outside `known` (the house model's), each once, in order; a
    plural is known when its singular is ("balls", "stars")."""
    unknown: dict[str, None] = {}
    for word in _words(prompt):
        if word in known or (word.endswith("s") and word[:-1] in known):
            continue
        unknown[word] = None
    return list(unknown)


@dataclass(frozen=True)
class PromptGuide:
    """How to prompt a model with a small vocabulary (the create page shows it)."""

    summary: str  # what it draws, in a sentence
    draws: str  # the same in a few words: "<model> draws <draws>; it won't draw: ..."
    placeholder: str
    groups: tuple[tuple[str, tuple[str, ...]], ...]
    examples: tuple[str, ...]
    known: frozenset[str]

    def unknown(self, prompt: str) -> list[str]:
        """The words of `prompt` outside the vocabulary."""
        return unknown_words(prompt, self.known)


GUIDE = PromptGuide(SUMMARY, DRAWS, PLACEHOLDER, GROUPS, EXAMPLES, KNOWN)
