"""The OpenAPI schema's settings (drf-spectacular's SPECTACULAR_SETTINGS), read by
config/settings.py."""

from typing import Any


def api_schema_settings() -> dict[str, Any]:
    """How the API schema at /api/schema/ is made and served."""
    return {
        "TITLE": "Riff API",
        "DESCRIPTION": (
            "Short-form AI video: feeds, posts, remixes, likes, comments and follows; "
            "notifications, messages and search; reports, appeals and verifying a clip."
        ),
        "VERSION": "1.0.0",
        "SERVE_INCLUDE_SCHEMA": False,
        "COMPONENT_SPLIT_REQUEST": True,
        # Swagger UI is served from Riff's own static files, never from a CDN.
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "ENUM_NAME_OVERRIDES": {
            "NotificationKindEnum": "social.models.Notification.Kind",
            "NotificationDigestEnum": "social.models.NotificationSettings.Digest",
        },
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "core.schema.document_common_responses",
        ],
    }
