"""Admin for the engagement log (read-only: it is append-only) and the ranking's versions."""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse

from accounts.models import User

from .admin_versions import VersionAdmin
from .learner import HEADS
from .models import TUNABLE_FIELDS, EngagementEvent, RankingConfig, RankingModel
from .selectors import active_config, ranking_config_previous, ranking_model_previous
from .services import (
    ranking_config_create,
    ranking_config_defaults_ensure,
    ranking_config_diff,
)


@admin.register(EngagementEvent)
class EngagementEventAdmin(admin.ModelAdmin):
    """The engagement log, for looking, not editing."""

    list_display = ("created", "kind", "viewer", "post", "value")
    list_filter = ("kind", "created")
    search_fields = ("viewer__username", "post__id")
    list_select_related = ("viewer", "post")
    date_hierarchy = "created"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Events come from people's actions, never from the admin."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        """The log is append-only."""
        return False


class RankingConfigForm(forms.ModelForm):
    """A version's settings; saving makes a new version, so the note starts empty."""

    class Meta:
        model = RankingConfig
        fields = (*TUNABLE_FIELDS, "note")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["note"] = ""

    def clean(self) -> dict[str, Any]:
        """A new version must change something."""
        cleaned = super().clean() or {}
        if self.instance.pk and not set(self.changed_data) & set(TUNABLE_FIELDS):
            raise forms.ValidationError(
                "Nothing changed: a new version needs at least one setting different "
                f"from {self.instance}."
            )
        return cleaned


