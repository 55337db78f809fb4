"""Verify a clip over the API: upload a video, learn what it is; or resolve the watermark
id a C2PA reader found (the manifest's soft binding) to the manifest the clip was posted with.

The video is checked by the `verify` worker (moderation/verify.py): the upload answers within
VERIFY_WAIT_S when it can, else 202 with the URL to ask again.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import viewer_of
from core.api import StrictCharField, absolute_url
from core.throttling import ScopedRateThrottle
from core.uploads import upload_turn
from moderation.content_credentials import SOFT_BINDING_ALG, soft_binding_id
from moderation.models import VerifyCheck
from moderation.provenance import ClipInspection, declared_size_refusal, upload_refusal
from moderation.verify import (
    BUSY,
    BUSY_RETRY_AFTER_S,
    verify_check_create,
    verify_check_get,
    verify_check_wait,
    verify_checks_busy,
)

from ..selectors import ClipOrigin, binding_post, cards_for
from ..services import post_clip_reading, verified_origin
from .common import PostOutputSerializer


class CredentialsSerializer(serializers.Serializer):
    """The video's C2PA content credentials, as read and validated here."""

    state = serializers.CharField(
        allow_null=True,
        help_text='"Trusted" (signed by this instance, unchanged), "Valid" (signed by a '
        'certificate this instance does not know), "Invalid" (changed after signing) or null.',
    )
    ai_generated = serializers.BooleanField()
    model_key = serializers.CharField(allow_null=True)
    clip_id = serializers.CharField(allow_null=True)
    title = serializers.CharField(allow_null=True)
    ingredients = serializers.ListField(child=serializers.DictField())
    problems = serializers.ListField(
        source="errors",
        child=serializers.CharField(),
        help_text="Validation codes that failed, e.g. assertion.bmffHash.mismatch.",
    )
    manifest = serializers.DictField(allow_null=True)


class WatermarkSerializer(serializers.Serializer):
    """The invisible watermark found in the video's frames."""

    payload = serializers.IntegerField(allow_null=True, help_text="The clip's watermark id.")
    confidence = serializers.FloatField()
    frames_read = serializers.IntegerField()


class PerceptualSerializer(serializers.Serializer):
    """The posted clip the video looks like, when no watermark was read (PDQ frame hashes)."""

    post_id = serializers.IntegerField()
    matched = serializers.IntegerField(help_text="Frames within the match distance.")
    frames = serializers.IntegerField(help_text="Frames of the video that were hashed.")


class ClipVerificationSerializer(serializers.Serializer):
    """What an uploaded video is: its credentials, its watermark and the post it matches."""

    made_here = serializers.BooleanField(
        help_text="Its signature, watermark or look leads to a clip made here."
    )
    found_by = serializers.ChoiceField(
        choices=["credentials", "watermark", "perceptual", ""],
        help_text="How the clip was found: its own trusted credentials, its watermark, or a "
        'perceptual match of its frames ("" when it wasn\'t).',
    )
    credentials = CredentialsSerializer(source="inspection.credentials")
    watermark = WatermarkSerializer(source="inspection.watermark")
    perceptual = PerceptualSerializer(source="inspection.perceptual", allow_null=True)
    stored_credentials = CredentialsSerializer(
        source="stored",
        allow_null=True,
        help_text="The matched post's own credentials, stored when it was signed, when the "
        "clip was found by its watermark or its look.",
    )
    post = serializers.SerializerMethodField()
    lineage_url = serializers.SerializerMethodField()

    class Meta:
        ref_name = "ClipVerification"

    @extend_schema_field(PostOutputSerializer(allow_null=True))
    def get_post(self, origin: ClipOrigin) -> dict[str, object] | None:
        """The matching post, when the caller may see it."""
        if origin.post is None:
            return None
        request = self.context["request"]
        (card,) = cards_for(viewer=viewer_of(request), posts=[origin.post])
        return dict(PostOutputSerializer(card, context=self.context).data)

    def get_lineage_url(self, origin: ClipOrigin) -> str | None:
        """The matching post's remix chain page."""
        if origin.post is None:
            return None
        url = reverse("feed:post_lineage", kwargs={"pk": origin.post.pk})
        return absolute_url(self.context["request"], url)


class PendingCheckSerializer(serializers.Serializer):
    """A check still under way: ask its URL again in a few seconds."""

    id = serializers.UUIDField(help_text="The check's id; only whoever uploaded holds it.")
    status = serializers.CharField(help_text='"pending".')
    url = serializers.URLField(help_text="GET this for the result (kept for a short while).")

    class Meta:
        ref_name = "PendingVerification"


def check_response(request: Request, check: VerifyCheck) -> Response:
    """A check as the API answers it: 200 its result, 400 why it was refused, 202 pending."""
    if check.state == VerifyCheck.State.REFUSED:
        return Response({"video": [check.refusal]}, status=status.HTTP_400_BAD_REQUEST)
    if check.state == VerifyCheck.State.PENDING or not check.reading:
        path = reverse("api:verify-check", kwargs={"check_id": check.pk})
        url = request.build_absolute_uri(path)
        body = {"id": str(check.pk), "status": "pending", "url": url}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})
    inspection = ClipInspection.from_json(check.reading)
    origin = verified_origin(viewer=viewer_of(request), inspection=inspection)
    return Response(ClipVerificationSerializer(origin, context={"request": request}).data)


