"""The prompt policy: categories, their rules and examples, protected names, refusals."""

from __future__ import annotations

import re

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
    report_reasons = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            "The report reasons this category answers (Report.Reason values): a decision on "
            "reports of other reasons may cite it only if the moderator says why. Empty: it "
            "may answer any report."
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
