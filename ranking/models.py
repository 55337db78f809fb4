"""The engagement log the feed learns from, and the versioned settings of its ranking."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from .learner import DEFAULT_WEIGHTS, HEADS


class EngagementEvent(models.Model):
    """One thing a viewer did with a post; append-only."""

    class Kind(models.TextChoices):
        IMPRESSION = "impression", "Impression"
        VIEW = "view", "View (value: seconds watched)"
        COMPLETE = "complete", "Watched to the end"
        REPLAY = "replay", "Replay"
        SKIP = "skip", "Skip (value: seconds watched)"
        LIKE = "like", "Like"
        UNLIKE = "unlike", "Unlike"
        COMMENT = "comment", "Comment"
        SHARE = "share", "Share"
        FOLLOW = "follow", "Follow from post"
        REMIX = "remix", "Remix"
        NOT_INTERESTED = "not_interested", "Not interested"
        REPORT = "report", "Report"
        RESET = "reset", "Reset of the viewer's recommendations (no post)"

    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="engagement_events",
        help_text="Empty for signed-out viewers.",
        db_index=False,  # the indexes below lead with it
    )
    post = models.ForeignKey(
        "feed.Post",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        help_text="Empty only for a reset, which is about the viewer alone.",
        db_index=False,  # event_post_kind leads with it
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.FloatField(default=1.0)
    created = models.DateTimeField(default=timezone.now)
    client_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Id the client gave the event, so a batch sent twice counts once.",
    )

    class Meta:
        indexes = [
            models.Index(fields=["post", "kind"], name="event_post_kind"),
            models.Index(fields=["viewer", "-created"], name="event_viewer_recent"),
            # What a viewer did about given clips (For You's seen filter, intake's caps). It
            # carries what the seen filter reads, so on PostgreSQL that filter reads the index
            # alone: a viewer's events lie together there, where the table scatters them a
            # page apart (a heavy viewer's 179 rows took 99 table pages, 30-40 ms from cold).
            models.Index(
                fields=["viewer", "post"],
                name="event_viewer_post_seen",
                include=["kind", "created", "id"],
            ),
            models.Index(fields=["-created"], name="event_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(post__isnull=False) | models.Q(kind="reset"),
                name="event_post_unless_reset",
            ),
            models.UniqueConstraint(
                fields=["viewer", "client_id"],
                condition=~models.Q(client_id=""),
                name="event_client_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.post_id} by {self.viewer_id}"


class Activatable(models.Model):
    """A versioned thing of which one row at a time is live (a partial unique constraint
    keeps it one); see services.version_activate."""

    version = models.PositiveIntegerField(unique=True, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False)
    is_active = models.BooleanField(default=False, editable=False)
    activated = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When it last went live."
    )
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        abstract = True
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="%(class)s_one_active",
            )
        ]


# The settings a version holds, in the order the admin shows them and diffs name them.
TUNABLE_FIELDS: tuple[str, ...] = (
    *(f"weight_{head}" for head in HEADS),
    "freshness_half_life_hours",
    "exploration_share",
    "preference_strength",
    "max_per_author",
    "remix_gap",
)
# The fields that change after a version is saved: which one is live, and since when.
_ACTIVATION_FIELDS = frozenset({"is_active", "activated", "activated_by"})
# Heads whose engagement is unwanted: their weights are never positive.
NEGATIVE_HEADS = frozenset({"skip", "negative"})


def _weight_field(head: str) -> models.FloatField:
    negative = head in NEGATIVE_HEADS
    return models.FloatField(
        f"weight of {head}",
        default=DEFAULT_WEIGHTS[head],
        validators=[MaxValueValidator(0.0) if negative else MinValueValidator(0.0)],
        help_text=(
            f"How much a predicted {head} counts in a clip's score"
            + (" (zero or less: it is unwanted)." if negative else " (zero or more).")
        ),
    )


class RankingConfig(Activatable):
    """One version of how For You is ranked; saved once, never edited; one is active.

    A clip's score is the weighted sum of the learner's predicted engagements, decayed
    with the clip's age; a page then gets its exploration slots and diversity limits.
    """

    based_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        help_text="The version this one was edited from; `changes` is the diff against it.",
    )
    weight_like = _weight_field("like")
    weight_complete = _weight_field("complete")
    weight_share = _weight_field("share")
    weight_comment = _weight_field("comment")
    weight_skip = _weight_field("skip")
    weight_negative = _weight_field("negative")
    freshness_half_life_hours = models.FloatField(
        default=24.0,
        validators=[MinValueValidator(0.1)],
        help_text="A clip's score halves every this many hours of age.",
    )
    exploration_share = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of a page's slots (0 to 0.5) given to clips picked at random.",
    )
    preference_strength = models.FloatField(
        default=2.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(10.0)],
        help_text='How strongly a viewer\'s own feed preference ("more nature, less memes") '
        "steers their For You: a clip's score is multiplied by exp(strength x match), "
        "the match being -1 to 1 (0 turns preferences off).",
    )
    max_per_author = models.PositiveSmallIntegerField(
        "max clips per author per page",
        default=2,
        validators=[MinValueValidator(1)],
    )
    remix_gap = models.PositiveSmallIntegerField(
        default=1,
        help_text="At least this many clips between two remixes of one parent "
        "(0 lets them sit side by side).",
    )
    note = models.TextField(help_text="Why this version: what it should change, and why.")
    changes = models.JSONField(
        default=dict,
        blank=True,
        editable=False,
        help_text="{field: [before, after]} against the version it was based on.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta(Activatable.Meta):
        constraints = [
            *Activatable.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(exploration_share__gte=0.0, exploration_share__lte=0.5),
                name="rankingconfig_exploration_share_range",
            ),
            models.CheckConstraint(
                condition=models.Q(freshness_half_life_hours__gt=0.0),
                name="rankingconfig_half_life_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(max_per_author__gte=1),
                name="rankingconfig_max_per_author_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version}" if self.pk else "defaults"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save a new version; a saved one may only change which version is live."""
        update_fields = kwargs.get("update_fields")
        if (
            self.pk
            and not self._state.adding
            and not (update_fields is not None and set(update_fields) <= _ACTIVATION_FIELDS)
        ):
            raise ValueError("A saved ranking config is immutable: save a new version instead.")
        super().save(*args, **kwargs)

    @property
    def weights(self) -> dict[str, float]:
        """The weight of each learner head, by head name."""
        return {head: float(getattr(self, f"weight_{head}")) for head in HEADS}

    @property
    def values(self) -> dict[str, Any]:
        """The tunable settings, by field name."""
        return {name: getattr(self, name) for name in TUNABLE_FIELDS}

    @property
    def is_editable(self) -> bool:
        """The active version, or one never activated, can be the base of a new version."""
        return self.is_active or self.activated is None


