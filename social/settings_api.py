"""The notification settings API: which kinds you get, and how often the email digest comes."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User

from . import digest, selectors, services
from .models import Notification, NotificationSettings

Digest = NotificationSettings.Digest
DIGEST_HELP = (
    "How often your unread notifications are emailed to you: off, daily or weekly. Turning "
    "it on needs a confirmed primary email address."
)


def _off() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=Notification.Kind.choices),
        max_length=20,
        help_text="The kinds turned off (every other kind is on).",
    )


class SettingsApi(APIView):
    """Which kinds of notification you get, and the email digest (set with a JSON body)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        """The kinds to turn off, and the digest (left out: unchanged)."""

        off = _off()
        digest = serializers.ChoiceField(
            choices=Digest.choices, required=False, help_text=DIGEST_HELP
        )

        class Meta:
            ref_name = "NotificationSettingsSet"

    class OutputSerializer(serializers.Serializer):
        """The kinds turned off, and the digest."""

        off = _off()
        digest = serializers.ChoiceField(choices=Digest.choices, help_text=DIGEST_HELP)

        class Meta:
            ref_name = "NotificationSettings"

    @extend_schema(operation_id="notification_settings", responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        """The kinds turned off, and the digest."""
        user = cast(User, request.user)
        return Response(
            {"off": selectors.kinds_off(user=user), "digest": digest.digest_of(user=user)}
        )

    @extend_schema(
        operation_id="notification_settings_set",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(
                description="An unknown kind or digest, no list, or a digest turned on "
                "without a confirmed email address."
            ),
        },
    )
    def put(self, request: Request) -> Response:
        """Turn exactly these kinds off, and set the digest."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = cast(User, request.user)
        how_often: str | None = data.validated_data.get("digest")
        if how_often not in (None, Digest.OFF) and not digest.email_confirmed(user=user):
            raise ValidationError({"digest": [digest.NOT_CONFIRMED]})
        off: list[Any] = data.validated_data["off"]
        saved = services.notification_settings_set(user=user, off=off, digest=how_often)
        return Response({"off": saved.off, "digest": saved.digest})
