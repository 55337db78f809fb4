"""Generation app config."""

from django.apps import AppConfig


class GenerationConfig(AppConfig):
    """Generation jobs and video encoding."""

    name = "generation"
    verbose_name = "Generation"

    def ready(self) -> None:
        """Say who may open a job's files: its owner (a posted clip's are the post's too);
        add the jobs to a person's data download."""
        from accounts.export import export_section_register
        from core.media import media_owner_register

        from . import selectors
        from .models import GenerationJob

        export_section_register("generations", selectors.export_of)
        media_owner_register(
            model=GenerationJob,
            fields=("video", "poster"),
            public=lambda job: False,
            may_open=lambda job, viewer: viewer is not None and job.owner_id == viewer.pk,
        )
