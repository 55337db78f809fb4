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
    Infos,
    ItemInfo,
    LearnerConfig,
    weighted_value,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "EVENT_KINDS",
    "Event",
    "FEATURES",
    "HEADS",
    "HEAD_OF_EVENT",
    "Infos",
    "ItemInfo",
    "Learner",
    "LearnerConfig",
    "SIGNAL",
    "state_equal",
    "weighted_value",
]
