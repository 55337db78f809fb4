"""Captions for scene specs, from templates with synonyms, and parsing them back."""

from __future__ import annotations

import re

import numpy as np

from .specs import ObjectSpec, SceneSpec

COLOUR_WORDS = {
    "red": ("red", "scarlet", "crimson"),
    "orange": ("orange",),
    "yellow": ("yellow", "golden"),
    "green": ("green", "emerald"),
    "blue": ("blue", "cobalt"),
    "purple": ("purple", "violet"),
    "pink": ("pink",),
    "white": ("white",),
    "black": ("black",),
}
SHAPE_WORDS = {
    "circle": ("circle", "disc", "dot"),
    "ball": ("ball", "sphere"),
    "square": ("square", "box", "block"),
    "triangle": ("triangle",),
    "star": ("star",),
}
SIZE_WORDS = {"small": ("small", "little", "tiny"), "big": ("big", "large", "huge")}
# Per motion: participle phrases, (singular, plural) present forms, and short tags.
MOTION_WORDS: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "left": (
        (
            "moving left",
            "moving to the left",
            "sliding to the left",
            "drifting left",
            "heading left",
        ),
        (("moves to the left", "move to the left"), ("slides left", "slide left")),
        ("left", "moving left"),
    ),
    "right": (
        ("moving right", "moving to the right", "sliding to the right", "drifting right"),
        (("moves to the right", "move to the right"), ("slides right", "slide right")),
        ("right", "moving right"),
    ),
    "up": (
        ("moving up", "rising", "floating upward", "going up"),
        (("rises", "rise"), ("floats up", "float up"), ("moves up", "move up")),
        ("up", "rising"),
    ),
    "down": (
        ("moving down", "falling", "sinking", "dropping down"),
        (("falls", "fall"), ("sinks", "sink"), ("moves down", "move down")),
        ("down", "falling"),
    ),
    "bouncing": (
        ("bouncing", "bouncing up and down", "hopping"),
        (("bounces", "bounce"), ("bounces up and down", "bounce up and down"), ("hops", "hop")),
        ("bouncing", "bounce"),
    ),
    "spinning": (
        ("spinning", "rotating", "twirling", "spinning in place"),
        (("spins", "spin"), ("rotates", "rotate"), ("twirls", "twirl")),
        ("spinning", "rotating"),
    ),
    "growing": (
        ("growing", "getting bigger", "expanding", "growing larger"),
        (("grows", "grow"), ("expands", "expand"), ("gets bigger", "get bigger")),
        ("growing", "expanding"),
    ),
}
# Per background: prepositional phrases and short tags.
BACKGROUND_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "sky": (
        ("in the sky", "across a blue sky", "against a clear sky", "in a blue sky"),
        ("sky", "blue sky"),
    ),
    "sea": (("over the sea", "above the ocean", "over the waves", "on the sea"), ("sea", "ocean")),
    "grass": (
        ("on the grass", "on a green lawn", "in a grassy field", "over a meadow"),
        ("grass", "lawn", "meadow"),
    ),
    "sand": (
        ("on the beach", "on the sand", "in the desert", "across the sand"),
        ("beach", "sand", "desert"),
    ),
    "night": (
        ("at night", "in the night sky", "under the stars", "on a starry night"),
        ("night", "night sky"),
    ),
    "white": (
        ("on a white background", "against a plain white backdrop", "on plain white"),
        ("white background", "plain white"),
    ),
    "grey": (
        ("on a grey background", "against a plain gray backdrop", "on plain grey"),
        ("grey background", "plain gray"),
    ),
    "black": (
        ("on a black background", "against a plain black backdrop", "on plain black"),
        ("black background", "plain black"),
    ),
}
TRAIN_TEMPLATES = (
    "{objs} {ing} {bg}",
    "{objs} {verb} {bg}",
    "{tags}, {bg_tag}, {tag}",
    "{Bg}, {objs} {be} {ing}",
    "{objs} {be} {ing} {bg}",
    "a clip of {objs} {ing} {bg}",
)
HELD_OUT_TEMPLATES = ("{bg_tag} scene: {objs} {ing}", "watch {objs} {base} {bg}")
SIZE_MENTION_P = 0.6


def pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _noun_phrase(obj: ObjectSpec, rng: np.random.Generator) -> str:
    words = [pick(rng, COLOUR_WORDS[obj.colour]), pick(rng, SHAPE_WORDS[obj.shape])]
    if obj.size is not None and rng.random() < SIZE_MENTION_P:
        words.insert(0, pick(rng, SIZE_WORDS[obj.size]))
    return " ".join(words)


