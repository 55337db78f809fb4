"""Moderation's records: the prompt policy, the hash bank, reports, decisions, appeals, audit."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class Severity(models.IntegerChoices):
    """How urgent a kind of harm is; the review queue puts the worst first."""

    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"
    CRITICAL = 4, "Critical"


# --- prompt policy ---------------------------------------------------------------------------


class PolicyCategory(models.Model):
    """A kind of content Riff does not make or show, described in words a person understands."""

    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.TextField(
        help_text="Shown to people whose prompt or clip falls under this category."
    )
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.MEDIUM)
    semantic_threshold = models.FloatField(
        default=0.62,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=(
            "A prompt whose meaning is at least this close (cosine similarity, 0 to 1) to one "
            "of the category's example prompts is refused. Lower catches more."
        ),
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "policy categories"
        ordering = ("-severity", "name")

    def __str__(self) -> str:
        return self.name


class PolicyRule(models.Model):
    """A blocked term or pattern in one category."""

    class Kind(models.TextChoices):
        TERM = "term", "Term (whole words, any case)"
        PATTERN = "pattern", "Pattern (regular expression, any case)"

    category = models.ForeignKey(PolicyCategory, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TERM)
    value = models.CharField(max_length=300)
    note = models.CharField(max_length=200, blank=True, help_text="Why this rule exists.")
    active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("category", "kind", "value")

    def __str__(self) -> str:
        return f"{self.get_kind_display().split(' ')[0]} “{self.value}” ({self.category})"

    def clean(self) -> None:
        """A pattern must compile; a term must not be blank."""
        self.value = self.value.strip()
        if not self.value:
            raise ValidationError({"value": "Enter a term or pattern."})
        if self.kind == self.Kind.PATTERN:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValidationError({"value": f"This pattern doesn't compile: {exc}."}) from exc


class PolicyExample(models.Model):
    """An example prompt of a category: prompts that mean much the same are refused."""

    category = models.ForeignKey(PolicyCategory, on_delete=models.CASCADE, related_name="examples")
    prompt = models.CharField(max_length=300)

    class Meta:
        ordering = ("category", "prompt")

    def __str__(self) -> str:
        return self.prompt


class ProtectedName(models.Model):
    """A real person (a public figure) whose likeness Riff does not generate."""

    name = models.CharField(max_length=120, unique=True)
    aliases = models.TextField(blank=True, help_text="Other names for the same person, one a line.")
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name

    def names(self) -> list[str]:
        """The name and each alias."""
        return [self.name, *(a.strip() for a in self.aliases.splitlines() if a.strip())]


class PromptRefusal(models.Model):
    """A prompt the policy refused; an overturned appeal lets that exact prompt run."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompt_refusals"
    )
    prompt = models.TextField(max_length=2000, validators=[MaxLengthValidator(2000)])
    negative_prompt = models.TextField(blank=True)
    category = models.ForeignKey(
        PolicyCategory, null=True, on_delete=models.SET_NULL, related_name="refusals"
    )
    rule = models.CharField(max_length=300, help_text="What matched, as shown to the person.")
    created = models.DateTimeField(default=timezone.now)
    allowed_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when an appeal overturned the refusal."
    )

    def __str__(self) -> str:
        return f"{self.user_id}: {self.prompt[:40]} ({self.rule})"


# --- output checks ---------------------------------------------------------------------------


class HashBankEntry(models.Model):
    """The frame hashes of a clip moderators removed: new clips that match are held."""

    post = models.ForeignKey(
        "feed.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.ForeignKey(
        "Decision", null=True, blank=True, on_delete=models.SET_NULL, related_name="bank_entries"
    )
    # PDQ hashes (256 bits, 64 hex digits) of the clip's sampled frames.
    hashes = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    added = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "hash bank entries"

    def __str__(self) -> str:
        return f"bank #{self.pk} (post {self.post_id}, {len(self.hashes)} frames)"


class ClipFingerprint(models.Model):
    """A generated clip's frame hashes and the bank entry it matched, if any."""

    job = models.OneToOneField(
        "generation.GenerationJob", on_delete=models.CASCADE, related_name="fingerprint"
    )
    hashes = models.JSONField(default=list)
    match = models.ForeignKey(
        HashBankEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="matches"
    )
    matched_share = models.FloatField(default=0.0)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"fingerprint of {self.job_id}"


