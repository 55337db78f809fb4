"""What the viewer's controls over For You say, to pages and the API alike: why a clip is
shown (one reading of `selectors.Why` in plain words), and what a reset does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.timesince import timesince

from .learner import HEADS
from .recommend import SOURCE_LABELS
from .selectors import Why

# What each predicted engagement means for the viewer.
HEAD_LABELS = {
    "like": "you like it",
    "complete": "you watch it to the end",
    "share": "you share or remix it",
    "comment": "you comment on it",
    "skip": "you skip it",
    "negative": "you say not interested or report it",
}
# The learner's features the panel names, and what each measures ({author}: the handle).
FEATURE_LABELS = {
    "affinity": "Your affinity to @{author} (from your likes, follows, watches and skips)",
    "taste": "How well it matches your taste (clips you engaged with)",
    "session": "How well it matches what you engaged with just now",
    "popularity": "How popular it is right now",
    "item_like_lift": "How much more than usual people like it",
    "author_like_lift": "How much people like @{author}'s clips",
    "seen": "How often you have already seen it",
    "collaborative": "How much people with tastes like yours engaged with it",
}
NOT_INTERESTED_DONE = "Got it — fewer clips like this."
RESET_DONE = (
    "Your For You starts afresh: it forgot what it learnt about your taste, and clips you "
    "have seen may come back. Clips you marked “not interested” stay hidden, and your "
    "feed preference stays until you clear it."
)
OPENED = "opened"
OPENED_LABEL = "not from a For You page: scored now, as For You would"
# Where a clip came from, as a sentence of its own.
SOURCE_REASONS = {
    "following": "You follow @{author}.",
    "fresh": "It is new on Riff.",
    "trending": "It is popular right now.",
    "similar": "It is like clips you liked or watched.",
    "session": "It is like what you liked or watched just now.",
    "collaborative": "People with tastes like yours enjoyed it.",
    "preference": "It matches the feed preference you wrote.",
    "again": "You have seen everything newer, so it came round again.",
}
# What a learner feature means when it is high, as a sentence.
FEATURE_REASONS = {
    "affinity": "You often like, watch or follow @{author}'s clips.",
    "taste": "It is close to the clips you engage with.",
    "session": "It is close to what you liked or watched just now.",
    "popularity": "Many people are watching it.",
    "item_like_lift": "People like it more than most clips.",
    "author_like_lift": "People like @{author}'s clips more than most.",
    "collaborative": "People with tastes like yours enjoyed it.",
}
# A predicted chance from which "we think you will..." is said.
LIKELY = 0.25
# Head -> what a strong prediction of it says.
HEAD_REASONS = {
    "like": "We think you will like it.",
    "complete": "We think you will watch it to the end.",
    "share": "We think you may share or remix it.",
    "comment": "We think you may comment on it.",
}


@dataclass(frozen=True)
class Engagement:
    """One predicted engagement and its share of the score."""

    head: str
    label: str
    probability: float
    weight: float
    contribution: float

    @property
    def percent(self) -> str:
        """The predicted chance as a percentage a person reads at a glance."""
        return _percent(self.probability)


@dataclass(frozen=True)
class Feature:
    """One thing the learner reads about this viewer and clip."""

    name: str
    label: str
    value: float

    @property
    def level(self) -> str:
        """The value in a word: a feature near zero says little either way."""
        if self.value > 0.5:
            return "high"
        if self.value > 0.05:
            return "some"
        if self.value < -0.05:
            return "low"
        return "none"


@dataclass(frozen=True)
class Source:
    """Where a candidate came from."""

    key: str
    label: str


@dataclass(frozen=True)
class Explanation:
    """The score terms of one clip for one viewer, with the words to show them."""

    post_id: int
    computed: datetime
    scored_now: bool
    position: int | None  # 1-based place on For You; None when scored now
    sources: list[Source]
    engagements: list[Engagement]
    value: float | None
    age_hours: float | None
    freshness: float | None
    preference_match: float | None
    preference_factor: float | None
    score: float | None
    explored: bool
    propensity: float | None  # the logged probability of an exploration pick
    exploration: dict[str, Any] | None
    features: list[Feature]
    config_version: int | None
    model_version: int | None
    author: str = ""

    @property
    def reasons(self) -> list[str]:
        """Why the clip is here, a sentence each, strongest first; the numbers come after."""
        said: list[str] = []
        if self.explored:
            said.append(
                "It is a new clip few people have seen yet: For You keeps a few places on "
                "each page for those, so every clip gets a fair chance."
            )
        # A prediction is a reason only when it is a real lean, not the learner's base rate.
        positive = [
            e
            for e in self.engagements
            if e.contribution > 0 and e.head in HEAD_REASONS and e.probability >= LIKELY
        ]
        if positive:
            said.append(HEAD_REASONS[max(positive, key=lambda e: e.contribution).head])
        said += [
            FEATURE_REASONS[f.name].format(author=self.author)
            for f in sorted(self.features, key=lambda f: -f.value)
            if f.level == "high" and f.name in FEATURE_REASONS
        ]
        said += [
            SOURCE_REASONS[s.key].format(author=self.author)
            for s in self.sources
            if s.key in SOURCE_REASONS
        ]
        if self.age_hours is not None and self.age_hours < 24:
            said.append(f"It is fresh: posted {self.age_words} before it was shown.")
        if self.preference_match is not None:
            if self.preference_match > 0.2:
                said.append("It fits the feed preference you wrote, so it moved up.")
            elif self.preference_match < -0.2:
                said.append("It goes against the feed preference you wrote, so it moved down.")
        unique = list(dict.fromkeys(said))
        return unique or ["Nothing stood out: it scored a little better than the clips left."]

    @property
    def age_words(self) -> str:
        """The clip's age when it was scored, e.g. "40 minutes", "5 hours", "3 days"."""
        if self.age_hours is None:
            return ""
        if self.age_hours < 1:
            minutes = max(round(self.age_hours * 60), 1)
            return f"{minutes} minute{'s' if minutes != 1 else ''}"
        if self.age_hours < 48:
            hours = round(self.age_hours)
            return f"{hours} hour{'s' if hours != 1 else ''}"
        return f"{round(self.age_hours / 24)} days"

    @property
    def computed_ago(self) -> str:
        """When the terms were computed, from now: "just now", "5 minutes ago"."""
        if (timezone.now() - self.computed).total_seconds() < 60:
            return "just now"
        return f"{timesince(self.computed)} ago"

    @property
    def propensity_percent(self) -> str:
        """The logged probability of an exploration pick, as a percentage."""
        return "" if self.propensity is None else _percent(self.propensity)