def make_caption(spec: SceneSpec, rng: np.random.Generator, template: str | None = None) -> str:
    """A caption for a spec: `template` (default: a random training template) with synonyms."""
    if spec.background is None or spec.motion is None:
        raise ValueError("captions need a complete spec")
    template = template or pick(rng, TRAIN_TEMPLATES)
    nouns = [_noun_phrase(o, rng) for o in spec.objects]
    articled = [("an " if n[0] in "aeiou" else "a ") + n for n in nouns]
    ing, present, tags = MOTION_WORDS[spec.motion]
    plural = len(nouns) > 1
    singular_verb, plural_verb = present[int(rng.integers(len(present)))]
    bg_phrases, bg_tags = BACKGROUND_WORDS[spec.background]
    bg = pick(rng, bg_phrases)
    return template.format(
        objs=" and ".join(articled),
        tags=", ".join(nouns),
        ing=pick(rng, ing),
        verb=plural_verb if plural else singular_verb,
        base=plural_verb,
        be="are" if plural else "is",
        tag=pick(rng, tags),
        bg=bg,
        Bg=bg[0].upper() + bg[1:],
        bg_tag=pick(rng, bg_tags),
    )


_BACKGROUND_PATTERNS = (
    ("night", re.compile(r"\b(?:on a starry night|under the stars|(?:the )?night sky|night)\b")),
    ("plain", re.compile(r"\b(?:plain )?(white|gr[ae]y|black) (?:background|backdrop)\b")),
    ("plain", re.compile(r"\bplain (white|gr[ae]y|black)\b")),
    ("sea", re.compile(r"\b(?:sea|ocean|waves|water)\b")),
    ("sky", re.compile(r"\b(?:(?:blue|clear) )?sky\b")),
    ("grass", re.compile(r"\b(?:green )?(?:grass\w*|lawn|meadow|field)\b")),
    ("sand", re.compile(r"\b(?:beach|sand\w*|desert|dunes?)\b")),
)
_MOTION_PATTERNS = (
    ("bouncing", re.compile(r"\b(?:bounc\w*|hop\w*)(?: up and down)?")),
    ("spinning", re.compile(r"\b(?:spin\w*|rotat\w*|twirl\w*)\b")),
    ("growing", re.compile(r"\b(?:grow\w*|expand\w*|(?:gets?|getting) bigger)(?: larger)?\b")),
    ("left", re.compile(r"\bleft\w*\b")),
    ("right", re.compile(r"\bright\w*\b")),
    ("up", re.compile(r"\b(?:up\w*|ris(?:e|es|ing))\b")),
    ("down", re.compile(r"\b(?:down\w*|fall\w*|sink\w*|drop\w*)\b")),
)
_WORD_TO = {
    **{w: ("colour", c) for c, ws in COLOUR_WORDS.items() for w in ws},
    **{w: ("shape", s) for s, ws in SHAPE_WORDS.items() for w in ws},
    **{w: ("size", s) for s, ws in SIZE_WORDS.items() for w in ws},
}


def parse_caption(caption: str) -> SceneSpec:
    """Read a caption back into a spec; attributes it does not state are None (seed 0)."""
    text = caption.lower()
    background = None
    for name, pattern in _BACKGROUND_PATTERNS:
        match = pattern.search(text)
        if match:
            background = name
            if name == "plain":
                background = match.group(1).replace("gray", "grey")
            text = text[: match.start()] + " " + text[match.end() :]
            break
    motion = None
    for name, pattern in _MOTION_PATTERNS:
        match = pattern.search(text)
        if match:
            motion = name
            text = text[: match.start()] + " " + text[match.end() :]
            break
    objects = []
    size = colour = None
    for word in re.findall(r"[a-z]+", text):
        kind, value = _WORD_TO.get(word, ("", ""))
        if kind == "size":
            size = value
        elif kind == "colour":
            colour = value
        elif kind == "shape" and colour is not None:
            objects.append(ObjectSpec(colour, value, size))
            size = colour = None
    return SceneSpec(background, tuple(objects), motion)


# Every training caption names a background, so a prompt without one is read in a place the
# model never learnt; grey is the backdrop every colour stands out from.
DEFAULT_BACKGROUND = "on a grey background"


def with_background(prompt: str) -> str:
    """The prompt, with DEFAULT_BACKGROUND added when it names no background."""
    if parse_caption(prompt).background is not None:
        return prompt
    return f"{prompt.rstrip(' .')} {DEFAULT_BACKGROUND}"
