"""Reports, cases under review, decisions, strikes, appeals and the notices they send."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone

from .policy import PolicyCategory, PromptRefusal, Severity

# What a case can be about; exactly one of them is set.
TARGETS = ("post", "comment", "message", "account")


def _exactly_one_of(fields: tuple[str, ...]) -> models.Q:
    """A condition that exactly one of these foreign keys is set."""
    either = models.Q()
    for chosen in fields:
        either |= models.Q(**{f"{name}__isnull": name != chosen for name in fields})
    return either


class Case(models.Model):
    """A post, comment, message or account waiting for a moderator's decision, with the
    reports on it."""

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
    message = models.ForeignKey(
        "social.Message", null=True, blank=True, on_delete=models.CASCADE, related_name="cases"
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
                condition=_exactly_one_of(TARGETS),
                name="case_one_target",
            ),
            # Reports on something already waiting join that case instead of opening another.
            *(
                models.UniqueConstraint(
                    fields=[target],
                    condition=models.Q(status="open"),
                    name=f"case_open_{target}_unique",
                )
                for target in TARGETS
            ),
        ]

    def __str__(self) -> str:
        return f"case #{self.pk} on {self.target_label} ({self.status})"

    @property
    def kind(self) -> str:
        """What the case is about: "post", "comment", "message" or "account"."""
        return next(name for name in TARGETS if getattr(self, f"{name}_id"))

    @property
    def target_owner(self) -> Any:
        """The person whose post, comment or account is under review."""
        if self.post is not None:
            return self.post.owner
        if self.comment is not None:
            return self.comment.author
        if self.message is not None:
            return self.message.sender
        return self.account

    @property
    def target_label(self) -> str:
        """A short name for the thing under review."""
        target_id = getattr(self, f"{self.kind}_id")
        return f"{self.kind} {target_id}"


class Report(models.Model):
    """Someone signed in says a post, comment, message or account breaks the rules."""

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
    # A reported message comes with the conversation's last messages up to it, as they were
    # when it was reported: [{"id", "sender", "body", "post", "created"}, ...], oldest first.
    context = models.JSONField(default=list, blank=True)
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
    category_note = models.TextField(
        max_length=500,
        blank=True,
        validators=[MaxLengthValidator(500)],
        help_text="Why this rule, when the reports pointed at another (sent to the person).",
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
