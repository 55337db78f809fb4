"""The generation API: start a clip, watch it, cancel it, delete the draft.

Posting a draft and remixing a post are the feed's endpoints (feed/api/remix.py).
"""

from __future__ import annotations

from typing import cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.api import PAGE_PARAMETERS, page_of, page_params, page_response
from core.pagination import keyset_page

from . import services
from .models import GenerationJob
from .selectors import (
    job_of,
    jobs_of,
    model_label,
    model_limit_seconds,
    model_max_size,
    model_max_steps,
    models_offered,
)
from .serializers import JobInputSerializer, JobOutputSerializer, job_create_response

JOB_NOT_FOUND = "That generation doesn't exist or isn't yours."


def me(request: Request) -> User:
    """The signed-in user (every view here requires one)."""
    return cast(User, request.user)


def own_job_or_404(request: Request, job_id: str) -> GenerationJob:
    """The viewer's job; 404 for anyone else's, so ids reveal nothing."""
    job = job_of(user=me(request), job_id=job_id)
    if job is None:
        raise NotFound(JOB_NOT_FOUND)
    return job


JobPageSerializer = page_of(JobOutputSerializer, "GenerationJobPage")


class GenerationModelsApi(APIView):
    """The models you may make clips with here, and each one's caps: length, steps, size."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField(help_text="What to send as model_key.")
        label = serializers.CharField()  # type: ignore[assignment]  # a field named "label"
        max_seconds = serializers.FloatField(
            help_text="Its longest clip: the largest duration_s it takes, in seconds."
        )
        max_steps = serializers.IntegerField(help_text="The most steps it takes.")
        max_width = serializers.IntegerField(
            allow_null=True, help_text="Its widest frame in pixels, null for no cap."
        )
        max_height = serializers.IntegerField(
            allow_null=True, help_text="Its tallest frame in pixels, null for no cap."
        )

        class Meta:
            ref_name = "GenerationModel"

    @extend_schema(operation_id="generation_models", responses={200: OutputSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Installed models only; test models only for staff on an instance run with DEBUG."""
        rows = [
            {
                "key": key,
                "label": model_label(key),
                "max_seconds": model_limit_seconds(key),
                "max_steps": model_max_steps(key),
                "max_width": model_max_size(key)[0],
                "max_height": model_max_size(key)[1],
            }
            for key in models_offered(user=me(request))
        ]
        return Response(self.OutputSerializer(rows, many=True).data)


class GenerationListCreateApi(APIView):
    """Your generations: start one, or list them newest first."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="generations_list",
        parameters=PAGE_PARAMETERS,
        responses={200: JobPageSerializer},
    )
    def get(self, request: Request) -> Response:
        """One page of your jobs that are not yet posted or deleted."""
        cursor, size = page_params(request)
        jobs, next_cursor = keyset_page(
            jobs_of(user=me(request)), cursor=cursor, size=size, key="queued_at"
        )
        return page_response(request, JobOutputSerializer, jobs, next_cursor)

    @extend_schema(
        operation_id="generations_create",
        request=JobInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Send the same key again with the same body (a retry) to get the "
                "first job back; the same key with another body is refused (422).",
            )
        ],
        responses={
            201: JobOutputSerializer,
            200: OpenApiResponse(JobOutputSerializer, description="A retry: the first job."),
            400: OpenApiResponse(
                description="Bad input, over the model's caps, or the prompt policy refused it."
            ),
            422: OpenApiResponse(description="The Idempotency-Key was used for another request."),
            429: OpenApiResponse(description="Your allowance is used up."),
        },
    )
    def post(self, request: Request) -> Response:
        """Queue a clip; the worker starts as soon as one is free."""
        return job_create_response(request, source=None)


class GenerationDetailApi(APIView):
    """One of your generations."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="generations_retrieve",
        responses={200: JobOutputSerializer, 404: OpenApiResponse(description=JOB_NOT_FOUND)},
    )
    def get(self, request: Request, job_id: str) -> Response:
        """State, progress, place in the queue, ETA, failure, and the clip once done."""
        job = own_job_or_404(request, job_id)
        return Response(JobOutputSerializer(job, context={"request": request}).data)

    @extend_schema(
        operation_id="generations_discard",
        responses={
            204: None,
            400: OpenApiResponse(description="Only a finished, unposted clip can be deleted."),
            404: OpenApiResponse(description=JOB_NOT_FOUND),
        },
    )
    def delete(self, request: Request, job_id: str) -> Response:
        """Delete a draft and its files."""
        services.draft_discard(job=own_job_or_404(request, job_id), actor=me(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class GenerationCancelApi(APIView):
    """Stop a generation."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="generations_cancel",
        request=None,
        responses={
            200: JobOutputSerializer,
            400: OpenApiResponse(description="It already finished."),
            404: OpenApiResponse(description=JOB_NOT_FOUND),
        },
    )
    def post(self, request: Request, job_id: str) -> Response:
        """Cancel at once while queued, or at the worker's next step while running."""
        job = services.job_cancel(job=own_job_or_404(request, job_id), actor=me(request))
        return Response(JobOutputSerializer(job, context={"request": request}).data)
