"""Verify a clip over the API: upload a video, learn what it is."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import viewer_of
from core.api import absolute_url
from core.throttling import ScopedRateThrottle
from moderation.provenance import NotAVideo, clip_inspect, upload_refusal

from ..selectors import ClipOrigin, cards_for, clip_origin
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

    class OutputSerializer(serializers.Serializer):
        made_here = serializers.BooleanField(
            help_text="Its watermark or this instance's signature leads to a clip made here."
        )
        credentials = CredentialsSerializer(source="inspection.credentials")
        watermark = WatermarkSerializer(source="inspection.watermark")
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

    @extend_schema(
        operation_id="verify_create",
        request={"multipart/form-data": InputSerializer},
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="No file, or not a video that can be read."),
            413: OpenApiResponse(description="Larger than VERIFY_MAX_UPLOAD_MB."),
        },
    )
    def post(self, request: Request) -> Response:
        """Read the video's credentials and watermark and match them to a clip; keep nothing."""
        too_big = self._too_big(request)
        if too_big is not None:
            return too_big
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["video"]
        upload.seek(0)
        try:
            inspection = clip_inspect(upload.read())
        except NotAVideo as exc:
            raise serializers.ValidationError({"video": [str(exc)]}) from exc
        origin = clip_origin(viewer=viewer_of(request), inspection=inspection)
        return Response(self.OutputSerializer(origin, context={"request": request}).data)

    @staticmethod
    def _too_big(request: Request) -> Response | None:
        upload = request.FILES.get("video")
        refusal = upload_refusal(upload.size) if upload is not None else None
        if refusal:
            return Response({"video": [refusal]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        return None