def _percent(value: float) -> str:
    if 0 < value < 0.001:
        return "<0.1%"
    return f"{value * 100:.1f}%" if value < 0.1 else f"{value * 100:.0f}%"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def explain(why: Why, *, post_id: int, author: str) -> Explanation:
    """Read the terms of `why` (as ranking logged them) into an Explanation."""
    terms = why.terms or {}
    heads = terms.get("heads") or {}
    engagements = [
        Engagement(
            head=head,
            label=HEAD_LABELS.get(head, head),
            probability=float(heads[head].get("p", 0.0)),
            weight=float(heads[head].get("weight", 0.0)),
            contribution=float(heads[head].get("contribution", 0.0)),
        )
        for head in (*HEADS, *sorted(set(heads) - set(HEADS)))
        if head in heads
    ]
    sources = [
        Source(key, OPENED_LABEL if key == OPENED else SOURCE_LABELS.get(key, key))
        for key in terms.get("sources") or []
    ]
    raw_features = terms.get("features") or {}
    features = [
        Feature(name, label.format(author=author), float(raw_features[name]))
        for name, label in FEATURE_LABELS.items()
        if isinstance(raw_features.get(name), int | float)
    ]
    exploration = terms.get("exploration") if why.explored else None
    return Explanation(
        post_id=post_id,
        computed=why.shown,
        scored_now=why.position is None,
        position=None if why.position is None else why.position + 1,
        sources=sources,
        engagements=engagements,
        value=_number(terms.get("value")),
        age_hours=_number(terms.get("age_hours")),
        freshness=_number(terms.get("freshness")),
        preference_match=_number(terms.get("preference_match")),
        preference_factor=_number(terms.get("preference_factor")),
        score=_number(terms.get("score")),
        explored=why.explored,
        propensity=why.propensity if why.explored else None,
        exploration=exploration if isinstance(exploration, dict) else None,
        features=features,
        config_version=why.config_version,
        model_version=why.model_version,
        author=author,
    )
