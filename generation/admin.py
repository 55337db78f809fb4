"""Admin for generation jobs (read-mostly: state moves only through the services) and quotas."""

from django.contrib import admin
from django.http import HttpRequest

from .models import GenerationJob, GenerationQuota


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    """Jobs, to see what runs, what failed and why."""

    list_display = (
        "id",
        "owner",
        "short_prompt",
        "model_key",
        "state",
        "progress",
        "attempts",
        "failure",
        "queued_at",
        "finished_at",
    )
    list_filter = ("state", "failure", "model_key", "aspect", "queued_at")
    search_fields = ("prompt", "owner__username", "worker", "id")
    list_select_related = ("owner",)
    date_hierarchy = "queued_at"
    readonly_fields = [f.name for f in GenerationJob._meta.fields]

    @admin.display(description="Prompt")
    def short_prompt(self, obj: GenerationJob) -> str:
        """The prompt, cut short."""
        return obj.prompt[:60]

    @admin.display(description="Progress")
    def progress(self, obj: GenerationJob) -> str:
        """Steps done of the total."""
        return f"{obj.progress_step}/{obj.progress_total}" if obj.progress_total else "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Jobs start from the create page or the API, where the policy and quotas apply."""
        return False


@admin.register(GenerationQuota)
class GenerationQuotaAdmin(admin.ModelAdmin):
    """Per-person allowances that override the defaults in settings."""

    list_display = ("user", "daily_limit", "concurrent_limit", "note")
    search_fields = ("user__username", "note")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
