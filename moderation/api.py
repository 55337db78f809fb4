"""Moderation API: reports and appeals from anyone signed in; queue and decisions for moderators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.api import StrictCharField

from . import selectors, services, targets
from .models import Appeal, Case, Decision, PolicyCategory, PromptRefusal, Report
from .models.review import TARGETS


class IsModerator(BasePermission):
    """Moderators only (the review_case permission)."""

    message = "Only moderators can use this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        """Signed in and holding moderation.review_case."""
        return selectors.is_moderator(request.user)


def _refused(exc: services.ModerationRefused, code: int = 409) -> Response:
    return Response({"detail": exc.message}, status=code)


class ReportCreateApi(APIView):
    """Report a post, comment, message or account (exactly one of them)."""

    permission_classes = [IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        """What is reported and why."""

        post = serializers.IntegerField(required=False)
        comment = serializers.IntegerField(required=False)
        message = serializers.IntegerField(
            required=False,
            help_text="A message in one of your conversations; the conversation's last "
            "messages go with the report.",
        )
        account = StrictCharField(required=False, help_text="The account's @handle.")
        reason = serializers.ChoiceField(choices=Report.Reason.choices)
        note = StrictCharField(max_length=1000, required=False, allow_blank=True)

        class Meta:
            ref_name = "ReportCreate"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            named = [key for key in TARGETS if key in attrs]
            if len(named) != 1:
                raise ValidationError("Name exactly one of post, comment, message or account.")
            return attrs

    class OutputSerializer(serializers.Serializer):
        """The report as filed."""

        id = serializers.IntegerField()
        case = serializers.IntegerField(source="case_id")
        reason = serializers.CharField()
        created = serializers.DateTimeField()

        class Meta:
            ref_name = "Report"

    @extend_schema(
        operation_id="report_create",
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            400: OpenApiResponse(description="Missing or bad fields."),
            404: OpenApiResponse(description="Nothing there to report."),
            409: OpenApiResponse(description="Already reported, or your own content."),
        },
    )
    def post(self, request: Request) -> Response:
        """File the report."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kind = next(k for k in TARGETS if k in data.validated_data)
        target = targets.report_target(
            viewer=cast(User, request.user), kind=kind, ref=str(data.validated_data[kind])
        )
        if target is None:
            raise NotFound(f"There's no such {kind} to report.")
        try:
            report = services.report_create(
                reporter=cast(User, request.user),
                reason=data.validated_data["reason"],
                note=data.validated_data.get("note", ""),
                **target,
            )
        except services.ModerationRefused as exc:
            return _refused(exc)
        return Response(self.OutputSerializer(report).data, status=status.HTTP_201_CREATED)


class NoticeSerializer(serializers.Serializer):
    """A statement of reasons or an appeal's outcome."""

    id = serializers.IntegerField()
    subject = serializers.CharField()
    body = serializers.CharField()
    decision = serializers.IntegerField(source="decision_id", allow_null=True)
    appeal = serializers.IntegerField(source="appeal_id", allow_null=True)
    created = serializers.DateTimeField()
    read = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Notice"


