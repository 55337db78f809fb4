"""The people API: tokens, your profile, other people, follows and blocks."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.files.uploadedfile import UploadedFile
from django.db.models import F, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import (
    PAGE_PARAMETERS,
    StrictCharField,
    changes_of,
    page_of,
    page_params,
    page_response,
)
from core.pagination import keyset_page
from core.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

from . import selectors, services
from .export import account_export
from .models import User
from .selectors import viewer_of
from .serializers import AvatarUrlField

# Pillow formats a browser shows everywhere; anything else is refused as an avatar.
AVATAR_CONTENT_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


def human_size(size: int) -> str:
    """A byte count as people say it: 2 MB, 512 KB."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{size / 1024:.3g} KB"


def user_or_404(handle: str) -> User:
    """The active user with this handle; 404 with a readable message otherwise."""
    user = selectors.user_by_handle(handle=handle)
    if user is None:
        raise NotFound(f"No one on Riff has the handle @{handle.lstrip('@')}.")
    return user


class TokenApi(APIView):
    """Trade a login and password for an API token, or revoke your token."""

    throttle_classes = [AnonRateThrottle, UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "token"

    class InputSerializer(serializers.Serializer):
        """Credentials: an email address or a handle, and the password."""

        login = StrictCharField(help_text="Email address or handle.")
        password = StrictCharField(trim_whitespace=False, style={"input_type": "password"})

        class Meta:
            ref_name = "TokenCreate"

    class OutputSerializer(serializers.Serializer):
        """The token to send as `Authorization: Token <token>`."""

        token = serializers.CharField()

        class Meta:
            ref_name = "Token"

    def get_permissions(self) -> list[BasePermission]:
        """Anyone may ask for a token; only its holder may revoke it."""
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        operation_id="token_create",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(description="Wrong login or password."),
            403: OpenApiResponse(description="The email address is not confirmed yet."),
            429: OpenApiResponse(
                description="Too many attempts, or this account or address is locked out "
                "after failed sign-ins; see Retry-After."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Your API token (the same one until you revoke it)."""
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=serializer.validated_data["login"].strip().removeprefix("@"),
            password=serializer.validated_data["password"],
        )
        if user is None:
            raise serializers.ValidationError(
                {"detail": "That email or handle and password don't match an account."}
            )
        if selectors.email_unconfirmed(user=user):
            # Mandatory verification holds for every way in, the API's tokens included.
            raise PermissionDenied(
                f"Confirm your email address first: open the link we sent to {user.email} "
                "(signing in on the website sends a new one)."
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response(self.OutputSerializer({"token": token.key}).data)

    @extend_schema(operation_id="token_destroy", request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Revoke your token: it stops working at once."""
        Token.objects.filter(user=cast(User, request.user)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """Your own profile."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class TextInputSerializer(serializers.Serializer):
        """What you may change in JSON or a urlencoded form: the text (no avatar)."""

        display_name = StrictCharField(
            required=False,
            allow_blank=True,
            max_length=50,
            error_messages={"max_length": "A display name can be at most 50 characters."},
        )
        bio = StrictCharField(
            required=False,
            allow_blank=True,
            max_length=300,
            error_messages={"max_length": "A bio can be at most 300 characters."},
        )

        class Meta:
            ref_name = "MeTextUpdate"

    class InputSerializer(TextInputSerializer):
        """What you may change; the avatar only as multipart/form-data."""

        avatar = serializers.ImageField(
            required=False,
            help_text="JPEG, PNG, GIF or WebP, at most AVATAR_MAX_BYTES.",
            error_messages={
                "invalid_image": "That file isn't a picture we can read.",
                "empty": "That picture is empty.",
            },
        )

        class Meta:
            ref_name = "MeUpdate"

        def validate_avatar(self, avatar: UploadedFile) -> UploadedFile:
            """Refuse pictures that are too big or in a format browsers may not show."""
            limit = settings.AVATAR_MAX_BYTES
            if avatar.size is not None and avatar.size > limit:
                raise serializers.ValidationError(
                    f"That picture is too big: the limit is {human_size(limit)}."
                )
            if getattr(avatar, "content_type", None) not in AVATAR_CONTENT_TYPES:
                raise serializers.ValidationError("Use a JPEG, PNG, GIF or WebP picture.")
            return avatar

    class OutputSerializer(serializers.Serializer):
        """Your profile, with what only you see (your email)."""

        handle = serializers.CharField(source="username")
        email = serializers.EmailField()
        display_name = serializers.CharField(source="profile.display_name")
        bio = serializers.CharField(source="profile.bio")
        avatar_url = AvatarUrlField()
        follower_count = serializers.IntegerField(source="profile.follower_count")
        following_count = serializers.IntegerField(source="profile.following_count")
        post_count = serializers.IntegerField(source="profile.post_count")

        class Meta:
            ref_name = "Me"

    def _show(self, request: Request, user: User) -> Response:
        return Response(self.OutputSerializer(user, context={"request": request}).data)

    @extend_schema(operation_id="me_retrieve", responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        """Your profile."""
        return self._show(request, cast(User, request.user))

    @extend_schema(
        operation_id="me_update",
        request={
            "application/json": TextInputSerializer,
            "multipart/form-data": InputSerializer,
            "application/x-www-form-urlencoded": TextInputSerializer,
        },
        responses={200: OutputSerializer, 400: OpenApiResponse(description="Invalid field.")},
    )
    def patch(self, request: Request) -> Response:
        """Change your display name, bio or avatar."""
        changes = changes_of(self.InputSerializer(data=request.data, partial=True))
        user = cast(User, request.user)
        user.profile = services.profile_update(user=user, **changes)
        return self._show(request, user)


class UserDetailApi(APIView):
    """Someone's public profile."""

    class OutputSerializer(serializers.Serializer):
        """A person as their profile shows them."""

        handle = serializers.CharField(source="username")
        display_name = serializers.CharField(source="profile.display_name")
        bio = serializers.CharField(source="profile.bio")
        avatar_url = AvatarUrlField()
        follower_count = serializers.IntegerField(source="profile.follower_count")
        following_count = serializers.IntegerField(source="profile.following_count")
        post_count = serializers.IntegerField(source="profile.post_count")
        is_following = serializers.BooleanField(help_text="Whether the viewer follows them.")
        is_blocking = serializers.BooleanField(help_text="Whether the viewer blocked them.")
        blocked_by = serializers.BooleanField(help_text="Whether they blocked the viewer.")

        class Meta:
            ref_name = "UserProfile"

    @extend_schema(
        operation_id="user_retrieve",
        responses={200: OutputSerializer, 404: OpenApiResponse(description="No such handle.")},
    )
    def get(self, request: Request, handle: str) -> Response:
        """The person with this handle."""
        user = user_or_404(handle)
        viewer = viewer_of(request)
        block = selectors.block_state(user=viewer, other=user)
        user.is_following = selectors.is_following(  # type: ignore[attr-defined]
            follower=viewer, followee=user
        )
        user.is_blocking = block.blocking  # type: ignore[attr-defined]
        user.blocked_by = block.blocked_by  # type: ignore[attr-defined]
        return Response(self.OutputSerializer(user, context={"request": request}).data)


class UserFollowApi(APIView):
    """Follow someone, or stop following them."""

    class OutputSerializer(serializers.Serializer):
        """Whether you follow them now, and their follower count."""

        following = serializers.BooleanField()
        follower_count = serializers.IntegerField()

        class Meta:
            ref_name = "FollowState"

    def _state(self, handle: str, *, following: bool, status_code: int = 200) -> Response:
        user = user_or_404(handle)  # re-read: the counter changed in the database
        data = {"following": following, "follower_count": user.profile.follower_count}
        return Response(self.OutputSerializer(data).data, status=status_code)

    @extend_schema(
        operation_id="user_follow",
        request=None,
        responses={
            200: OpenApiResponse(OutputSerializer, description="Already following."),
            201: OpenApiResponse(OutputSerializer, description="Now following."),
            400: OpenApiResponse(description="You can't follow yourself."),
            403: OpenApiResponse(description="One of you blocked the other."),
            404: OpenApiResponse(description="No such handle."),
        },
    )
    def post(self, request: Request, handle: str) -> Response:
        """Follow this person (following twice changes nothing)."""
        followee = user_or_404(handle)
        follower = cast(User, request.user)
        if followee.pk == follower.pk:
            raise serializers.ValidationError({"detail": "You can't follow yourself."})
        # A block refuses with PermissionDenied and its reason: a 403 (core.api).
        created = services.follow_create(follower=follower, followee=followee)
        return self._state(handle, following=True, status_code=201 if created else 200)

    @extend_schema(
        operation_id="user_unfollow",
        responses={200: OutputSerializer, 404: OpenApiResponse(description="No such handle.")},
    )
    def delete(self, request: Request, handle: str) -> Response:
        """Stop following this person (when you didn't, nothing changes)."""
        followee = user_or_404(handle)
        services.follow_delete(follower=cast(User, request.user), followee=followee)
        return self._state(handle, following=False)


class UserBlockApi(APIView):
    """Block someone, or unblock them."""

    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        """Whether you block them now."""

        blocking = serializers.BooleanField()

        class Meta:
            ref_name = "BlockState"

    @extend_schema(
        operation_id="user_block",
        request=None,
        responses={
            200: OpenApiResponse(OutputSerializer, description="Already blocked."),
            201: OpenApiResponse(OutputSerializer, description="Now blocked; follows ended."),
            400: OpenApiResponse(description="You can't block yourself."),
            404: OpenApiResponse(description="No such handle."),
        },
    )
    def post(self, request: Request, handle: str) -> Response:
        """Block this person: neither of you follows the other or sees the other's clips."""
        blocked = user_or_404(handle)
        if blocked.pk == request.user.pk:
            raise serializers.ValidationError({"detail": "You can't block yourself."})
        created = services.block_create(blocker=cast(User, request.user), blocked=blocked)
        return Response(
            self.OutputSerializer({"blocking": True}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="user_unblock",
        responses={200: OutputSerializer, 404: OpenApiResponse(description="No such handle.")},
    )
    def delete(self, request: Request, handle: str) -> Response:
        """Unblock this person (when you hadn't blocked them, nothing changes)."""
        blocked = user_or_404(handle)
        services.block_delete(blocker=cast(User, request.user), blocked=blocked)
        return Response(self.OutputSerializer({"blocking": False}).data)


class PersonSerializer(serializers.Serializer):
    """A person in a follower or following list."""

    handle = serializers.CharField(source="username")
    display_name = serializers.CharField(source="profile.display_name")
    avatar_url = AvatarUrlField()
    is_following = serializers.BooleanField(help_text="Whether the viewer follows them.")

    class Meta:
        ref_name = "Person"


PersonPageSerializer = page_of(PersonSerializer, "PersonPage")


def people_page(request: Request, people: QuerySet[User]) -> Response:
    """One page of a follow list, newest follow first, with the viewer's follow state."""
    cursor, size = page_params(request)
    # `followed_at` (when the follow was made) orders the list; the user's pk breaks ties.
    users, next_cursor = keyset_page(people, cursor=cursor, size=size, key="followed_at")
    followed = selectors.following_ids(user=viewer_of(request), among=[u.pk for u in users])
    for user in users:
        user.is_following = user.pk in followed  # type: ignore[attr-defined]
    return page_response(request, PersonSerializer, users, next_cursor)


class UserFollowersApi(APIView):
    """The people who follow someone."""

    @extend_schema(
        operation_id="user_followers",
        parameters=PAGE_PARAMETERS,
        responses={200: PersonPageSerializer, 404: OpenApiResponse(description="No such handle.")},
    )
    def get(self, request: Request, handle: str) -> Response:
        """One page of followers, most recent first."""
        user = user_or_404(handle)
        people = selectors.followers_of(user=user).annotate(followed_at=F("following_set__created"))
        return people_page(request, people)


class UserFollowingApi(APIView):
    """The people someone follows."""

    @extend_schema(
        operation_id="user_following",
        parameters=PAGE_PARAMETERS,
        responses={200: PersonPageSerializer, 404: OpenApiResponse(description="No such handle.")},
    )
    def get(self, request: Request, handle: str) -> Response:
        """One page of the people they follow, most recent first."""
        user = user_or_404(handle)
        people = selectors.followed_by(user=user).annotate(followed_at=F("follower_set__created"))
        return people_page(request, people)


class MeExportApi(APIView):
    """Your data: profile, follows, blocks, and what each part of Riff holds of yours."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={200: OpenApiResponse(description="Your data as one JSON document.")},
        operation_id="me_export",
    )
    def get(self, request: Request) -> Response:
        """Download your data (media URLs in it expire like any signed URL)."""
        response = Response(account_export(user=cast(User, request.user)))
        response["Cache-Control"] = "private, no-store"
        return response