@admin.register(RankingConfig)
class RankingConfigAdmin(VersionAdmin):
    """Versions of the For You ranking: edit to make a new one, activate, roll back, preview.

    Version 0 holds the built-in defaults (saved the first time the versions are listed), so
    they can be seen, previewed against and rolled back to like any other version.
    """

    form = RankingConfigForm
    list_display = ("version", "is_active", "created_by", "created", "note", "changes_summary")
    list_display_links = ("version",)
    list_select_related = ("created_by",)
    list_filter = ("is_active",)
    search_fields = ("note", "created_by__username")
    nothing_live = "the defaults"
    preview_kind = "config"
    fieldsets = (
        ("Weights of the predicted engagements", {"fields": [f"weight_{h}" for h in HEADS]}),
        (
            "Freshness, exploration and viewers' preferences",
            {"fields": ["freshness_half_life_hours", "exploration_share", "preference_strength"]},
        ),
        ("Diversity on a page", {"fields": ["max_per_author", "remix_gap"]}),
        ("Why", {"fields": ["note"]}),
    )
    history_fields = (
        "version",
        "based_on",
        "changes",
        "created_by",
        "created",
        "is_active",
        "activated",
        "activated_by",
    )

    def previous(self) -> RankingConfig | None:
        """The version live before the active one."""
        return ranking_config_previous()

    def confirm_facts(
        self, version: RankingConfig, active: RankingConfig | None
    ) -> list[tuple[str, str, str]]:
        """Each setting the version changes against the live one (the defaults if none is)."""
        changes = ranking_config_diff(active, version)
        labels = {f.name: str(f.verbose_name) for f in RankingConfig._meta.fields}
        return [
            (labels.get(name, name), str(changes[name][0]), str(changes[name][1]))
            for name in TUNABLE_FIELDS
            if name in changes
        ]

    def preview_context(
        self, version: RankingConfig, active: RankingConfig | None
    ) -> dict[str, Any]:
        """The settings the previewed version changes against the active one."""
        # Lists, not dicts: a template's `.items` would look up a key "items" first.
        return {"changes": sorted(ranking_config_diff(active, version).items())}

    def get_fieldsets(self, request: HttpRequest, obj: RankingConfig | None = None) -> Any:
        """The settings, then (for a saved version) where it came from and its life."""
        if obj is None:
            return self.fieldsets
        return (*self.fieldsets, ("Version", {"fields": self.history_fields}))

    def get_readonly_fields(self, request: HttpRequest, obj: RankingConfig | None = None) -> Any:
        """A saved version's history is never edited."""
        return self.history_fields if obj is not None else ()

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """A new version starts from the settings in force."""
        return active_config().values

    def has_change_permission(self, request: HttpRequest, obj: RankingConfig | None = None) -> bool:
        """Only the active version, or one never activated, is a base for a new version."""
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.is_editable)

    def has_delete_permission(self, request: HttpRequest, obj: RankingConfig | None = None) -> bool:
        """Versions are the history: none is deleted."""
        return False

    @admin.display(description="Changes")
    def changes_summary(self, obj: RankingConfig) -> str:
        """The diff against the version it was based on, one setting after another."""
        if obj.version == 0:
            return "the built-in defaults"
        base = f"from {obj.based_on}: " if obj.based_on_id else "from the defaults: "
        if not obj.changes:
            return "-"
        return base + "; ".join(
            f"{name} {before} → {after}" for name, (before, after) in obj.changes.items()
        )

    def save_model(
        self, request: HttpRequest, obj: RankingConfig, form: forms.ModelForm, change: bool
    ) -> None:
        """Save the form as a new version, leaving the one it was edited from untouched."""
        based_on = RankingConfig.objects.get(pk=obj.pk) if change else active_config()
        saved = ranking_config_create(
            values={name: form.cleaned_data[name] for name in TUNABLE_FIELDS},
            note=form.cleaned_data["note"],
            based_on=based_on if based_on.pk else None,
            created_by=cast(User, request.user),
        )
        # The admin goes on with `obj` (messages, history, redirect): make it the new row.
        for model_field in RankingConfig._meta.concrete_fields:
            setattr(obj, model_field.attname, getattr(saved, model_field.attname))
        obj._state.adding = False

    def construct_change_message(
        self, request: HttpRequest, form: forms.Form, formsets: Any, add: bool = False
    ) -> Any:
        """History names the new version and its diff (save_model has made it the instance)."""
        saved = cast(RankingConfig, cast(forms.ModelForm, form).instance)
        return f"Saved {saved}: {self.changes_summary(saved)}"

    def response_change(self, request: HttpRequest, obj: RankingConfig) -> HttpResponse:
        """After saving an edit, go to the new version (not active yet)."""
        self.message_user(
            request,
            f"Saved as {obj}, not active yet: preview it, then activate it.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:ranking_rankingconfig_change", args=[obj.pk]))

    def response_add(
        self, request: HttpRequest, obj: RankingConfig, post_url_continue: str | None = None
    ) -> HttpResponse:
        """After adding, go to the new version (not active yet)."""
        return self.response_change(request, obj)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The version's page, with what a rollback or activation would do."""
        obj = self.get_object(request, object_id)
        extra = {
            "active_version": RankingConfig.objects.filter(is_active=True).first(),
            "can_activate": obj is not None and self._may_activate(request) and not obj.is_active,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The versions (version 0, the defaults, among them), with a rollback to the one
        live before the active one."""
        if request.method == "GET":
            ranking_config_defaults_ensure()
        extra = {
            "previous_version": ranking_config_previous() if self._may_activate(request) else None,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def get_urls(self) -> list[URLPattern]:
        """Activate, roll back and preview, beside the usual pages."""
        return [*self.version_urls(), *super().get_urls()]


@admin.register(RankingModel)
class RankingModelAdmin(VersionAdmin):
    """Trained versions of the learner: which one every web process ranks with, rollback,
    and a retrain on demand (Celery beat also retrains every RANKING_RETRAIN_HOURS)."""

    list_display = (
        "__str__",
        "is_active",
        "created",
        "events",
        "viewers",
        "clips",
        "size_mb",
        "training_s",
        "holdout",
        "note",
        "inactive_reason",
        "activated_by",
    )
    list_filter = ("is_active",)
    readonly_fields = [f.name for f in RankingModel._meta.fields]
    preview_kind = "model"
    # What the confirmation page leaves out: the bookkeeping of versions.
    unconfirmed = frozenset({"id", "state", "is_active", "activated", "activated_by", "version"})

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Versions come from training, never from a form."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: RankingModel | None = None) -> bool:
        """Read-only pages; activating needs the change permission, checked in the views."""
        return obj is None and super().has_change_permission(request, obj)

    def previous(self) -> RankingModel | None:
        """The version live before the active one."""
        return ranking_model_previous()

    def confirm_facts(
        self, version: RankingModel, active: RankingModel | None
    ) -> list[tuple[str, str, str]]:
        """What each version was trained on and how (every field but the bookkeeping)."""
        return [
            (
                str(f.verbose_name),
                "" if active is None else str(getattr(active, f.name)),
                str(getattr(version, f.name)),
            )
            for f in RankingModel._meta.concrete_fields
            if f.name not in self.unconfirmed
        ]

    @admin.display(description="Held-out check")
    def holdout(self, obj: RankingModel) -> str:
        """Its like AUC on held-out recent events beside the live version's, on the same."""
        return obj.holdout_summary

    @admin.display(description="MB")
    def size_mb(self, obj: RankingModel) -> str:
        """The saved state's size."""
        return f"{obj.size_bytes / 1e6:.1f}"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The version's page, with its preview and what activating it would do."""
        obj = self.get_object(request, object_id)
        active = RankingModel.objects.filter(is_active=True).first()
        extra = {
            "can_activate": obj is not None and self._may_activate(request) and not obj.is_active,
            "is_rollback": obj is not None and active is not None and obj.version < active.version,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The versions, with "retrain now" and a rollback."""
        may = self._may_activate(request)
        extra = {
            "may_activate": may,
            "previous_version": ranking_model_previous() if may else None,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def get_urls(self) -> list[URLPattern]:
        """Retrain, activate, roll back and preview, beside the usual pages."""
        wrap = self.admin_site.admin_view
        return [
            path("retrain/", wrap(self.retrain_view), name="ranking_rankingmodel_retrain"),
            *self.version_urls(),
            *super().get_urls(),
        ]

    def retrain_view(self, request: HttpRequest) -> HttpResponse:
        """Queue a full retrain on the worker: POST only."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self._may_activate(request):
            raise PermissionDenied
        from .tasks import ranking_retrain

        ranking_retrain.delay()
        self.message_user(
            request,
            "Retraining on the worker; the new version goes live when it is done.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:ranking_rankingmodel_changelist"))
