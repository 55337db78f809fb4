"""Feed pages, posts and likes."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import user_or_404
from accounts.models import User
from accounts.selectors import block_state, viewer_of
from core.api import PAGE_PARAMETERS, StrictCharField, changes_of, page_params, page_response
from core.pagination import keyset_page

from .. import services
from ..models import Post
from ..selectors import Feed, cards_for, profile_posts, tag_posts, visible_posts
from ..tags import TAG
from .common import FEEDS, PostOutputSerializer, PostPageSerializer, post_or_404, post_response


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
        page = services.feed_serve(viewer=viewer, feed=name, cursor=cursor, size=size)
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


class UserPostsApi(APIView):
    """Someone's posts that the viewer may see, newest first (none across a block)."""

    @extend_schema(
        operation_id="user_posts",
        parameters=PAGE_PARAMETERS,
        responses={200: PostPageSerializer, 404: OpenApiResponse(description="No such handle.")},
    )
    def get(self, request: Request, handle: str) -> Response:
        """One page of their posts."""
        owner = user_or_404(handle)
        viewer = viewer_of(request)
        cursor, size = page_params(request)
        posts_qs = profile_posts(viewer=viewer, owner=owner)
        if block_state(user=viewer, other=owner).any:
            posts_qs = posts_qs.none()  # blocked either way: neither sees the other's clips
        posts, next_cursor = keyset_page(posts_qs, cursor=cursor, size=size)
        cards = cards_for(viewer=viewer, posts=posts)
        return page_response(request, PostOutputSerializer, cards, next_cursor)


class TagPostsApi(APIView):
    """The posts carrying a #tag that the viewer may see, newest first."""

    @extend_schema(
        operation_id="tag_posts",
        parameters=PAGE_PARAMETERS,
        responses={200: PostPageSerializer, 404: OpenApiResponse(description="Not a tag.")},
    )
    def get(self, request: Request, tag: str) -> Response:
        """One page of them (`tag` without its #, any case)."""
        if not TAG.fullmatch(f"#{tag}"):
            raise NotFound("A tag is 1 to 50 letters, digits or underscores.")
        viewer = viewer_of(request)
        cursor, size = page_params(request)
        posts_qs = tag_posts(viewer=viewer, tag=tag.lower())
        posts, next_cursor = keyset_page(posts_qs, cursor=cursor, size=size)
        return page_response(
            request, PostOutputSerializer, cards_for(viewer=viewer, posts=posts), next_cursor
        )


class PostDetailApi(APIView):
    """One post: read it, or (its owner) edit or delete it."""

    class InputSerializer(serializers.Serializer):
        """What an owner may change about a post."""

        caption = StrictCharField(
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
        changes = changes_of(self.InputSerializer(data=request.data, partial=True))
        post = services.post_update(post=post, actor=cast(User, request.user), **changes)
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