# --- reports, review, decisions ------------------------------------------------------------


class Case(models.Model):
    """A post, comment or account waiting for a moderator's decision, with the reports on it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DECIDED = "decided", "Decided"

    class Source(models.TextChoices):
        REPORTS = "reports", "Reports"
        HASH_BANK = "hash_bank", "Hash bank match (automated)"

    post = models.ForeignKey(
        "feed.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="cases"
    )
    comment = models.ForeignKey(
        "feed.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="cases"
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="cases",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.REPORTS)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.LOW)
    report_count = models.PositiveIntegerField(default=0)
    opened = models.DateTimeField(default=timezone.now)
    decided = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions = [("review_case", "Can review reports, decide cases and appeals")]
        indexes = [
            models.Index(
                fields=["status", "-severity", "-report_count", "opened"], name="case_queue"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(post__isnull=False, comment__isnull=True, account__isnull=True)
                    | models.Q(post__isnull=True, comment__isnull=False, account__isnull=True)
                    | models.Q(post__isnull=True, comment__isnull=True, account__isnull=False)
                ),
                name="case_one_target",
            ),
            # Reports on something already waiting join that case instead of opening another.
            *(
                models.UniqueConstraint(
                    fields=[target],
                    condition=models.Q(status="open"),
                    name=f"case_open_{target}_unique",
                )
                for target in ("post", "comment", "account")
            ),
        ]

    def __str__(self) -> str:
        return f"case #{self.pk} on {self.target_label} ({self.status})"

    @property
    def kind(self) -> str:
        """What the case is about: "post", "comment" or "account"."""
        if self.post_id:
            return "post"
        return "comment" if self.comment_id else "account"

    @property
    def target_owner(self) -> Any:
        """The person whose post, comment or account is under review."""
        if self.post is not None:
            return self.post.owner
        if self.comment is not None:
            return self.comment.author
        return self.account

    @property
    def target_label(self) -> str:
        """A short name for the thing under review."""
        target_id = self.post_id or self.comment_id or self.account_id
        return f"{self.kind} {target_id}"


class Report(models.Model):
    """Someone signed in says a post, comment or account breaks the rules."""

    class Reason(models.TextChoices):
        SEXUAL = "sexual", "Sexual content or nudity"
        VIOLENCE = "violence", "Violence or gore"
        HATE = "hate", "Hate or discrimination"
        HARASSMENT = "harassment", "Harassment or bullying"
        SELF_HARM = "self_harm", "Suicide or self-harm"
        LIKENESS = "likeness", "Depicts a real person without consent"
        ILLEGAL = "illegal", "Illegal activity"
        MISLEADING = "misleading", "Misleading or deceptive"
        SPAM = "spam", "Spam"
        OTHER = "other", "Something else"

    # How urgent each reason is for the queue's ordering.
    SEVERITY: dict[str, int] = {
        Reason.SEXUAL: Severity.CRITICAL,
        Reason.SELF_HARM: Severity.CRITICAL,
        Reason.VIOLENCE: Severity.HIGH,
        Reason.HATE: Severity.HIGH,
        Reason.LIKENESS: Severity.HIGH,
        Reason.ILLEGAL: Severity.HIGH,
        Reason.HARASSMENT: Severity.MEDIUM,
        Reason.MISLEADING: Severity.MEDIUM,
        Reason.SPAM: Severity.LOW,
        Reason.OTHER: Severity.LOW,
    }

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    reason = models.CharField(max_length=12, choices=Reason.choices)
    note = models.TextField(max_length=1000, blank=True, validators=[MaxLengthValidator(1000)])
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "reporter"], name="report_once_per_case")
        ]

    def __str__(self) -> str:
        return f"{self.reporter_id} reports {self.case_id}: {self.reason}"


class Decision(models.Model):
    """What a moderator (or the system) decided on a case, and the statement of reasons sent."""

    class Action(models.TextChoices):
        DISMISS = "dismiss", "Dismiss: no rule broken"
        LABEL = "label", "Label: show a warning label"
        LIMIT = "limit", "Limit: keep off For You"
        REMOVE = "remove", "Remove"
        SUSPEND = "suspend", "Suspend the account"

    # Actions that count against the account.
    STRIKING = (Action.REMOVE, Action.SUSPEND)

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="decision")
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decisions_made",
    )
    automated = models.BooleanField(default=False)
    action = models.CharField(max_length=10, choices=Action.choices)
    category = models.ForeignKey(
        PolicyCategory,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decisions",
        help_text="The rule that was broken (none for a dismissal).",
    )
    label = models.CharField(max_length=80, blank=True, help_text="The warning label shown.")
    facts = models.TextField(
        max_length=2000,
        validators=[MaxLengthValidator(2000)],
        help_text="What the moderator saw that led to the decision.",
    )
    affected = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="decisions_received",
    )
    created = models.DateTimeField(default=timezone.now)
    reversed = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.get_action_display()} on case {self.case_id}"


class Strike(models.Model):
    """A mark against an account from a removal or suspension; enough of them suspend it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strikes"
    )
    decision = models.OneToOneField(Decision, on_delete=models.CASCADE, related_name="strike")
    created = models.DateTimeField(default=timezone.now)
    voided = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"strike on {self.user_id} ({self.decision})"


