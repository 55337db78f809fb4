"""The engagement intake API: what the player saw people do, in batches."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import viewer_of
from feed.selectors import visible_posts

from .models import EngagementEvent
from .services import EventIn, events_record

MAX_BATCH = 200
MAX_VALUE = 3600.0

# These the server records itself from the real action (a like, a comment, a follow);
# a client saying so would only let it inflate them.
SERVER_KINDS = {
    EngagementEvent.Kind.LIKE,
    EngagementEvent.Kind.UNLIKE,
    EngagementEvent.Kind.COMMENT,
    EngagementEvent.Kind.FOLLOW,
}
CLIENT_KINDS = [(k.value, k.label) for k in EngagementEvent.Kind if k not in SERVER_KINDS]


class PlainTextJSONParser(JSONParser):
    """JSON sent as text/plain, which is what navigator.sendBeacon sends."""

    media_type = "text/plain"


class EventSerializer(serializers.Serializer):
    """One thing a viewer did with a post."""

    post = serializers.IntegerField(min_value=1, help_text="The post's id.")
    kind = serializers.ChoiceField(choices=CLIENT_KINDS)
    value = serializers.FloatField(
        default=1.0,
        min_value=0,
        max_value=MAX_VALUE,
        help_text="Seconds watched for view and skip; 1 otherwise.",
    )
    client_id = serializers.CharField(
        allow_blank=True,
        default="",
        max_length=64,
        help_text="Your id for the event, so a batch sent twice counts once.",
    )

    class Meta:
        ref_name = "EngagementEventIn"


class EventBatchApi(APIView):
    """Record a batch of engagement events from the player."""

    # Signed-out viewers count too. Session-authenticated requests still need the CSRF
    # token: SessionAuthentication checks it whenever it finds a signed-in session.
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, PlainTextJSONParser]

    class InputSerializer(serializers.Serializer):
        """A batch of events."""

        events = serializers.ListField(
            child=EventSerializer(),
            max_length=MAX_BATCH,
            error_messages={"max_length": f"Send at most {MAX_BATCH} events at a time."},
        )

        class Meta:
            ref_name = "EngagementBatch"

    class OutputSerializer(serializers.Serializer):
        """How many events were taken."""

        accepted = serializers.IntegerField()
        skipped = serializers.ListField(
            child=serializers.IntegerField(),
            help_text="Indexes of events about posts that are gone or not visible to you.",
        )

        class Meta:
            ref_name = "EngagementBatchAccepted"

    @extend_schema(
        operation_id="events_create",
        request=InputSerializer,
        responses={
            202: OutputSerializer,
            400: OpenApiResponse(description="An event is malformed; nothing was recorded."),
        },
    )
    def post(self, request: Request) -> Response:
        """Record the events; a malformed one refuses the batch, a vanished post is skipped."""
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        events: list[dict[str, Any]] = serializer.validated_data["events"]
        viewer = viewer_of(request)
        ids = {event["post"] for event in events}
        visible = set(visible_posts(viewer=viewer).filter(pk__in=ids).values_list("pk", flat=True))
        # A post can vanish between a page load and the player's flush: its events are
        # skipped and named, the rest of the batch still counts.
        skipped = [index for index, event in enumerate(events) if event["post"] not in visible]

        seen: set[str] = set()
        batch = []
        for event in events:
            client_id = event["client_id"]
            if event["post"] not in visible:
                continue
            if client_id and client_id in seen:
                continue
            seen.add(client_id)
            batch.append(
                EventIn(
                    post_id=event["post"],
                    kind=event["kind"],
                    value=event["value"],
                    client_id=client_id,
                )
            )
        accepted = events_record(viewer=viewer, events=batch)
        return Response(
            self.OutputSerializer({"accepted": accepted, "skipped": skipped}).data,
            status=status.HTTP_202_ACCEPTED,
        )