def _model_upload_to(instance: RankingModel, filename: str) -> str:
    return f"ranking/models/v{instance.version}-{filename}"


class RankingModel(Activatable):
    """One trained state of the For You learner, kept so that it can be rolled back.

    A retrain (Celery beat, or an admin's "retrain now") streams the events of the last
    RANKING_TRAIN_WINDOW_DAYS into a fresh learner and saves it here. It goes live only if
    its like AUC on held-out recent events is at least the live version's on the same
    events (ranking/training.py); otherwise it is kept, inactive, with the reason. The
    active version is what every web process loads, after which each keeps learning online
    from the events newer than `through_event`.
    """

    state = models.FileField(upload_to=_model_upload_to, editable=False)
    through_event = models.BigIntegerField(
        default=0, editable=False, help_text="The id of the last event it learnt from."
    )
    events = models.PositiveIntegerField(default=0, editable=False)
    viewers = models.PositiveIntegerField(default=0, editable=False)
    clips = models.PositiveIntegerField(default=0, editable=False)
    size_bytes = models.PositiveBigIntegerField(default=0, editable=False)
    training_s = models.FloatField(default=0.0, editable=False)
    note = models.CharField(max_length=200, blank=True, editable=False)
    holdout_metric = models.FloatField(
        "held-out like AUC",
        null=True,
        blank=True,
        editable=False,
        help_text="Its like AUC on the held-out recent events it was checked on "
        "(empty: nothing live to compare with, or the events could not tell).",
    )
    holdout_active_metric = models.FloatField(
        "live version's held-out like AUC",
        null=True,
        blank=True,
        editable=False,
        help_text="The like AUC of the version live then, on the same events.",
    )
    holdout_compared_with = models.PositiveIntegerField(
        null=True, blank=True, editable=False, help_text="The version live when it was checked."
    )
    holdout_exposures = models.PositiveIntegerField(
        default=0, editable=False, help_text="How many held-out exposures it was checked on."
    )
    inactive_reason = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text="Why the retrain kept it inactive; empty if it went live.",
    )

    class Meta(Activatable.Meta):
        pass

    def __str__(self) -> str:
        return f"model v{self.version}"

    @property
    def holdout_summary(self) -> str:
        """Its held-out check in a few words, for the admin's list of versions."""
        if self.holdout_metric is None:
            return "-"
        text = f"like AUC {self.holdout_metric:.3f}"
        if self.holdout_active_metric is not None:
            text += f" vs {self.holdout_active_metric:.3f} (v{self.holdout_compared_with})"
        return f"{text} on {self.holdout_exposures:,} held-out exposures"


