"""Forms for sign-up and profile editing."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest

from .models import Profile, User
from .services import invite_check, invite_redeem


class SignupForm(AllauthSignupForm):
    """allauth's sign-up, with an invite code when the instance is invite-only."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Handle"
        self.fields[
            "username"
        ].help_text = "Your @handle: 3 to 30 lowercase letters, digits or underscores."
        if settings.INVITE_ONLY:
            self.fields["invite_code"] = forms.CharField(
                max_length=40,
                label="Invite code",
                help_text="Riff is invite-only here: ask someone who is on it for a code.",
            )

    def clean_invite_code(self) -> str:
        """The code must exist, be unexpired and have uses left."""
        code = self.cleaned_data["invite_code"].strip()
        invite_check(code=code)
        return code

    def save(self, request: HttpRequest) -> User:
        """Create the user and, when invite-only, use up one use of the code."""
        with transaction.atomic():
            user = super().save(request)
            if settings.INVITE_ONLY:
                invite_redeem(code=self.cleaned_data["invite_code"], user=user)
        return user


class ProfileForm(forms.ModelForm):
    """What a person can change about their profile."""

    class Meta:
        model = Profile
        fields = ["display_name", "bio", "avatar"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 3})}

    def clean_avatar(self) -> Any:
        """Refuse avatars that are too big to be a profile picture."""
        avatar = self.cleaned_data.get("avatar")
        if avatar and getattr(avatar, "size", 0) > settings.AVATAR_MAX_BYTES:
            raise ValidationError("Avatars must be 2 MB or smaller.")
        return avatar
