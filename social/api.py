"""The notifications API (the grouped list, the unread count, marking read; the settings
are in social/settings_api.py), search, Discover and a clip's look-alikes."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import viewer_of
from accounts.serializers import UserSummarySerializer
from core.api import StrictCharField
from core.text import TEXT_PATTERN
from feed.api import PostOutputSerializer
from feed.api.common import post_or_404
from feed.selectors import cards_for, post_visible

from . import messaging, selectors, services
from . import search as finding
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
    """Mark your notifications read: all of them, or those named (a JSON body)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        """Which to mark read; leave `ids` out for all."""

        ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1), required=False, max_length=500
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


# --- search and discover ----------------------------------------------------------------


class TagCountSerializer(serializers.Serializer):
    """A tag and how many public clips carry it."""

    tag = serializers.CharField()
    clips = serializers.IntegerField()

    class Meta:
        ref_name = "TagCount"


def _tags(pairs: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"tag": tag, "clips": clips} for tag, clips in pairs]


def _clips(request: Request, posts: list[Any]) -> Any:
    cards = cards_for(viewer=viewer_of(request), posts=posts)
    return PostOutputSerializer(cards, many=True, context={"request": request}).data


class SearchApi(APIView):
    """Search people (handle or name), clips (caption and prompt) and tags."""

    permission_classes = [AllowAny]

    class QuerySerializer(serializers.Serializer):
        """What to look for."""

        q = StrictCharField(
            max_length=finding.QUERY_MAX,
            help_text=f"Words to find, at most {finding.QUERY_MAX} characters.",
            error_messages={
                "required": "Say what to look for (q).",
                "blank": "Say what to look for (q).",
                "max_length": f"A search is at most {finding.QUERY_MAX} characters.",
            },
        )

        class Meta:
            ref_name = "SearchQuery"

    class OutputSerializer(serializers.Serializer):
        """What was found, of each kind (clips best match first)."""

        query = serializers.CharField()
        people = UserSummarySerializer(many=True)
        clips = PostOutputSerializer(many=True)
        tags = TagCountSerializer(many=True)

        class Meta:
            ref_name = "SearchResults"

    @extend_schema(
        operation_id="search",
        parameters=[QuerySerializer],
        responses={200: OutputSerializer, 400: OpenApiResponse(description="No or too long q.")},
    )
    def get(self, request: Request) -> Response:
        """Search."""
        params = self.QuerySerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        results = finding.search(viewer=viewer_of(request), query=params.validated_data["q"])
        people = UserSummarySerializer(results.people, many=True, context={"request": request})
        return Response(
            {
                "query": results.query,
                "people": people.data,
                "clips": _clips(request, results.clips),
                "tags": _tags(results.tags),
            }
        )


class DiscoverApi(APIView):
    """Tags on the most clips this week, and the clips with the most engagement lately."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        """Lively tags and clips."""

        tags = TagCountSerializer(many=True)
        clips = PostOutputSerializer(many=True)

        class Meta:
            ref_name = "Discover"

    @extend_schema(operation_id="discover", responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        """Discover."""
        page = finding.discover(viewer=viewer_of(request))
        return Response({"tags": _tags(page.tags), "clips": _clips(request, page.clips)})


class ClipsLikeApi(APIView):
    """Clips whose prompts are near this clip's (by their prompt embeddings)."""

    permission_classes = [AllowAny]

    class OutputSerializer(serializers.Serializer):
        """The look-alikes, nearest first."""

        clips = PostOutputSerializer(many=True)

        class Meta:
            ref_name = "ClipsLike"

    @extend_schema(
        operation_id="post_like_this",
        responses={200: OutputSerializer, 404: OpenApiResponse(description="Not found.")},
    )
    def get(self, request: Request, pk: int) -> Response:
        """The look-alikes."""
        post = post_or_404(request, pk)
        clips = finding.clips_like(viewer=viewer_of(request), post=post)
        return Response({"clips": _clips(request, clips)})


# --- messages --------------------------------------------------------------------------------


class MessageSerializer(serializers.Serializer):
    """A message: text, a shared clip (its id; null when gone or not visible to you), or both."""

    id = serializers.IntegerField()
    sender = serializers.CharField(source="sender.username", help_text="The sender's handle.")
    body = serializers.SerializerMethodField(help_text="Empty once moderation removed it.")
    post = serializers.SerializerMethodField(help_text="The shared clip's id, if you may see it.")
    removed = serializers.SerializerMethodField(help_text="Whether moderation removed it.")
    created = serializers.DateTimeField()

    class Meta:
        ref_name = "Message"

    def get_body(self, message: Any) -> str:
        return "" if message.removed else str(message.body)

    def get_post(self, message: Any) -> int | None:
        shown = message.post_id in self.context.get("seen", ()) and not message.removed
        return message.post_id if shown else None

    def get_removed(self, message: Any) -> bool:
        return message.removed is not None


