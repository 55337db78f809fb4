"""Admin for moderation: the prompt policy (moderators edit it), thresholds, and the records."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

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


class PolicyRuleInline(admin.TabularInline):
    """A category's blocked terms and patterns."""

    model = PolicyRule
    extra = 1
    fields = ("kind", "value", "note", "active")


class PolicyExampleInline(admin.TabularInline):
    """A category's example prompts for the semantic check."""

    model = PolicyExample
    extra = 1


@admin.register(PolicyCategory)
class PolicyCategoryAdmin(admin.ModelAdmin):
    """Categories with their rules, examples and semantic threshold."""

    list_display = ("name", "slug", "severity", "semantic_threshold", "active")
    list_editable = ("semantic_threshold", "active")
    prepopulated_fields = {"slug": ("name",)}
    inlines = (PolicyRuleInline, PolicyExampleInline)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        """Record who last edited each rule."""
        for obj in formset.save(commit=False):
            if isinstance(obj, PolicyRule):
                obj.updated_by = request.user  # type: ignore[assignment]
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(PolicyRule)
class PolicyRuleAdmin(admin.ModelAdmin):
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
class ProtectedNameAdmin(admin.ModelAdmin):
    """Public figures whose likeness Riff does not generate."""

    list_display = ("name", "note")
    search_fields = ("name", "aliases")


@admin.register(ModerationSettings)
class ModerationSettingsAdmin(admin.ModelAdmin):
    """The one row of thresholds: strikes and hash matching."""

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
    readonly_fields = ("reporter", "reason", "note", "created")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Reports come from people."""
        return False


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    """Cases; decide them on the moderation pages."""

    list_display = ("pk", "status", "source", "severity", "report_count", "opened", "decided")
    list_filter = ("status", "source", "severity")
    raw_id_fields = ("post", "comment", "account")
    inlines = (ReportInline,)


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
