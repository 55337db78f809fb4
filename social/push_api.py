"""The browser push API: the instance's public key, and subscribing a browser or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.api import StrictCharField

from . import webpush

# What Chrome's PushSubscription.toJSON() gives (its key a real point on the curve).
EXAMPLE = OpenApiExample(
    "A browser's subscription",
    request_only=True,
    value={
        "endpoint": "https://fcm.googleapis.com/fcm/send/fJ2kExample:APA91bExample",
        "keys": {
            "p256dh": "BCfswQcew4mWs-bpcy066GXg0UfnYvKFyceLydYxLen-"
            "tcwFKMoi_gTXzDmSeFDijOSOu8meSQ3MquhxECAVBf8",
            "auth": "AAECAwQFBgcICQoLDA0ODw",
        },
    },
)


class _BodyOnDelete(AutoSchema):
    """Documents a DELETE's JSON body (drf-spectacular documents those of POST, PUT and
    PATCH only): a subscription is named by its endpoint, a URL too long for the path."""

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


def _body_on_delete(view: Callable[..., Response]) -> Callable[..., Response]:
    """Use _BodyOnDelete for this view method (extend_schema builds on it)."""
    view.schema = _BodyOnDelete  # type: ignore[attr-defined]
    return view


def _endpoint_field(**kwargs: Any) -> StrictCharField:
    return StrictCharField(
        max_length=webpush.ENDPOINT_MAX,
        help_text="The push service's URL, from the browser's PushSubscription.",
        error_messages={
            "required": webpush.NOT_ENDPOINT,
            "blank": webpush.NOT_ENDPOINT,
            "max_length": webpush.NOT_ENDPOINT,
        },
        **kwargs,
    )


class PushKeysSerializer(serializers.Serializer):
    """The browser's keys for encrypting what is pushed to it."""

    p256dh = StrictCharField(
        validators=[RegexValidator(webpush.P256DH_PATTERN, webpush.NOT_P256DH)],
        help_text="The browser's ECDH public key: base64url of a 65-byte uncompressed "
        "P-256 point, which must lie on the curve.",
        error_messages={"required": webpush.NOT_P256DH, "blank": webpush.NOT_P256DH},
    )
    auth = StrictCharField(
        validators=[RegexValidator(webpush.AUTH_PATTERN, webpush.NOT_AUTH)],
        help_text="The browser's auth secret: base64url of 16 bytes.",
        error_messages={"required": webpush.NOT_AUTH, "blank": webpush.NOT_AUTH},
    )

    class Meta:
        ref_name = "PushSubscriptionKeys"

    def validate_p256dh(self, value: str) -> str:
        """The key, if it is a point on the curve."""
        if not webpush.is_browser_key(value):
            raise serializers.ValidationError(webpush.NOT_ON_CURVE)
        return value


class PushKeyApi(APIView):
    """The instance's VAPID public key: the applicationServerKey a browser subscribes with."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        """The key."""

        public_key = serializers.CharField(
            help_text="The application server key: base64url of a 65-byte P-256 point."
        )

        class Meta:
            ref_name = "PushKey"

    @extend_schema(operation_id="push_key", responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        """The key."""
        return Response({"public_key": webpush.vapid_key().public_key})


class PushSubscriptionsApi(APIView):
    """Send your notifications to a browser (POST its PushSubscription.toJSON()), or stop
    (DELETE with its endpoint)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        """A browser's subscription, as PushSubscription.toJSON() gives it."""

        endpoint = _endpoint_field(
            validators=[RegexValidator(webpush.ENDPOINT_PATTERN, webpush.NOT_ENDPOINT)]
        )
        keys = PushKeysSerializer(help_text="The browser's keys (its `keys` as given).")

        class Meta:
            ref_name = "PushSubscriptionCreate"

    class OutputSerializer(serializers.Serializer):
        """The browser now subscribed."""

        endpoint = serializers.CharField(help_text="The push service's URL.")
        created = serializers.DateTimeField(help_text="When it was first subscribed.")

        class Meta:
            ref_name = "PushSubscription"

    class DeleteSerializer(serializers.Serializer):
        """Which browser to stop sending to."""

        endpoint = _endpoint_field()

        class Meta:
            ref_name = "PushSubscriptionDelete"

    @extend_schema(
        operation_id="push_subscribe",
        request=InputSerializer,
        examples=[EXAMPLE],
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(description="An endpoint or keys that no browser would send."),
        },
    )
    def post(self, request: Request) -> Response:
        """Subscribe this browser (again: its keys are replaced; another person's endpoint
        becomes yours)."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        keys = data.validated_data["keys"]
        subscription = webpush.push_subscription_save(
            user=cast(User, request.user),
            endpoint=data.validated_data["endpoint"],
            p256dh=keys["p256dh"],
            auth=keys["auth"],
            user_agent=request.headers.get("User-Agent", ""),
        )
        return Response(self.OutputSerializer(subscription).data, status=201)

    @extend_schema(
        operation_id="push_unsubscribe",
        request=DeleteSerializer,
        responses={
            204: None,
            400: OpenApiResponse(description="No endpoint."),
            404: OpenApiResponse(description="You have no browser subscribed at that endpoint."),
        },
    )
    @_body_on_delete
    def delete(self, request: Request) -> Response:
        """Unsubscribe a browser of yours."""
        data = self.DeleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = data.validated_data["endpoint"]
        if not webpush.push_subscription_delete(user=cast(User, request.user), endpoint=endpoint):
            raise NotFound("You have no browser subscribed at that endpoint.")
        return Response(status=204)
