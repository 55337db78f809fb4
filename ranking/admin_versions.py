"""What the admin does with versioned ranking things (RankingConfig, RankingModel): activate
one after a confirmation page, roll back to the one live before, and preview one beside the
active one on a worker (ranking/preview_runs.py), showing its progress and then its result."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from accounts.models import User

from .preview_results import version_name
from .preview_runs import (
    preview_run_fail,
    preview_run_get,
    preview_run_latest,
    preview_run_queue,
)
from .services import version_activate

# How many days of events a preview replays unless asked otherwise.
PREVIEW_DAYS = 7
# A preview names at most this many viewers whose pages it shows.
PREVIEW_MAX_VIEWERS = 5
# A run still queued after this long says plainly that no worker seems to be taking it.
QUEUED_WARN_S = 60


class PreviewForm(forms.Form):
    """What a preview runs on: how many days, prompt embeddings or not, whose pages."""

    days = forms.IntegerField(
        min_value=1, max_value=90, initial=PREVIEW_DAYS, label="Days of events to replay"
    )
    embeddings = forms.ChoiceField(
        choices=(("1", "with prompt embeddings"), ("0", "without prompt embeddings")),
        initial="1",
        required=False,
        label="Replay",
    )
    viewers = forms.CharField(
        required=False,
        max_length=200,
        label="Sample viewers",
        help_text=(
            f"Up to {PREVIEW_MAX_VIEWERS} usernames, separated by commas or spaces; "
            "left empty, the most active viewers of those days."
        ),
    )

    def clean_embeddings(self) -> bool:
        """Whether the replay embeds prompts (yes unless asked not to)."""
        return bool(self.cleaned_data["embeddings"] != "0")

    def clean_viewers(self) -> list[str]:
        """Usernames, without an @, each once."""
        names = [n.lstrip("@") for n in re.split(r"[,\s]+", self.cleaned_data["viewers"]) if n]
        names = list(dict.fromkeys(n for n in names if n))
        if len(names) > PREVIEW_MAX_VIEWERS:
            raise forms.ValidationError(
                f"Name at most {PREVIEW_MAX_VIEWERS} viewers (you named {len(names)})."
            )
        return names


class VersionAdmin(admin.ModelAdmin):
    """Shared by versioned things of which one is live: activate one (after a confirmation),
    roll back in one step, preview one beside the active one."""

    actions = ("activate_selected",)
    # What the messages call "no version live".
    nothing_live = "none"
    # Which preview runs this admin queues: "config" or "model".
    preview_kind = ""

    def previous(self) -> Any:
        """The version live before the active one (what a rollback goes back to), or None."""
        raise NotImplementedError

    def confirm_facts(self, version: Any, active: Any) -> list[tuple[str, str, str]]:
        """(what, live now, after activating) for the confirmation page."""
        raise NotImplementedError

    def _may_activate(self, request: HttpRequest) -> bool:
        return admin.ModelAdmin.has_change_permission(self, request)

    def _url(self, name: str, *args: Any) -> str:
        opts = self.model._meta
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{name}", args=args)

    def _active(self) -> Any:
        return self.model._default_manager.filter(is_active=True).first()

    def _activate(self, request: HttpRequest, version: Any) -> None:
        was = self._active()
        try:
            version_activate(version=version, by=cast(User, request.user))
        except IntegrityError:
            self.message_user(
                request,
                "Another version was activated at the same moment; look again and retry.",
                messages.ERROR,
            )
            return
        was_name = version_name(was) if was else self.nothing_live
        self.log_change(request, version, f"Activated (was {was_name}).")
        self.message_user(
            request, f"Now live: {version_name(version)} (was {was_name}).", messages.SUCCESS
        )

    def _confirm(
        self,
        request: HttpRequest,
        version: Any,
        *,
        action_url: str,
        hidden: tuple[tuple[str, Any], ...] = (),
    ) -> TemplateResponse:
        """The page that asks before a version goes live; its form posts to `action_url`."""
        active = self._active()
        rollback = active is not None and version.version < active.version
        verb = "Roll back to" if rollback else "Activate"
        latest = preview_run_latest(self.preview_kind, version.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"{verb} {version_name(version)}?",
            "original": version,
            "version_name": version_name(version),
            "active_name": version_name(active) if active else self.nothing_live,
            "verb": verb,
            "already_live": version.is_active,
            "facts": self.confirm_facts(version, active),
            "action_url": action_url,
            "hidden": hidden,
            "cancel_url": self._url("change", version.pk),
            "preview_url": self._url("preview", version.pk),
            "preview": latest if latest and latest["state"] == "done" else None,
        }
        return TemplateResponse(request, "admin/ranking/activate_confirm.html", context)

    @admin.action(description="Activate the selected version")
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        """Activate one version (exactly one must be selected), after a confirmation page."""
        if not self._may_activate(request):
            raise PermissionDenied
        versions = list(queryset[:2])
        if len(versions) != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return None
        if request.POST.get("confirm") != "yes":
            return self._confirm(
                request,
                versions[0],
                action_url=self._url("changelist"),
                hidden=(
                    ("action", "activate_selected"),
                    (helpers.ACTION_CHECKBOX_NAME, versions[0].pk),
                    ("confirm", "yes"),
                ),
            )
        self._activate(request, versions[0])
        return None

    def activate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET: what activating this version would change, and a button; POST: activate it."""
        if not self._may_activate(request):
            raise PermissionDenied
        version = get_object_or_404(self.model, pk=pk)
        if request.method != "POST":
            return self._confirm(request, version, action_url=self._url("activate", pk))
        self._activate(request, version)
        return HttpResponseRedirect(self._url("changelist"))

    def rollback_view(self, request: HttpRequest) -> HttpResponse:
        """GET: confirm going back to the version live before the active one; POST: do it."""
        if not self._may_activate(request):
            raise PermissionDenied
        previous = self.previous()
        if previous is None:
            self.message_user(request, "No earlier version to roll back to.", messages.ERROR)
        elif request.method != "POST":
            return self._confirm(request, previous, action_url=self._url("rollback"))
        else:
            self._activate(request, previous)
        return HttpResponseRedirect(self._url("changelist"))

    # --- previews -----------------------------------------------------------------------

    def preview_context(self, version: Any, active: Any) -> dict[str, Any]:
        """What the preview page says about the version beside the active one."""
        return {}

    def _run_context(self, request: HttpRequest, version: Any, run: dict[str, Any] | None) -> Any:
        waiting_s = None
        if run is not None and run["state"] == "queued":
            waiting_s = (timezone.now() - datetime.fromisoformat(run["queued"])).total_seconds()
        return {
            "run": run,
            "running": run is not None and run["state"] in ("queued", "running"),
            "percent": round(100 * run["progress"]) if run else 0,
            "no_worker": waiting_s is not None and waiting_s > QUEUED_WARN_S,
            "run_url": self._url("preview_run", version.pk, run["id"]) if run else "",
            "activate_url": self._url("activate", version.pk),
            "may_activate": self._may_activate(request) and not version.is_active,
        }

    def preview_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET: the version's latest preview (or the one asked for), its progress while it
        runs, and a form to run another; POST: queue a run on a worker, and come back here."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = get_object_or_404(self.model, pk=pk)
        status = 200
        if request.method == "POST":
            form = PreviewForm(request.POST)
            if form.is_valid():
                return self._preview_start(request, version, form)
            status = 400
            run = preview_run_latest(self.preview_kind, pk)
        else:
            form = PreviewForm(initial={"days": PREVIEW_DAYS})
            asked = request.GET.get("run")
            run = preview_run_get(asked) if asked else preview_run_latest(self.preview_kind, pk)
            if asked and (run is None or run["pk"] != pk or run["kind"] != self.preview_kind):
                raise Http404("No such preview: it may have expired.")
            if run is not None:
                form = PreviewForm(
                    initial={
                        "days": run["days"],
                        "embeddings": "1" if run["embed_prompts"] else "0",
                        "viewers": " ".join(run["viewers"]),
                    }
                )
        active = self._active()
        if self.preview_kind == "config" and active is None:
            active = self.model()  # the unsaved defaults
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Preview of {version_name(version)} beside {version_name(active)}",
            "original": version,
            "kind": self.preview_kind,
            "form": form,
            **self.preview_context(version, active),
            **self._run_context(request, version, run),
        }
        return TemplateResponse(request, "admin/ranking/preview.html", context, status=status)

    def _preview_start(self, request: HttpRequest, version: Any, form: PreviewForm) -> HttpResponse:
        from .tasks import ranking_preview

        run = preview_run_queue(
            kind=self.preview_kind,
            pk=version.pk,
            days=form.cleaned_data["days"],
            embed_prompts=form.cleaned_data["embeddings"],
            viewers=form.cleaned_data["viewers"],
            by=request.user.get_username(),
        )
        try:
            # The run lives in the cache, not a transaction: it can be sent at once.
            ranking_preview.delay(run["id"])
        except OperationalError:
            preview_run_fail(run["id"], "The task queue is unreachable: no worker can take it.")
            self.message_user(
                request,
                "Could not queue the preview: the task queue (Redis) is unreachable.",
                messages.ERROR,
            )
        return HttpResponseRedirect(f"{self._url('preview', version.pk)}?run={run['id']}")

    def preview_run_view(self, request: HttpRequest, pk: int, run_id: str) -> HttpResponse:
        """A run's progress or result alone: what the preview page polls while it runs."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = get_object_or_404(self.model, pk=pk)
        run = preview_run_get(run_id)
        if run is None or run["pk"] != pk or run["kind"] != self.preview_kind:
            raise Http404("No such preview: it may have expired.")
        context = {"opts": self.opts, "original": version, "kind": self.preview_kind}
        context.update(self._run_context(request, version, run))
        return TemplateResponse(request, "admin/ranking/_preview_run.html", context)

    def version_urls(self) -> list[URLPattern]:
        """Activate, roll back and preview: the pages every versioned admin adds."""
        wrap = self.admin_site.admin_view
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        return [
            path("<int:pk>/activate/", wrap(self.activate_view), name=f"{name}_activate"),
            path("rollback/", wrap(self.rollback_view), name=f"{name}_rollback"),
            path("<int:pk>/preview/", wrap(self.preview_view), name=f"{name}_preview"),
            path(
                "<int:pk>/preview/<str:run_id>/",
                wrap(self.preview_run_view),
                name=f"{name}_preview_run",
            ),
        ]
