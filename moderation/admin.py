"""Admin for moderation: the prompt policy (moderators edit it), thresholds, and the records."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .conflicts import moderators, own_cases_filter
from .models import (
    Appeal,
    AuditEntry,
    Case,
    ClipFingerprint,
    Decision,
    HashBankEntry,
    ModerationSettings,
    Notice,
    PolicyCategory,
    PolicyExample,
    PolicyRule,
    PromptRefusal,
    ProtectedName,
    Report,
    Strike,
)
from .services import audit_record


def _policy_audit(request: HttpRequest, obj: Any, verb: str, fields: list[str]) -> None:
    """Log an edit of the policy (or the thresholds) made in the admin: who, what, which fields."""
    audit_record(
        actor=request.user,  # type: ignore[arg-type]
        action=f"policy:{verb}",
        target=f"{obj._meta.model_name} {obj.pk}",
        label=str(obj)[:200],
        fields=sorted(fields),
    )


class AuditedAdmin(admin.ModelAdmin):
    """An admin whose every add, change and delete, inline rows included, is in the audit log."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Save, then log what changed."""
        super().save_model(request, obj, form, change)
        if form.changed_data or not change:
            _policy_audit(request, obj, "change" if change else "add", form.changed_data)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        """Log the deletion (with the id it had), then delete."""
        _policy_audit(request, obj, "delete", [])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        """The bulk delete action logs each row too."""
        for obj in queryset:
            _policy_audit(request, obj, "delete", [])
        super().delete_queryset(request, queryset)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Save inline rows (recording who last edited a rule), logging each change."""
        for obj in formset.save(commit=False):
            if isinstance(obj, PolicyRule):
                obj.updated_by = request.user  # type: ignore[assignment]
            obj.save()
        for obj, fields in formset.changed_objects:
            _policy_audit(request, obj, "change", fields)
        for obj in formset.new_objects:
            _policy_audit(request, obj, "add", [])
        for obj in formset.deleted_objects:
            _policy_audit(request, obj, "delete", [])
            obj.delete()


class PolicyRuleInline(admin.TabularInline):
    """A category's blocked terms and patterns."""

    model = PolicyRule
    extra = 1
    fields = ("kind", "value", "note", "active")


class PolicyExampleInline(admin.TabularInline):
    """A category's example prompts for the semantic check."""

    model = PolicyExample
    extra = 1


class PolicyCategoryForm(forms.ModelForm):
    """A category, with the report reasons it answers as checkboxes."""

    report_reasons = forms.MultipleChoiceField(
        choices=Report.Reason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=PolicyCategory._meta.get_field("report_reasons").help_text,
    )

    class Meta:
        model = PolicyCategory
        fields = (
            "slug",
            "name",
            "description",
            "severity",
            "semantic_threshold",
            "report_reasons",
            "active",
        )


@admin.register(PolicyCategory)
class PolicyCategoryAdmin(AuditedAdmin):
    """Categories with their rules, examples, semantic threshold and the reports they answer."""

    form = PolicyCategoryForm
    list_display = ("name", "slug", "severity", "semantic_threshold", "active")
    list_editable = ("semantic_threshold", "active")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (PolicyRuleInline, PolicyExampleInline)


@admin.register(PolicyRule)
class PolicyRuleAdmin(AuditedAdmin):
    """Every blocked term and pattern."""

    list_display = ("value", "kind", "category", "active", "updated_by", "updated")
    list_filter = ("category", "kind", "active")
    search_fields = ("value", "note")
    readonly_fields = ("updated_by", "updated")

    def save_model(self, request: HttpRequest, obj: PolicyRule, form: Any, change: bool) -> None:
        """Record who edited the rule."""
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(ProtectedName)
class ProtectedNameAdmin(AuditedAdmin):
    """Public figures whose likeness Riff does not generate."""

    list_display = ("name", "note")
    search_fields = ("name", "aliases")


