"""The ranking API: engagement events in batches, and the viewer's own controls over For
You (why a clip is shown, a feed preference, a reset)."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import viewer_of
from core.api import StrictCharField, StrictFloatField
from feed.selectors import post_visible

from . import event_log, selectors, services
from .controls import RESET_DONE, explain
from .intake import EventIn, Refused
from .models import EngagementEvent, FeedPreference
from .services import PREFERENCE_MAX

MAX_BATCH = 200
MAX_VALUE = 3600.0

# These the server records itself from the real action (a like, a comment, a follow, a
# report); a client saying so would only let it inflate them.
SERVER_KINDS = {
    EngagementEvent.Kind.LIKE,
    EngagementEvent.Kind.UNLIKE,
    EngagementEvent.Kind.COMMENT,
    EngagementEvent.Kind.FOLLOW,
    EngagementEvent.Kind.REMIX,  # recorded when the remix is posted
    EngagementEvent.Kind.REPORT,  # recorded when the report is filed (POST /api/v1/reports/)
    EngagementEvent.Kind.RESET,  # POST /api/v1/feed/reset/, about no post
}
CLIENT_KINDS = [(k.value, k.label) for k in EngagementEvent.Kind if k not in SERVER_KINDS]


_CLIENT_KIND_VALUES = frozenset(value for value, _label in CLIENT_KINDS)
_CLIENT_ID_MAX = 64
_ID_MAX = 2**63 - 1


def events_plainly_valid(data: Any) -> list[EventIn] | None:
    """The batch's events, when every one is plainly well formed (what the player sends),
    read without DRF's per-field machinery (about a tenth of the time for 200 events); None
    to let `EventBatchApi.InputSerializer` judge the batch and word what is wrong.

    Narrower than the serializer, never wider: what this takes, it takes as the serializer
    would (an integer post id, a known kind, a number in range, a client id that is short,
    printable and needs no trimming); anything else goes to the serializer.
    """
    if not isinstance(data, dict):
        return None
    events = data.get("events")
    if not isinstance(events, list) or len(events) > MAX_BATCH:
        return None
    out = []
    for event in events:
        if not isinstance(event, dict):
            return None
        post, kind = event.get("post"), event.get("kind")
        value, client_id = event.get("value", 1.0), event.get("client_id", "")
        if type(post) is not int or not 1 <= post <= _ID_MAX:
            return None
        if type(kind) is not str or kind not in _CLIENT_KIND_VALUES:  # {} would not hash
            return None
        if type(value) not in (int, float) or not 0 <= value <= MAX_VALUE:
            return None  # NaN fails the comparison too
        if (
            type(client_id) is not str
            or len(client_id) > _CLIENT_ID_MAX
            or not client_id.isprintable()
            or client_id != client_id.strip()
        ):
            return None
        out.append(EventIn(post_id=post, kind=kind, value=float(value), client_id=client_id))
    return out


class PlainTextJSONParser(JSONParser):
    """JSON sent as text/plain, which is what navigator.sendBeacon sends."""

    media_type = "text/plain"


class EventSerializer(serializers.Serializer):
    """One thing a viewer did with a post."""

    post = serializers.IntegerField(min_value=1, help_text="The post's id.")
    kind = serializers.ChoiceField(
        choices=CLIENT_KINDS,
        help_text="What happened. `not_interested` turns the clip down for good: For You "
        "never serves it to this viewer again, even after a reset, and shows fewer like it.",
    )
    value = StrictFloatField(
        default=1.0,
        min_value=0,
        max_value=MAX_VALUE,
        help_text="Seconds watched for view and skip; 1 otherwise.",
    )
    client_id = StrictCharField(
        allow_blank=True,
        default="",
        max_length=_CLIENT_ID_MAX,
        help_text="Your id for the event, so a batch sent twice counts once.",
    )

    class Meta:
        ref_name = "EngagementEventIn"


class RefusalSerializer(serializers.Serializer):
    """An event of the batch that was not recorded, and why."""

    index = serializers.IntegerField(help_text="Its place in the batch, from 0.")
    reason = serializers.ChoiceField(
        choices=Refused.choices,
        help_text="`not_visible`: the post is gone or not visible to you. `not_shown`: Riff "
        "hasn't shown you the clip (a feed page, or its own page) in the last day. "
        "`implausible`: more watching than the clip's length or the time since it was shown "
        "allows. `capped`: you already sent as many of this kind about the clip as count "
        "in a day.",
    )
    detail = serializers.CharField(help_text="The reason in words.")

    class Meta:
        ref_name = "EngagementEventRefused"


class EventBatchApi(APIView):
    """Record a batch of engagement events from the player."""

    # Only signed-in viewers' events teach For You. Session-authenticated requests need the
    # CSRF token too: SessionAuthentication checks it whenever it finds a signed-in session.
    permission_classes = [IsAuthenticated]
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
        """What became of each event: accepted + duplicate + refused = the batch."""

        accepted = serializers.IntegerField(help_text="Events recorded now.")
        duplicate = serializers.IntegerField(
            help_text="Events whose client_id was recorded before (or came earlier in this "
            "batch): counted once, so nothing is added. A refused event's client_id is not "
            "kept: sent again, it is judged again."
        )
        refused = RefusalSerializer(many=True, help_text="Events not recorded, and why.")

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
        """Record the events; a malformed one refuses the batch, the others are judged one
        by one (the answer says which were refused and why)."""
        events = events_plainly_valid(request.data)
        if events is None:
            serializer = self.InputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            events = [
                EventIn(
                    post_id=event["post"],
                    kind=event["kind"],
                    value=event["value"],
                    client_id=event["client_id"],
                )
                for event in serializer.validated_data["events"]
            ]
        verdict = event_log.events_intake(viewer=cast(User, request.user), events=events)
        # The answer as OutputSerializer documents it, written out: its fields are plain.
        answer = {
            "accepted": len(verdict.accepted),
            "duplicate": verdict.duplicate,
            "refused": [
                {"index": r.index, "reason": r.reason.value, "detail": r.detail}
                for r in verdict.refused
            ],
        }
        return Response(answer, status=status.HTTP_202_ACCEPTED)


# --- the viewer's own controls --------------------------------------------------------

POST_NOT_FOUND = "That post doesn't exist or isn't visible to you."


class WhySourceSerializer(serializers.Serializer):
    """Where the clip came from."""

    key = serializers.CharField()
    description = serializers.CharField(source="label", help_text="In plain words.")

    class Meta:
        ref_name = "WhySource"


class WhyEngagementSerializer(serializers.Serializer):
    """One predicted engagement and its share of the score."""

    head = serializers.CharField()
    description = serializers.CharField(source="label", help_text="In plain words.")
    probability = serializers.FloatField(help_text="The learner's predicted chance, 0 to 1.")
    weight = serializers.FloatField(help_text="Its weight in the ranking settings.")
    contribution = serializers.FloatField(help_text="probability x weight.")

    class Meta:
        ref_name = "WhyEngagement"


class WhyFeatureSerializer(serializers.Serializer):
    """One thing the learner reads about the viewer and the clip."""

    name = serializers.CharField()
    description = serializers.CharField(source="label", help_text="In plain words.")
    value = serializers.FloatField()
    level = serializers.ChoiceField(choices=["high", "some", "none", "low"])

    class Meta:
        ref_name = "WhyFeature"


class WhyExplorationSerializer(serializers.Serializer):
    """What Thompson sampling knew when it picked the clip."""

    impressions = serializers.IntegerField()
    likes = serializers.IntegerField()
    sampled_like_rate = serializers.FloatField()
    propensity = serializers.FloatField()

    class Meta:
        ref_name = "WhyExploration"


class PostWhyApi(APIView):
    """Why a clip is in the viewer's For You: the score terms as ranking computed them."""

    class OutputSerializer(serializers.Serializer):
        """The terms of a clip's score for this viewer."""

        post = serializers.IntegerField(source="post_id")
        reasons = serializers.ListField(
            child=serializers.CharField(),
            help_text="Why the clip is here in plain words, a sentence each, strongest first.",
        )
        computed = serializers.DateTimeField(help_text="When these terms were computed.")
        scored_now = serializers.BooleanField(
            help_text="True when For You never served it to you: it was scored just now."
        )
        position = serializers.IntegerField(
            allow_null=True, help_text="Its place in your For You (1 is first), or null."
        )
        sources = WhySourceSerializer(many=True, help_text="Where the candidate came from.")
        engagements = WhyEngagementSerializer(many=True)
        value = serializers.FloatField(allow_null=True, help_text="The sum of the contributions.")
        age_hours = serializers.FloatField(allow_null=True)
        freshness = serializers.FloatField(
            allow_null=True, help_text="The age decay the value is multiplied by, 0 to 1."
        )
        preference_match = serializers.FloatField(
            allow_null=True, help_text="Match with your feed preference, -1 to 1; null if none."
        )
        preference_factor = serializers.FloatField(allow_null=True)
        score = serializers.FloatField(allow_null=True)
        explored = serializers.BooleanField(
            help_text="An exploration slot: a clip with few views, picked at random."
        )
        propensity = serializers.FloatField(
            allow_null=True, help_text="The logged probability of that pick; null if not explored."
        )
        exploration = WhyExplorationSerializer(allow_null=True)
        features = WhyFeatureSerializer(many=True)
        config_version = serializers.IntegerField(
            allow_null=True, help_text="The ranking settings version; null for the defaults."
        )
        model_version = serializers.IntegerField(
            allow_null=True, help_text="The trained learner version; null before the first."
        )

        class Meta:
            ref_name = "WhyShown"

    @extend_schema(
        operation_id="post_why",
        responses={200: OutputSerializer, 404: OpenApiResponse(description="Not found.")},
    )
    def get(self, request: Request, pk: int) -> Response:
        """Why you see this clip: the terms of the last time For You served it to you."""
        viewer = viewer_of(request)
        post = post_visible(viewer=viewer, pk=pk)
        if post is None:
            raise NotFound(POST_NOT_FOUND)
        why = explain(
            selectors.why_shown(viewer=viewer, post_id=post.pk),
            post_id=post.pk,
            author=post.owner.username,
        )
        return Response(self.OutputSerializer(why).data)