class ServedItem(models.Model):
    """A clip For You put on a page: where, why, and how likely it was to be put there.

    `propensity` is the probability that the policy would show this clip in this slot
    (1 for a ranked slot, the Thompson sampling estimate for an exploration slot), so that
    off-policy evaluation (IPS, SNIPS) can reweight what was logged. `terms` are the score
    terms the "why am I seeing this" panel shows, exactly as they were computed.
    """

    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    post = models.ForeignKey("feed.Post", on_delete=models.CASCADE, related_name="+")
    session = models.CharField(max_length=32, help_text="One run of pages, from the top.")
    position = models.PositiveIntegerField()
    source = models.CharField(max_length=60, help_text="Where the candidate came from.")
    score = models.FloatField()
    explored = models.BooleanField(default=False)
    propensity = models.FloatField()
    terms = models.JSONField(default=dict)
    config_version = models.PositiveIntegerField(null=True, blank=True)
    model_version = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["session", "post"], name="served_session"),
            models.Index(fields=["viewer", "post", "-created"], name="served_viewer_post"),
            models.Index(fields=["-created"], name="served_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} at {self.position} for {self.viewer_id}"


class ClipShown(models.Model):
    """A clip Riff put in front of a signed-in viewer on a Following page or its own page
    (For You's log, ServedItem, says the same of For You pages).

    A viewer's events about a clip count only after it was shown to them (ranking/intake.py),
    and watch time only as much as the time since allows; rows older than a day are pruned.
    """

    class Where(models.TextChoices):
        FOLLOWING = "following", "Following"
        POST = "post", "The post's own page"

    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey("feed.Post", on_delete=models.CASCADE, related_name="+")
    where = models.CharField(max_length=10, choices=Where.choices)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["viewer", "post", "-created"], name="shown_viewer_post"),
            models.Index(fields=["created"], name="shown_created"),
        ]

    def __str__(self) -> str:
        return f"{self.post_id} shown to {self.viewer_id} ({self.where})"


class FeedPreference(models.Model):
    """A viewer's own words about their For You ("more nature, less memes"), embedded."""

    viewer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feed_preference"
    )
    text = models.CharField(max_length=200)
    more = models.JSONField(default=list, help_text="The phrases asked for more of.")
    less = models.JSONField(default=list, help_text="The phrases asked for less of.")
    # Mean unit embeddings (float32 bytes) of the phrases on each side; empty if none.
    more_vector = models.BinaryField(blank=True, default=b"")
    less_vector = models.BinaryField(blank=True, default=b"")
    updated = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.viewer_id}: {self.text}"
