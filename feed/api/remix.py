"""Remixing a post and posting a draft: the feed's side of generation."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import viewer_of
from core.api import StrictCharField
from generation.selectors import job_of
from generation.serializers import JobInputSerializer, JobOutputSerializer, job_create_response

from .. import services
from ..models import Post
from ..selectors import cards_for, post_visible
from .common import POST_NOT_FOUND, PostOutputSerializer


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

        caption = StrictCharField(max_length=500, required=False, default="")
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