class PreferenceOutputSerializer(serializers.Serializer):
    """The viewer's feed preference and what was understood of it."""

    text = serializers.CharField(help_text="Empty when there is none.")
    more = serializers.ListField(child=serializers.CharField(), help_text="Asked for more of.")
    less = serializers.ListField(child=serializers.CharField(), help_text="Asked for less of.")
    updated = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "FeedPreference"


def _preference_data(preference: FeedPreference | None) -> dict[str, Any]:
    if preference is None:
        return {"text": "", "more": [], "less": [], "updated": None}
    return PreferenceOutputSerializer(preference).data


class FeedPreferenceApi(APIView):
    """The viewer's For You preference in their own words ("more nature, less memes")."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        """The preference text; an empty one clears it."""

        text = StrictCharField(
            allow_blank=True,
            trim_whitespace=True,
            help_text=f'Up to {PREFERENCE_MAX} characters, e.g. "more nature, less memes".',
        )

        class Meta:
            ref_name = "FeedPreferenceIn"

    @extend_schema(
        operation_id="feed_preference_retrieve", responses={200: PreferenceOutputSerializer}
    )
    def get(self, request: Request) -> Response:
        """Your preference (an empty text and lists when you have none)."""
        viewer = cast(User, request.user)
        return Response(_preference_data(selectors.feed_preference(viewer=viewer)))

    @extend_schema(
        operation_id="feed_preference_update",
        request=InputSerializer,
        responses={
            200: PreferenceOutputSerializer,
            400: OpenApiResponse(description="Too long, or nothing a feed could use."),
        },
    )
    def put(self, request: Request) -> Response:
        """Set your preference; an empty text clears it."""
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            preference = services.feed_preference_set(
                viewer=cast(User, request.user), text=serializer.validated_data["text"]
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"text": exc.messages}) from exc
        return Response(_preference_data(preference))

    @extend_schema(operation_id="feed_preference_destroy", responses={204: None})
    def delete(self, request: Request) -> Response:
        """Clear your preference."""
        services.feed_preference_set(viewer=cast(User, request.user), text="")
        return Response(status=status.HTTP_204_NO_CONTENT)


class FeedResetApi(APIView):
    """Start your For You afresh."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        """What a reset did."""

        detail = serializers.CharField()

        class Meta:
            ref_name = "FeedReset"

    @extend_schema(
        operation_id="feed_reset",
        request=None,
        responses={200: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """The learner forgets your taste and seen clips may return; "not interested" stays."""
        services.recommendations_reset(viewer=cast(User, request.user))
        return Response(self.OutputSerializer({"detail": RESET_DONE}).data)
