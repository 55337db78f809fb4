"""The feed API: feed pages, posts, likes and comments."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from config.api import (
    PAGE_PARAMETERS,
    absolute_url,
    page_of,
    page_params,
    page_response,
    viewer_of,
)
from config.pagination import keyset_page
from generation.selectors import job_of
from generation.serializers import JobInputSerializer, JobOutputSerializer, job_create_response

from . import services
from .models import Post
from .selectors import (
    Feed,
    PostCard,
    cards_for,
    feed_page,
    post_comments,
    post_visible,
    visible_posts,
)

POST_NOT_FOUND = "That post doesn't exist or isn't visible to you."
COMMENT_NOT_FOUND = "That comment doesn't exist or isn't visible to you."

# The URL spells feeds with a hyphen; the selectors name them with an underscore.
FEEDS = {"for-you": Feed.FOR_YOU, "following": Feed.FOLLOWING}

# --- Shared representations.


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
        avatar = user.profile.avatar
        return absolute_url(self.context["request"], avatar.url) if avatar else None


class UserSummarySerializer(serializers.Serializer):
    """A person as shown beside their post or comment."""

    handle = serializers.CharField(source="username")
    display_name = serializers.CharField(source="profile.display_name")
    avatar_url = AvatarUrlField()

    class Meta:
        ref_name = "UserSummary"


class PostOutputSerializer(serializers.Serializer):
    """A post as the API shows it, with the viewer's like state (from a PostCard)."""

    id = serializers.IntegerField(source="post.pk")
    url = serializers.SerializerMethodField(help_text="The post's page.")
    owner = UserSummarySerializer(source="post.owner")
    video_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    caption = serializers.CharField(source="post.caption")
    prompt = serializers.CharField(source="post.prompt")
    model_name = serializers.CharField(source="post.model_name")
    visibility = serializers.ChoiceField(choices=Post.Visibility.choices, source="post.visibility")
    remix_of = serializers.IntegerField(
        source="post.remix_of_id", allow_null=True, help_text="The id of the remixed post."
    )
    allow_remix = serializers.BooleanField(source="post.allow_remix")
    allow_download = serializers.BooleanField(source="post.allow_download")
    duration_s = serializers.FloatField(source="post.duration_s")
    width = serializers.IntegerField(source="post.width")
    height = serializers.IntegerField(source="post.height")
    like_count = serializers.IntegerField(source="post.like_count")
    comment_count = serializers.IntegerField(source="post.comment_count")
    liked = serializers.BooleanField(help_text="Whether the viewer likes this post.")
    created = serializers.DateTimeField(source="post.created")

    class Meta:
        ref_name = "Post"

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, card: PostCard) -> str | None:
        """The absolute URL of the post's page."""
        return absolute_url(self.context["request"], card.post.get_absolute_url())

    @extend_schema_field(OpenApiTypes.URI)
    def get_video_url(self, card: PostCard) -> str | None:
        """The absolute URL of the MP4."""
        return absolute_url(self.context["request"], card.post.video.url)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_poster_url(self, card: PostCard) -> str | None:
        """The absolute URL of the poster frame, or null."""
        poster = card.post.poster
        return absolute_url(self.context["request"], poster.url) if poster else None


PostPageSerializer = page_of(PostOutputSerializer, "PostPage")


def post_response(request: Request, post: Post, *, status_code: int = 200) -> Response:
    """One post, with the viewer's like state."""
    (card,) = cards_for(viewer=viewer_of(request), posts=[post])
    data = PostOutputSerializer(card, context={"request": request}).data
    return Response(data, status=status_code)


def post_or_404(request: Request, pk: int) -> Post:
    """The post if the viewer may see it; a 404 that says nothing more otherwise."""
    post = post_visible(viewer=viewer_of(request), pk=pk)
    if post is None:
        raise NotFound(POST_NOT_FOUND)
    return post


# --- Feeds and posts.


class FeedApi(APIView):
    """A page of For You or Following."""

    @extend_schema(
        operation_id="feed_page",
        parameters=[
            OpenApiParameter(
                "feed", str, OpenApiParameter.PATH, enum=list(FEEDS), description="Which feed."
            ),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: PostPageSerializer,
            400: OpenApiResponse(description="Bad cursor or limit."),
            401: OpenApiResponse(description="Following needs a signed-in viewer."),
            404: OpenApiResponse(description="No such feed."),
        },
    )
    def get(self, request: Request, feed: str) -> Response:
        """One page of a feed, ranked for the viewer."""
        name = FEEDS.get(feed)
        if name is None:
            raise NotFound(f"There is no feed called {feed!r}; try 'for-you' or 'following'.")
        viewer = viewer_of(request)
        if name == Feed.FOLLOWING and viewer is None:
            raise NotAuthenticated("Sign in to see posts from people you follow.")
        cursor, size = page_params(request)
        page = feed_page(viewer=viewer, feed=name, cursor=cursor, size=size)
        return page_response(request, PostOutputSerializer, page.cards, page.next_cursor)


class PostListApi(APIView):
    """Every post the viewer may see, newest first."""

    @extend_schema(
        operation_id="posts_list",
        parameters=PAGE_PARAMETERS,
        responses={200: PostPageSerializer, 400: OpenApiResponse(description="Bad cursor.")},
    )
    def get(self, request: Request) -> Response:
        """One page of visible posts."""
        viewer = viewer_of(request)
        cursor, size = page_params(request)
        posts, next_cursor = keyset_page(visible_posts(viewer=viewer), cursor=cursor, size=size)
        cards = cards_for(viewer=viewer, posts=posts)
        return page_response(request, PostOutputSerializer, cards, next_cursor)


class PostDetailApi(APIView):
    """One post: read it, or (its owner) edit or delete it."""

    class InputSerializer(serializers.Serializer):
        """What an owner may change about a post."""

        caption = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=500,
            error_messages={"max_length": "A caption can be at most 500 characters."},
        )
        visibility = serializers.ChoiceField(choices=Post.Visibility.choices, required=False)
        allow_remix = serializers.BooleanField(required=False)
        allow_download = serializers.BooleanField(required=False)

        class Meta:
            ref_name = "PostUpdate"

    @extend_schema(
        operation_id="post_retrieve",
        responses={200: PostOutputSerializer, 404: OpenApiResponse(description="Not found.")},
    )
    def get(self, request: Request, pk: int) -> Response:
        """The post."""
        return post_response(request, post_or_404(request, pk))

    @extend_schema(
        operation_id="post_update",
        request=InputSerializer,
        responses={
            200: PostOutputSerializer,
            400: OpenApiResponse(description="Invalid field."),
            403: OpenApiResponse(description="Not the owner."),
            404: OpenApiResponse(description="Not found."),
        },
    )
    def patch(self, request: Request, pk: int) -> Response:
        """Change the caption or settings of your post."""
        post = post_or_404(request, pk)
        if post.owner_id != request.user.pk:
            raise PermissionDenied("Only the owner can edit this post.")
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        post = services.post_update(
            post=post, actor=cast(User, request.user), **serializer.validated_data
        )
        return post_response(request, post)

    @extend_schema(
        operation_id="post_destroy",
        responses={
            204: None,
            403: OpenApiResponse(description="Not the owner."),
            404: OpenApiResponse(description="Not found."),
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        """Delete your post."""
        post = post_or_404(request, pk)
        if post.owner_id != request.user.pk:
            raise PermissionDenied("Only the owner can delete this post.")
        services.post_delete(post=post, actor=cast(User, request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PostLikeApi(APIView):
    """Like a post, or take the like back."""

    class OutputSerializer(serializers.Serializer):
        """The viewer's like state after the change."""

        liked = serializers.BooleanField()
        like_count = serializers.IntegerField()

        class Meta:
            ref_name = "LikeState"

    def _state(self, post: Post, *, liked: bool, status_code: int = 200) -> Response:
        post.refresh_from_db(fields=["like_count"])
        data = self.OutputSerializer({"liked": liked, "like_count": post.like_count}).data
        return Response(data, status=status_code)

    @extend_schema(
        operation_id="post_like",
        request=None,
        responses={
            200: OpenApiResponse(OutputSerializer, description="Already liked."),
            201: OpenApiResponse(OutputSerializer, description="Liked."),
            404: OpenApiResponse(description="Not found."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """Like the post (liking twice changes nothing)."""
        post = post_or_404(request, pk)
        created = services.like_create(user=cast(User, request.user), post=post)
        return self._state(post, liked=True, status_code=201 if created else 200)

    @extend_schema(
        operation_id="post_unlike",
        responses={200: OutputSerializer, 404: OpenApiResponse(description="Not found.")},
    )
    def delete(self, request: Request, pk: int) -> Response:
        """Take the like back (when there was none, nothing changes)."""
        post = post_or_404(request, pk)
        services.like_delete(user=cast(User, request.user), post=post)
        return self._state(post, liked=False)


# --- Comments.


class CommentOutputSerializer(serializers.Serializer):
    """A comment under a post."""

    id = serializers.IntegerField()
    post = serializers.IntegerField(source="post_id")
    author = UserSummarySerializer()
    body = serializers.CharField()
    created = serializers.DateTimeField()

    class Meta:
        ref_name = "Comment"


CommentPageSerializer = page_of(CommentOutputSerializer, "CommentPage")


class CommentListCreateApi(APIView):
    """The comments under a post, oldest first; signed-in people may add one."""

    class InputSerializer(serializers.Serializer):
        """A new comment."""

        body = serializers.CharField(
            max_length=500,
            error_messages={
                "required": "Write something to comment.",
                "blank": "A comment can't be empty.",
                "null": "A comment can't be empty.",
                "max_length": "A comment can be at most 500 characters.",
            },
        )

        class Meta:
            ref_name = "CommentCreate"

    @extend_schema(
        operation_id="post_comments_list",
        parameters=PAGE_PARAMETERS,
        responses={
            200: CommentPageSerializer,
            400: OpenApiResponse(description="Bad cursor or limit."),
            404: OpenApiResponse(description="Not found."),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        """One page of comments."""
        post = post_or_404(request, pk)
        cursor, size = page_params(request)
        comments, next_cursor = keyset_page(
            post_comments(post=post), cursor=cursor, size=size, newest_first=False
        )
        return page_response(request, CommentOutputSerializer, comments, next_cursor)

    @extend_schema(
        operation_id="post_comments_create",
        request=InputSerializer,
        responses={
            201: CommentOutputSerializer,
            400: OpenApiResponse(description="Empty or too long."),
            404: OpenApiResponse(description="Not found."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """Comment on the post."""
        post = post_or_404(request, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = services.comment_create(
            author=cast(User, request.user), post=post, body=serializer.validated_data["body"]
        )
        data = CommentOutputSerializer(comment, context={"request": request}).data
        return Response(data, status=status.HTTP_201_CREATED)


class CommentDetailApi(APIView):
    """One comment; its author or the post's owner may delete it."""

    @extend_schema(
        operation_id="comment_destroy",
        responses={
            204: None,
            403: OpenApiResponse(description="Neither the author nor the post's owner."),
            404: OpenApiResponse(description="Not found."),
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        """Delete the comment."""
        post = visible_posts(viewer=viewer_of(request)).filter(comments__pk=pk).first()
        comment = post_comments(post=post).filter(pk=pk).first() if post is not None else None
        if post is None or comment is None:
            raise NotFound(COMMENT_NOT_FOUND)
        comment.post = post  # already loaded; spares the service a query
        if request.user.pk not in (comment.author_id, post.owner_id):
            raise PermissionDenied("Only the comment's author or the post's owner can delete it.")
        services.comment_delete(comment=comment, actor=cast(User, request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Remixing a post and posting a draft: the feed calls generation.


class PostRemixApi(APIView):
    """Start a remix of a post: a new generation that starts from its clip."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="posts_remix",
        request=JobInputSerializer,
        responses={
            201: JobOutputSerializer,
            400: OpenApiResponse(description="Bad input, or the prompt policy refused it."),
            403: OpenApiResponse(description="The post's owner doesn't allow remixes."),
            404: OpenApiResponse(description=POST_NOT_FOUND),
            429: OpenApiResponse(description="Your allowance is used up."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """Queue the remix; with no seed given it reuses the source clip's seed."""
        post = post_visible(viewer=viewer_of(request), pk=pk)
        if post is None:
            raise NotFound(POST_NOT_FOUND)
        return job_create_response(request, source=services.remix_source(post=post))


class DraftPostApi(APIView):
    """Post a finished draft to the feed."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        """How to post it."""

        caption = serializers.CharField(max_length=500, required=False, default="")
        visibility = serializers.ChoiceField(
            choices=Post.Visibility.choices, default=Post.Visibility.PUBLIC
        )
        allow_remix = serializers.BooleanField(default=True)
        allow_download = serializers.BooleanField(default=False)

        class Meta:
            ref_name = "DraftPostIn"

    @extend_schema(
        operation_id="generations_post",
        request=InputSerializer,
        responses={
            201: PostOutputSerializer,
            400: OpenApiResponse(description="Not a draft: unfinished, posted or deleted."),
            404: OpenApiResponse(description="That generation doesn't exist or isn't yours."),
        },
    )
    def post(self, request: Request, job_id: str) -> Response:
        """Publish the draft with a caption and visibility; it becomes a post."""
        viewer = cast(User, request.user)
        job = job_of(user=viewer, job_id=job_id)
        if job is None:
            raise NotFound("That generation doesn't exist or isn't yours.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = services.post_publish(job=job, actor=viewer, **data.validated_data)
        card = cards_for(viewer=viewer, posts=[post])[0]
        body = PostOutputSerializer(card, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)
