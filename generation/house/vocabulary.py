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

# Honest about the shipped weights (weights/TRAINING.md): colour and background come out right
# most of the time, shape and motion not yet.
SUMMARY = (
    "It draws coloured shapes over a few simple backgrounds: the colour and the place come "
    "out right, the shape and the motion often don't yet. No people, animals or real scenes."
)
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

# Words that carry no drawing of their own: articles, linking words, pronouns, numbers
# (digits never count as words) and what people write around a description ("a clip of",
# "please", "make"). Naming them as words it won't draw would bury the ones that matter.
_GLUE = frozenset(
    (
        *("a", "an", "the", "and", "or", "but", "with", "of", "in", "on", "at", "to", "for"),
        *("over", "under", "into", "onto", "across", "above", "below", "around", "through"),
        *("from", "by", "as", "near", "while", "then", "very", "so", "just", "not", "no"),
        *("it", "its", "is", "are", "was", "be", "being", "has", "have", "this", "that"),
        *("these", "those", "there", "here", "some", "all", "each", "who", "which", "where"),
        *("i", "we", "you", "he", "she", "they", "them", "my", "your", "his", "her", "their"),
        *("our", "me", "us", "please", "make", "show", "showing", "want", "like", "can"),
        *("clip", "video", "scene", "animation", "shot"),
        *("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
        *("first", "second", "both", "another", "other", "few", "many"),
        *("don't", "doesn't", "isn't", "aren't", "without"),
    )
)
# A word is letters, with an apostrophe inside ("dog's", "don't"); a possessive 's is dropped.
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def _words(text: str) -> list[str]:
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    return [word.removesuffix("'s") for word in words]


def _singulars(word: str) -> tuple[str, ...]:
    """What `word` may be the plural of: circles -> circle, boxes -> box, skies -> sky."""
    if word.endswith("ies"):
        return (word[:-3] + "y", word[:-1])
    if word.endswith("es"):
        return (word[:-1], word[:-2])
    return (word[:-1],) if word.endswith("s") else ()


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
    """The words of `prompt` outside `known` (the house model's), each once, in order, in
    lower case; a plural is known when its singular is ("balls", "boxes", "skies"), and
    filler ("a", "at", "with", "two") never counts. static/js/job.js does the same."""
    unknown: dict[str, None] = {}
    for word in _words(prompt):
        singulars = _singulars(word)
        if word in known or any(s in known or s in unknown for s in singulars):
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

    def note(self, model_key: str, prompt: str) -> str:
        """What the create page and the API say before a prompt is generated, e.g.
        "riff-house draws coloured shapes; it won't draw: dog, surfing."; "" when every
        word is known."""
        unknown = self.unknown(prompt)
        if not unknown:
            return ""
        return f"{model_key} draws {self.draws}; it won't draw: {', '.join(unknown)}."


GUIDE = PromptGuide(SUMMARY, DRAWS, PLACEHOLDER, GROUPS, EXAMPLES, KNOWN)