class NoticeListApi(APIView):
    """Your notices, newest first (the latest 50)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="notices_list", responses={200: NoticeSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """The notices."""
        notices = selectors.notices_for(user=cast(User, request.user))[:50]
        return Response(NoticeSerializer(notices, many=True).data)


class AppealSerializer(serializers.Serializer):
    """One of your appeals and where it stands."""

    id = serializers.IntegerField()
    decision = serializers.IntegerField(source="decision_id", allow_null=True)
    refusal = serializers.IntegerField(source="refusal_id", allow_null=True)
    text = serializers.CharField()
    status = serializers.ChoiceField(choices=Appeal.Status.choices)
    reply = serializers.CharField(help_text="The moderator's note, once decided.")
    created = serializers.DateTimeField()
    decided = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "Appeal"


class AppealCreateApi(APIView):
    """Your appeals (GET, newest first, the latest 50), or appeal a decision about you or the
    refusal of your prompt (POST, exactly one)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="appeals_list", responses={200: AppealSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """Your appeals."""
        appeals = selectors.appeals_of(user=cast(User, request.user))[:50]
        return Response(AppealSerializer(appeals, many=True).data)

    class InputSerializer(serializers.Serializer):
        """What is appealed and why."""

        decision = serializers.IntegerField(required=False)
        refusal = serializers.IntegerField(required=False)
        text = StrictCharField(max_length=2000)

        class Meta:
            ref_name = "AppealCreate"

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("decision" in attrs) == ("refusal" in attrs):
                raise ValidationError("Name exactly one of decision or refusal.")
            return attrs

    @extend_schema(
        operation_id="appeal_create",
        request=InputSerializer,
        responses={201: None, 400: None, 404: None, 409: None},
    )
    def post(self, request: Request) -> Response:
        """File the appeal."""
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = cast(User, request.user)
        subject: dict[str, Any] = {}
        if "decision" in data.validated_data:
            subject["decision"] = Decision.objects.filter(
                pk=data.validated_data["decision"], affected=user
            ).first()
        else:
            subject["refusal"] = PromptRefusal.objects.filter(
                pk=data.validated_data["refusal"], user=user
            ).first()
        if next(iter(subject.values())) is None:
            raise NotFound("There's no such decision or refusal about you.")
        try:
            appeal = services.appeal_create(
                appellant=user, text=data.validated_data["text"], **subject
            )
        except services.ModerationRefused as exc:
            return _refused(exc)
        return Response({"id": appeal.pk, "status": appeal.status}, status=201)


# --- moderators ------------------------------------------------------------------------------


class CaseSerializer(serializers.Serializer):
    """A case in the queue."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    post = serializers.IntegerField(source="post_id", allow_null=True)
    comment = serializers.IntegerField(source="comment_id", allow_null=True)
    message = serializers.IntegerField(source="message_id", allow_null=True)
    account = serializers.IntegerField(source="account_id", allow_null=True)
    status = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.source
    severity = serializers.IntegerField()
    report_count = serializers.IntegerField()
    opened = serializers.DateTimeField()
    conflict = serializers.SerializerMethodField(
        help_text="Why you may not decide this case (null: you may)."
    )

    class Meta:
        ref_name = "Case"

    def get_conflict(self, case: Case) -> str | None:
        """The reason the view put in the context for this case, if any."""
        return cast(dict[int, str | None], self.context.get("conflicts", {})).get(case.pk)


class CaseListApi(APIView):
    """The open cases, most severe and most reported first (the first 100): those about you are
    left out, and `conflict` says why you may not decide one."""

    permission_classes = [IsModerator]

    @extend_schema(operation_id="moderation_cases_list", responses={200: CaseSerializer(many=True)})
    def get(self, request: Request) -> Response:
        """The queue."""
        rows = selectors.moderator_queue(moderator=request.user).rows
        conflicts = {row.case.pk: row.conflict for row in rows}
        cases = [row.case for row in rows]
        return Response(CaseSerializer(cases, many=True, context={"conflicts": conflicts}).data)


class CaseDetailApi(APIView):
    """One case with its reports, the prompt and the account's history (a case about you: 404)."""

    permission_classes = [IsModerator]

    @extend_schema(operation_id="moderation_case_detail", responses={200: None, 404: None})
    def get(self, request: Request, pk: int) -> Response:
        """The case."""
        case = selectors.case_for_moderator(moderator=request.user, pk=pk)
        if case is None:
            raise NotFound("No such case.")
        view = selectors.case_view(case=case)
        history = view.history
        standing = selectors.standing(moderator=request.user, case=case)
        conflicts = {case.pk: standing.conflict}
        return Response(
            {
                **CaseSerializer(case, context={"conflicts": conflicts}).data,
                "who_decides": standing.who_decides,
                "prompt": view.prompt,
                "reports": [
                    {"reason": r.reason, "note": r.note, "reporter": r.reporter.username}
                    for r in view.reports
                ],
                "ancestors": [p.pk for p in view.ancestors],
                "account": {
                    "handle": history.user.username,
                    "live_strikes": history.live_strikes,
                    "earlier_decisions": [d.action for d in history.decisions],
                }
                if history
                else None,
                "decision": view.decision.action if view.decision else None,
            }
        )


class CaseDecideApi(APIView):
    """Decide an open case; a case already decided is refused (409), one you may not decide
    403, and one about you is not found (404)."""

    permission_classes = [IsModerator]

    class InputSerializer(serializers.Serializer):
        """The decision."""

        action = serializers.ChoiceField(choices=Decision.Action.choices)
        category = serializers.SlugRelatedField(
            slug_field="slug",
            queryset=PolicyCategory.objects.filter(active=True),
            required=False,
            allow_null=True,
        )
        label = StrictCharField(  # type: ignore[assignment]  # a field, not Field.label
            max_length=80, required=False, allow_blank=True
        )
        facts = StrictCharField(max_length=2000)
        category_note = StrictCharField(
            max_length=500,
            required=False,
            allow_blank=True,
            help_text="Why this category, when it answers none of the reports' reasons.",
        )

        class Meta:
            ref_name = "CaseDecision"

        def validate_category(self, category: PolicyCategory | None) -> PolicyCategory | None:
            """Form data reads an empty value as null: refuse it, as JSON's "" is refused;
            leave the field out for no category."""
            if category is None and self.initial_data.get("category") == "":
                raise ValidationError("Name a category, or leave the field out.")
            return category

    @extend_schema(
        operation_id="moderation_case_decide",
        request=InputSerializer,
        responses={201: None, 400: None, 403: None, 404: None, 409: None},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Decide the case."""
        case = selectors.case_queryset().filter(pk=pk).first()
        if case is None:
            raise NotFound("No such case.")
        moderator = cast(User, request.user)
        body = request.data if isinstance(request.data, Mapping) else {}
        try:
            # Before the input is read: an attempt the moderator may not make is refused and
            # logged whatever it contains.
            services.conflict_refuse(
                moderator=moderator, case=case, attempted=f"decide:{body.get('action', '')}"
            )
        except services.ModerationConflict as exc:
            if exc.hidden:
                raise NotFound("No such case.") from exc
            return _refused(exc, 403)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            decision = services.decision_make(
                case=case,
                moderator=cast(User, request.user),
                action=data.validated_data["action"],
                category=data.validated_data.get("category"),
                label=data.validated_data.get("label", ""),
                facts=data.validated_data["facts"],
                category_note=data.validated_data.get("category_note", ""),
            )
        except services.ModerationConflict as exc:
            return _refused(exc, 403)  # the settings changed between the two checks
        except services.ModerationRefused as exc:
            return _refused(exc, 409 if case.status != Case.Status.OPEN else 400)
        return Response({"id": decision.pk, "action": decision.action}, status=201)


class AppealListApi(APIView):
    """Appeals waiting for a moderator, oldest first; `conflict` says why you may not decide one."""

    permission_classes = [IsModerator]

    @extend_schema(operation_id="moderation_appeals_list", responses={200: None})
    def get(self, request: Request) -> Response:
        """The appeals."""
        return Response(
            [
                {
                    "id": row.appeal.pk,
                    "decision": row.appeal.decision_id,
                    "refusal": row.appeal.refusal_id,
                    "appellant": row.appeal.appellant.username,
                    "text": row.appeal.text,
                    "created": row.appeal.created,
                    "conflict": row.conflict,
                }
                for row in selectors.moderator_appeals(moderator=request.user)
            ]
        )


class AppealDecideApi(APIView):
    """Uphold or overturn an appeal; never by its appellant or the moderator who made the
    decision (403)."""

    permission_classes = [IsModerator]

    class InputSerializer(serializers.Serializer):
        """The outcome."""

        overturn = serializers.BooleanField()
        reply = StrictCharField(max_length=2000, required=False, allow_blank=True)

        class Meta:
            ref_name = "AppealDecision"

    @extend_schema(
        operation_id="moderation_appeal_decide",
        request=InputSerializer,
        responses={200: None, 400: None, 403: None, 404: None, 409: None},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Decide the appeal."""
        appeal = Appeal.objects.filter(pk=pk).first()
        if appeal is None:
            raise NotFound("No such appeal.")
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            appeal = services.appeal_decide(
                appeal=appeal,
                moderator=cast(User, request.user),
                overturn=data.validated_data["overturn"],
                reply=data.validated_data.get("reply", ""),
            )
        except services.ModerationConflict as exc:
            return _refused(exc, 403)
        except services.ModerationRefused as exc:
            return _refused(exc, 403 if appeal.status == Appeal.Status.PENDING else 409)
        return Response({"id": appeal.pk, "status": appeal.status})
