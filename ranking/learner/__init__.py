"""The For You learner (see `model`): engagement probabilities per viewer and clip, online."""

from .model import Learner
from .saving import state_equal
from .vocabulary import (
    DEFAULT_WEIGHTS,
    EVENT_KINDS,
    FEATURES,
    HEAD_OF_EVENT,
    HEADS,
    SIGNAL,
    Event,
    ItemInfo,
    LearnerConfig,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "EVENT_KINDS",
    "Event",
    "FEATURES",
    "HEADS",
    "HEAD_OF_EVENT",
    "ItemInfo",
    "Learner",
    "LearnerConfig",
    "SIGNAL",
    "state_equal",
]