class VerifyApi(APIView):
    """Anyone may upload a video and learn whether it was made here, and which clip it is."""

    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "verify"

    class InputSerializer(serializers.Serializer):
        video = serializers.FileField(help_text="The video to check (MP4, WebM or MOV).")

        class Meta:
            ref_name = "VerifyUpload"

    @extend_schema(
        operation_id="verify_create",
        request={"multipart/form-data": InputSerializer},
        responses={
            200: ClipVerificationSerializer,
            202: OpenApiResponse(
                PendingCheckSerializer,
                description="Not checked yet (after VERIFY_WAIT_S): GET the `url` (also in "
                "Location) in a few seconds.",
            ),
            400: OpenApiResponse(
                description="No file, or not a video that can be checked: "
                '`{"video": ["why, for a person"]}`.'
            ),
            413: OpenApiResponse(description="Larger than VERIFY_MAX_UPLOAD_MB."),
            503: OpenApiResponse(
                description="Too many videos are being checked right now; see Retry-After."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Check the video's credentials and watermark and match them to a clip.

        The video is deleted once checked; the result is kept for a short while, for whoever
        holds its URL.
        """
        refusal = declared_size_refusal(request.META.get("CONTENT_LENGTH"))
        if refusal:
            return Response({"video": [refusal]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if verify_checks_busy():
            return Response(
                {"detail": BUSY},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
            )
        with upload_turn(request):
            too_big = self._too_big(request)
            if too_big is not None:
                return too_big
            data = self.InputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            upload = data.validated_data["video"]
            check = verify_check_create(upload=upload, filename=upload.name or "")
        check = verify_check_wait(check=check, seconds=settings.VERIFY_WAIT_S)
        return check_response(request, check)

    @staticmethod
    def _too_big(request: Request) -> Response | None:
        upload = request.FILES.get("video")
        refusal = upload_refusal(upload.size) if upload is not None else None
        if refusal:
            return Response({"video": [refusal]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        return None


class VerifyCheckApi(APIView):
    """The result of an upload that wasn't checked within the upload's own request."""

    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="verify_retrieve",
        responses={
            200: ClipVerificationSerializer,
            202: OpenApiResponse(PendingCheckSerializer, description="Not checked yet."),
            400: OpenApiResponse(
                description='Not a video that can be checked: `{"video": ["why"]}`.'
            ),
            404: OpenApiResponse(description="No such check, or it is no longer kept."),
        },
    )
    def get(self, request: Request, check_id: uuid.UUID) -> Response:
        """What the uploaded video is, once checked; results are kept for a short while."""
        check = verify_check_get(check_id=check_id)
        if check is None:
            raise NotFound("No such check; results are kept for a short while only.")
        return check_response(request, check)


NOT_A_BINDING = "That isn't a Riff watermark id: its 6 bytes in base64, 8 characters."


class ManifestByBindingApi(APIView):
    """Resolve a soft binding to its manifest: a C2PA reader that found Riff's watermark id in a
    copy stripped of its manifest (the `c2pa.soft-binding` assertion every clip's manifest
    carries names the algorithm) gets the manifest the clip was posted with."""

    permission_classes = [AllowAny]

    class QuerySerializer(serializers.Serializer):
        alg = serializers.ChoiceField(
            choices=[SOFT_BINDING_ALG],
            help_text="The soft binding algorithm: Riff resolves its own watermark only.",
            error_messages={
                "invalid_choice": f"Riff resolves its own soft binding only: {SOFT_BINDING_ALG}."
            },
        )
        value = StrictCharField(
            validators=[RegexValidator(r"\A[A-Za-z0-9+/]{8}\Z", NOT_A_BINDING)],
            help_text="The binding's value: the watermark id's 6 bytes, base64 (8 characters).",
        )

        class Meta:
            ref_name = "SoftBindingQuery"

    class OutputSerializer(serializers.Serializer):
        post = serializers.IntegerField(help_text="The post whose clip carries the binding.")
        url = serializers.URLField(help_text="The post's page.")
        state = serializers.CharField(
            allow_null=True, help_text="How the stored manifest read when the clip was signed."
        )
        manifest = serializers.DictField(allow_null=True, help_text="The stored manifest.")

        class Meta:
            ref_name = "ManifestByBinding"

    @extend_schema(
        operation_id="manifest_by_binding",
        parameters=[QuerySerializer],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="Another algorithm, or a value that isn't one."),
            404: OpenApiResponse(description="No clip you may see carries that binding."),
        },
    )
    def get(self, request: Request) -> Response:
        """The manifest of the posted clip that carries this watermark id."""
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        watermark_id = soft_binding_id(query.validated_data["value"])
        if watermark_id is None:
            raise ValidationError({"value": [NOT_A_BINDING]})
        post = binding_post(viewer=viewer_of(request), watermark_id=watermark_id)
        if post is None:
            raise NotFound("No clip you may see carries that binding.")
        reading = post_clip_reading(post=post)
        credentials = reading.credentials if reading is not None else None
        body = {
            "post": post.pk,
            "url": absolute_url(request, post.get_absolute_url()),
            "state": credentials.state if credentials else None,
            "manifest": credentials.manifest if credentials else None,
        }
        return Response(self.OutputSerializer(body).data)
