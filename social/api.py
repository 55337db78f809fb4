"""The notifications API: the grouped list, the unread count, marking read, settings."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User

from . import selectors, services
from .models import Notification
from .selectors import NotificationGroup


class GroupSerializer(serializers.Serializer):
    """One line of the list: notifications of one kind about one thing, newest first."""

    kind = serializers.ChoiceField(choices=Notification.Kind.choices)
    sentence = serializers.CharField(
        help_text='What happened: "aiko and 3 others liked your clip".'
    )
    quote = serializers.CharField(help_text="A comment's or mention's words, or why a clip failed.")
    url = serializers.SerializerMethodField(help_text="Where the line leads.")
    latest = serializers.DateTimeField()
    unread = serializers.BooleanField()
    count = serializers.SerializerMethodField(help_text="How many notifications the line holds.")
    actors = serializers.SerializerMethodField(help_text="Handles of who did it, newest first.")
    post = serializers.SerializerMethodField(help_text="The clip it is about, if any.")
    ids = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        ref_name = "NotificationGroup"

    def get_url(self, group: NotificationGroup) -> str:
        return cast(Request, self.context["request"]).build_absolute_uri(group.url)

    def get_count(self, group: NotificationGroup) -> int:
        return len(group.ids)

    def get_actors(self, group: NotificationGroup) -> list[str]:
        return [actor.username for actor in group.actors]

    def get_post(self, group: NotificationGroup) -> int | None:
        return group.first.post_id


class UnreadSerializer(serializers.Serializer):
    """How many notifications are unread."""

    unread = serializers.IntegerField()

    class Meta:
        ref_name = "NotificationUnread"


class NotificationListApi(APIView):
    """Your notifications as lines (the newest 300 grouped), newest first. Reading them
    does not mark them read: POST notifications/read/ does."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        """The lines and the unread count."""

        results = GroupSerializer(many=True)
        unread = serializers.IntegerField()

        class Meta:
            ref_name = "NotificationList"

    @extend_schema(operation_id="notifications_list", responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        """The lines."""
        user = cast(User, request.user)
        groups = selectors.notification_groups(user=user)
        results = GroupSerializer(groups, many=True, context={"request": request}).data
        return Response({"results": results, "unread": selectors.unread_count(user=user)})


class UnreadApi(APIView):
    """How many of your notifications are unread (what the bell shows)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="notifications_unread", responses={200: UnreadSerializer})
    def get(self, request: Request) -> Response:
        """The count."""
        return Response({"unread": selectors.unread_count(user=cast(User, request.user))})


class MarkReadApi(APIView):
    """Mark your notifications read: all of them, or those named."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        """Which to mark read; leave `ids` out for all."""

        ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), required=False, max_length=1000
        )

        class Meta:
            ref_name = "NotificationRead"

    class OutputSerializer(serializers.Serializer):
        """How many were marked, and how many stay unread."""

        marked = serializers.IntegerField()
        unread = serializers.IntegerField()

        class Meta:
            ref_name = "NotificationReadResult"

    @extend_schema(
        operation_id="notifications_read",
        request=InputSerializer,
        responses={200: OutputSerializer, 400: OpenApiResponse(description="Malformed ids.")},
    )
    def post(self, request: Request) -> Response:
        """Mark them."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = cast(User, request.user)
        marked = services.notifications_mark_read(user=user, ids=data.validated_data.get("ids"))
        return Response({"marked": marked, "unread": selectors.unread_count(user=user)})


class SettingsApi(APIView):
    """Which kinds of notification you get."""

    permission_classes = [IsAuthenticated]

    class SettingsSerializer(serializers.Serializer):
        """The kinds turned off (every other kind is on)."""

        off = serializers.ListField(
            child=serializers.ChoiceField(choices=Notification.Kind.choices), max_length=20
        )

        class Meta:
            ref_name = "NotificationSettings"

    @extend_schema(operation_id="notification_settings", responses={200: SettingsSerializer})
    def get(self, request: Request) -> Response:
        """The kinds turned off."""
        return Response({"off": selectors.kinds_off(user=cast(User, request.user))})

    @extend_schema(
        operation_id="notification_settings_set",
        request=SettingsSerializer,
        responses={
            200: SettingsSerializer,
            400: OpenApiResponse(description="An unknown kind, or no list."),
        },
    )
    def put(self, request: Request) -> Response:
        """Turn exactly these kinds off."""
        data = self.SettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        off: list[Any] = data.validated_data["off"]
        saved = services.notification_settings_set(user=cast(User, request.user), off=off)
        return Response({"off": saved.off})