class Appeal(models.Model):
    """A person asks for a decision or a prompt refusal to be looked at again."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a moderator"
        UPHELD = "upheld", "Decision upheld"
        OVERTURNED = "overturned", "Decision overturned"

    decision = models.OneToOneField(
        Decision, null=True, blank=True, on_delete=models.CASCADE, related_name="appeal"
    )
    refusal = models.OneToOneField(
        PromptRefusal, null=True, blank=True, on_delete=models.CASCADE, related_name="appeal"
    )
    appellant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="appeals"
    )
    text = models.TextField(max_length=2000, validators=[MaxLengthValidator(2000)])
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appeals_decided",
    )
    reply = models.TextField(max_length=2000, blank=True, validators=[MaxLengthValidator(2000)])
    created = models.DateTimeField(default=timezone.now)
    decided = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(decision__isnull=False, refusal__isnull=True)
                    | models.Q(decision__isnull=True, refusal__isnull=False)
                ),
                name="appeal_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"appeal #{self.pk} ({self.status})"


class Notice(models.Model):
    """A message to a person about a moderation action: a statement of reasons, an appeal's end."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    decision = models.ForeignKey(
        Decision, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    appeal = models.ForeignKey(
        Appeal, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created = models.DateTimeField(default=timezone.now)
    read = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["recipient", "-created"], name="notice_recent")]

    def __str__(self) -> str:
        return f"to {self.recipient_id}: {self.subject}"


class AuditEntry(models.Model):
    """One moderator or automated action. Rows are only ever added."""

    # No database foreign key: an entry outlives the account that acted, and deleting a user
    # must not have to rewrite the log.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=60, help_text="@handle, or “automation”.")
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=60, help_text="What was acted on, e.g. “post 12”.")
    details = models.JSONField(default=dict)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ("-created", "-id")

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target}"

    def save(self, *args: object, **kwargs: object) -> None:
        """Add the entry; an entry already written can't be saved again."""
        if not self._state.adding:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        """Refused: the audit log is append-only."""
        raise PermissionError("The audit log is append-only.")


class ModerationSettings(models.Model):
    """The instance's moderation thresholds: one row, edited in the admin."""

    suspend_after_strikes = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        help_text="An account with this many live strikes is suspended automatically.",
    )
    strike_days = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(1)],
        help_text="A strike counts for this many days.",
    )
    hash_distance = models.PositiveSmallIntegerField(
        default=31,
        validators=[MaxValueValidator(256)],
        help_text="Two frames match when their PDQ hashes differ in at most this many bits.",
    )
    hash_share = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.05), MaxValueValidator(1.0)],
        help_text="A clip matches a banked one when this share of its frames match.",
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "moderation settings"

    def __str__(self) -> str:
        return "Moderation settings"

    @classmethod
    def current(cls) -> ModerationSettings:
        """The one row, created with the defaults on first use."""
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj
