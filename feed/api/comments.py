"""A post's comments."""

from __future__ import annotations

from typing import cast

from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import viewer_of
from core.api import PAGE_PARAMETERS, StrictCharField, page_of, page_params, page_response
from core.pagination import keyset_page
from core.text import TEXT_PATTERN

from .. import services
from ..models import Comment
from ..selectors import comment_visible, comments_liked, post_comments, visible_posts
from ..services import NOT_TEXT
from .common import COMMENT_NOT_FOUND, UserSummarySerializer, post_or_404
from .posts import PostLikeApi


class CommentOutputSerializer(serializers.Serializer):
    """A comment under a post."""

    id = serializers.IntegerField()
    post = serializers.IntegerField(source="post_id")
    # A field named like DRF's own `Field.parent` (the metaclass takes it out of the class).
    parent = serializers.IntegerField(  # type: ignore[assignment]
        source="parent_id", allow_null=True, help_text="The comment this replies to, or null."
    )
    author = UserSummarySerializer()
    body = serializers.CharField()
    like_count = serializers.IntegerField()
    reply_count = serializers.IntegerField()
    liked = serializers.SerializerMethodField(help_text="Whether you like it.")
    created = serializers.DateTimeField()

    def get_liked(self, comment: Comment) -> bool:
        return comment.pk in self.context.get("liked", ())

    class Meta:
        ref_name = "Comment"


CommentPageSerializer = page_of(CommentOutputSerializer, "CommentPage")


class CommentListCreateApi(APIView):
    """The comments under a post, oldest first; signed-in people may add one."""

    class InputSerializer(serializers.Serializer):
        """A new comment."""

        body = StrictCharField(
            max_length=500,
            validators=[RegexValidator(TEXT_PATTERN, NOT_TEXT)],
            error_messages={
                "required": "Write something to comment.",
                "blank": "A comment can't be empty.",
                "null": "A comment can't be empty.",
                "max_length": "A comment can be at most 500 characters.",
            },
        )

        parent = serializers.IntegerField(  # type: ignore[assignment]
            required=False,
            min_value=1,
            help_text="Reply to this comment of the post (a reply to a reply joins its thread).",
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
        liked = comments_liked(viewer=viewer_of(request), comments=comments)
        return page_response(
            request, CommentOutputSerializer, comments, next_cursor, context={"liked": liked}
        )

    @extend_schema(
        operation_id="post_comments_create",
        request=InputSerializer,
        responses={
            201: CommentOutputSerializer,
            400: OpenApiResponse(description="Empty or too long."),
            404: OpenApiResponse(description="No such post, or no such comment to reply to."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """Comment on the post."""
        post = post_or_404(request, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parent = None
        if serializer.validated_data.get("parent"):
            parent = post_comments(post=post).filter(pk=serializer.validated_data["parent"]).first()
            if parent is None:
                raise NotFound("The comment to reply to is gone, or isn't under this post.")
        comment = services.comment_create(
            author=cast(User, request.user),
            post=post,
            body=serializer.validated_data["body"],
            parent=parent,
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


class CommentLikeApi(APIView):
    """Like a comment, or take the like back."""

    OutputSerializer = PostLikeApi.OutputSerializer  # the same state as a post's like

    def _state(self, comment: Comment, *, liked: bool, code: int = 200) -> Response:
        comment.refresh_from_db(fields=["like_count"])
        data = {"liked": liked, "like_count": comment.like_count}
        return Response(self.OutputSerializer(data).data, status=code)

    def _comment(self, request: Request, pk: int) -> Comment:
        comment = comment_visible(viewer=viewer_of(request), pk=pk)
        if comment is None:
            raise NotFound(COMMENT_NOT_FOUND)
        return comment

    @extend_schema(
        operation_id="comment_like",
        request=None,
        responses={
            200: OpenApiResponse(OutputSerializer, description="Already liked."),
            201: OpenApiResponse(OutputSerializer, description="Liked."),
            404: OpenApiResponse(description="Not found."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """Like it (liking twice changes nothing)."""
        comment = self._comment(request, pk)
        created = services.comment_like_create(user=cast(User, request.user), comment=comment)
        return self._state(comment, liked=True, code=201 if created else 200)

    @extend_schema(
        operation_id="comment_unlike",
        responses={200: OutputSerializer, 404: OpenApiResponse(description="Not found.")},
    )
    def delete(self, request: Request, pk: int) -> Response:
        """Take the like back (when there was none, nothing changes)."""
        comment = self._comment(request, pk)
        services.comment_like_delete(user=cast(User, request.user), comment=comment)
        return self._state(comment, liked=False)
