"""Admin for people, follows, blocks and invite codes."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .models import Block, Follow, InviteCode, Profile, User


class ProfileInline(admin.StackedInline):
    """The profile, edited on the user's page."""

    model = Profile
    can_delete = False
    readonly_fields = ("follower_count", "following_count", "post_count")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users, with their profile inline."""

    inlines = (ProfileInline,)
    list_display = ("username", "email", "display_name", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined")
    search_fields = ("username", "email", "profile__display_name")
    ordering = ("-date_joined",)
    list_select_related = ("profile",)
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Sign-up", {"fields": ("invite",)}))
    raw_id_fields = ("invite",)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Save, remembering the roles the person had (the groups are saved after this)."""
        # On the form, not the admin: one admin object serves every request at once.
        form.roles_before = services.user_roles(user=obj) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Save the groups too, then announce any change of roles (the audit log keeps it)."""
        super().save_related(request, form, formsets, change)
        services.user_roles_changed(
            user=form.instance,
            by=request.user,  # type: ignore[arg-type]
            before=getattr(form, "roles_before", {}),
        )

    @admin.display(description="Display name")
    def display_name(self, obj: User) -> str:
        """The profile's display name."""
        return obj.profile.display_name


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    """Profiles and their counters."""

    list_display = ("user", "display_name", "follower_count", "following_count", "post_count")
    search_fields = ("user__username", "display_name", "bio")
    list_select_related = ("user",)
    readonly_fields = ("follower_count", "following_count", "post_count")
    raw_id_fields = ("user",)


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    """Who follows whom."""

    list_display = ("follower", "followee", "created")
    search_fields = ("follower__username", "followee__username")
    list_filter = ("created",)
    list_select_related = ("follower", "followee")
    raw_id_fields = ("follower", "followee")
    date_hierarchy = "created"


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    """Who blocked whom."""

    list_display = ("blocker", "blocked", "created")
    search_fields = ("blocker__username", "blocked__username")
    list_filter = ("created",)
    list_select_related = ("blocker", "blocked")
    raw_id_fields = ("blocker", "blocked")
    date_hierarchy = "created"


@admin.register(InviteCode)
class InviteCodeAdmin(admin.ModelAdmin):
    """Invite codes for invite-only sign-up."""

    list_display = ("code", "note", "uses", "max_uses", "expires_at", "usable", "created_by")
    search_fields = ("code", "note")
    list_filter = ("expires_at", "created")
    readonly_fields = ("uses", "created_by", "created")
    list_select_related = ("created_by",)

    @admin.display(boolean=True, description="Usable")
    def usable(self, obj: InviteCode) -> bool:
        """Whether the code can be used now."""
        return obj.problem() is None

    def save_model(self, request: HttpRequest, obj: InviteCode, form: object, change: bool) -> None:
        """Record which admin made the code."""
        if not change and obj.created_by_id is None:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def get_queryset(self, request: HttpRequest) -> QuerySet[InviteCode]:
        """Newest codes first."""
        return super().get_queryset(request).order_by("-created")