class ModerationSettingsForm(forms.ModelForm):
    """The settings, checking that every conflict reviewer is a moderator."""

    class Meta:
        model = ModerationSettings
        fields = (
            "suspend_after_strikes",
            "strike_days",
            "hash_distance",
            "hash_share",
            "conflict_reviewers",
        )

    def clean_conflict_reviewers(self) -> Any:
        """Only moderators can decide anything: naming anyone else would leave matters waiting."""
        reviewers = self.cleaned_data["conflict_reviewers"]
        allowed = set(moderators().values_list("pk", flat=True))
        others = sorted(f"@{user.username}" for user in reviewers if user.pk not in allowed)
        if others:
            raise forms.ValidationError(
                f"Not a moderator: {', '.join(others)}. Make them moderators first "
                "(bin/manage moderator @handle)."
            )
        return reviewers


@admin.register(ModerationSettings)
class ModerationSettingsAdmin(AuditedAdmin):
    """The one row of thresholds (strikes, hash matching) and the conflict reviewers."""

    form = ModerationSettingsForm
    autocomplete_fields = ("conflict_reviewers",)
    list_display = (
        "__str__",
        "suspend_after_strikes",
        "strike_days",
        "hash_distance",
        "hash_share",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        """One row only."""
        return not ModerationSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """The row stays."""
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that moderation services write; the admin only shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Written by Riff, not by hand."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Changed through the moderation pages, which keep the audit log, not here."""
        return False


class ReportInline(admin.TabularInline):
    """The reports on a case."""

    model = Report
    extra = 0
    can_delete = False
    readonly_fields = ("reporter", "reason", "note", "context", "created")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Reports come from people."""
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    """Cases; decide them on the moderation pages."""

    list_display = ("pk", "status", "source", "severity", "report_count", "opened", "decided")
    list_filter = ("status", "source", "severity")
    raw_id_fields = ("post", "comment", "message", "account")
    inlines = (ReportInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        """Not the cases about the person looking: their reports name who reported them."""
        return super().get_queryset(request).exclude(own_cases_filter(moderator=request.user))


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    """Decisions and whether they were overturned."""

    list_display = ("pk", "action", "category", "moderator", "automated", "created", "reversed")
    list_filter = ("action", "automated", "category")
    raw_id_fields = ("case", "moderator", "affected")


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    """Appeals and their outcomes."""

    list_display = ("pk", "status", "appellant", "decided_by", "created", "decided")
    list_filter = ("status",)
    raw_id_fields = ("decision", "refusal", "appellant", "decided_by")


@admin.register(Strike)
class StrikeAdmin(ReadOnlyAdmin):
    """Strikes against accounts."""

    list_display = ("pk", "user", "decision", "created", "voided")
    raw_id_fields = ("user", "decision")


@admin.register(PromptRefusal)
class PromptRefusalAdmin(ReadOnlyAdmin):
    """Prompts the policy refused."""

    list_display = ("pk", "user", "rule", "category", "created", "allowed_at")
    list_filter = ("category",)
    search_fields = ("prompt",)
    raw_id_fields = ("user",)


@admin.register(HashBankEntry)
class HashBankEntryAdmin(ReadOnlyAdmin):
    """Removed clips whose look-alikes are held."""

    list_display = ("pk", "post", "decision", "active", "added")
    list_filter = ("active",)
    raw_id_fields = ("post", "decision")


@admin.register(ClipFingerprint)
class ClipFingerprintAdmin(ReadOnlyAdmin):
    """Generated clips' frame hashes and matches."""

    list_display = ("job", "match", "matched_share", "created")
    raw_id_fields = ("job", "match")


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """Statements of reasons and appeal outcomes sent to people."""

    list_display = ("pk", "recipient", "subject", "created", "read")
    raw_id_fields = ("recipient", "decision", "appeal")


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log: read only, for everyone, superusers included."""

    list_display = ("created", "actor_name", "action", "target")
    list_filter = ("action",)
    search_fields = ("actor_name", "target")
    readonly_fields = ("created", "actor", "actor_name", "action", "target", "details")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Nobody deletes from the audit log."""
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """No bulk actions (not even delete)."""
        return {}
