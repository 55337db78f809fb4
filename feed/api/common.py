"""What the feed API's endpoints share: how a post and a person look, finding a post."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import viewer_of
from accounts.serializers import UserSummarySerializer
from core.api import absolute_url, page_of
from core.media import media_url

from ..models import Post
from ..selectors import Feed, PostCard, cards_for, post_visible

POST_NOT_FOUND = "That post doesn't exist or isn't visible to you."
COMMENT_NOT_FOUND = "That comment doesn't exist or isn't visible to you."

# The URL spells feeds with a hyphen; the selectors name them with an underscore.
FEEDS = {"for-you": Feed.FOR_YOU, "following": Feed.FOLLOWING}


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
        request = self.context["request"]
        return absolute_url(request, media_url(card.post.video, viewer=viewer_of(request)))

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_poster_url(self, card: PostCard) -> str | None:
        """The absolute URL of the poster frame, or null."""
        request = self.context["request"]
        return absolute_url(request, media_url(card.post.poster, viewer=viewer_of(request)))


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
