"""How a person looks in the API, shared by every app that shows people."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import absolute_url
from core.media import media_url

from .models import User


@extend_schema_field(OpenApiTypes.URI)
class AvatarUrlField(serializers.Field):
    """The absolute URL of a person's avatar, or null."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "*")
        kwargs.setdefault("allow_null", True)
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, user: User) -> str | None:
        """Resolve the profile's avatar against the request."""
        return absolute_url(self.context["request"], media_url(user.profile.avatar, viewer=None))


class UserSummarySerializer(serializers.Serializer):
    """A person as shown beside their post or comment."""

    handle = serializers.CharField(source="username")
    display_name = serializers.CharField(source="profile.display_name")
    avatar_url = AvatarUrlField()

    class Meta:
        ref_name = "UserSummary"