class ConversationListApi(APIView):
    """Your conversations, newest first: the inbox, or `?requests=1` for your Requests."""

    permission_classes = [IsAuthenticated]

    class RowSerializer(serializers.Serializer):
        """One conversation, from your side."""

        handle = serializers.CharField(source="other.username")
        name = serializers.CharField(source="other.profile.name")
        last_body = serializers.CharField()
        last_message_at = serializers.DateTimeField(source="conversation.last_message_at")
        unread = serializers.BooleanField()

        class Meta:
            ref_name = "ConversationRow"

    class ParamsSerializer(serializers.Serializer):
        """Which list."""

        requests = serializers.BooleanField(
            required=False, help_text="Your Requests instead of your inbox."
        )

        class Meta:
            ref_name = "ConversationListParams"

    @extend_schema(
        operation_id="conversations_list",
        parameters=[ParamsSerializer],
        responses={
            200: RowSerializer(many=True),
            400: OpenApiResponse(description="`requests` is not a boolean."),
        },
    )
    def get(self, request: Request) -> Response:
        """The conversations."""
        params = self.ParamsSerializer(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        wants_requests = params.validated_data.get("requests", False)
        rows = messaging.conversations_of(user=cast(User, request.user), requests=wants_requests)
        return Response(self.RowSerializer(rows, many=True).data)


def _talk_or_404(user: User, handle: str) -> tuple[User, Any]:
    found = messaging.talk_with(user=user, handle=handle)
    if found is None:
        raise NotFound("No conversation here.")
    return found


class ConversationMessagesApi(APIView):
    """Your messages with someone (newest 50, or those after `?after=`), or send one."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        """Text, a clip to share (its id), or both."""

        body = StrictCharField(
            max_length=messaging.BODY_MAX,
            validators=[RegexValidator(TEXT_PATTERN, messaging.NOT_TEXT)],
            help_text="The words (with a shared clip too: a few words to go with it).",
            error_messages={
                "required": "Write something.",
                "blank": "Write something.",
                "max_length": f"A message can be at most {messaging.BODY_MAX} characters.",
            },
        )
        post = serializers.IntegerField(
            required=False, min_value=1, help_text="A clip to share, by its id."
        )

        class Meta:
            ref_name = "MessageSend"

    @extend_schema(
        operation_id="conversation_messages",
        parameters=[OpenApiParameter("after", int, description="Only messages after this id.")],
        responses={200: MessageSerializer(many=True), 404: OpenApiResponse(description="None.")},
    )
    def get(self, request: Request, handle: str) -> Response:
        """The messages, oldest first (reading them marks the conversation read)."""
        user = cast(User, request.user)
        _other, talk = _talk_or_404(user, handle)
        after_text = request.query_params.get("after", "")
        after = int(after_text) if after_text.isdigit() else None
        shown = list(messaging.messages_of(conversation=talk, after=after)) if talk else []
        if talk is not None:
            messaging.conversation_read(user=user, conversation=talk)
        seen = messaging.clips_seen(viewer=user, messages=shown)
        return Response(MessageSerializer(shown, many=True, context={"seen": seen}).data)

    @extend_schema(
        operation_id="conversation_send",
        request=InputSerializer,
        responses={
            201: MessageSerializer,
            400: OpenApiResponse(description="Empty, too long, not text, or an unseen clip."),
            404: OpenApiResponse(description="No one you may message by that handle."),
        },
    )
    def post(self, request: Request, handle: str) -> Response:
        """Send a message."""
        user = cast(User, request.user)
        other, _talk = _talk_or_404(user, handle)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = None
        if data.validated_data.get("post"):
            post = post_visible(viewer=user, pk=data.validated_data["post"])
            if post is None:
                raise NotFound("That clip doesn't exist or isn't visible to you.")
        try:
            sent = messaging.message_send(
                sender=user, recipient=other, body=data.validated_data.get("body", ""), post=post
            )
        except PermissionDenied as exc:
            raise NotFound("No conversation here.") from exc
        seen = {post.pk} if post is not None else set()
        return Response(MessageSerializer(sent, context={"seen": seen}).data, status=201)


class ConversationAnswerApi(APIView):
    """Answer a message request: accept, decline or block its sender."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    class InputSerializer(serializers.Serializer):
        """The answer."""

        answer = serializers.ChoiceField(choices=list(messaging.ANSWERS))

        class Meta:
            ref_name = "RequestAnswer"

    @extend_schema(
        operation_id="conversation_answer",
        request=InputSerializer,
        responses={
            200: InputSerializer,
            400: OpenApiResponse(description="Not an answer."),
            404: OpenApiResponse(description="No request from that person."),
        },
    )
    def post(self, request: Request, handle: str) -> Response:
        """Answer it."""
        user = cast(User, request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        other, talk = _talk_or_404(user, handle)
        if talk is None or not talk.is_request_for(user.pk):
            raise NotFound("No request from that person.")
        answer = data.validated_data["answer"]
        messaging.request_answer(user=user, other=other, conversation=talk, answer=answer)
        return Response({"answer": answer})
