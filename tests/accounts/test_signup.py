"""Sign-up through allauth's real views: handles, invite-only mode, rate limits."""

import pytest
from django.urls import reverse

from accounts.models import InviteCode, User

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"


def form(**extra):
    data = {"email": "dana@example.com", "username": "dana", "password1": "a-long-pass-phrase"}
    data.update(extra)
    return data


def test_signup_signs_in_and_lands_on_the_feed(client):
    response = client.post(SIGNUP, form())
    assert response.status_code == 302
    assert response.url == reverse("feed:for_you")
    user = User.objects.get(username="dana")
    assert user.profile is not None
    assert client.get(reverse("accounts:profile_edit")).status_code == 200


def test_handle_rules_are_explained(client):
    response = client.post(SIGNUP, form(username="no spaces!"))
    assert response.status_code == 200
    assert "lowercase letters, digits and underscores" in response.content.decode()
    assert not User.objects.exists()


def test_handles_are_unique_ignoring_case(client):
    User.objects.create_user(username="dana", email="first@example.com", password="x-y-z-123")
    response = client.post(SIGNUP, form(username="DANA"))
    assert response.status_code == 200
    assert User.objects.count() == 1


def test_invite_only_requires_a_valid_code(client, settings):
    settings.INVITE_ONLY = True
    response = client.post(SIGNUP, form())
    assert response.status_code == 200
    assert "invite_code" in response.context["form"].errors
    assert not User.objects.exists()

    response = client.post(SIGNUP, form(invite_code="wrong"))
    assert response.context["form"].errors["invite_code"] == ["That invite code doesn't exist."]
    assert not User.objects.exists()

    invite = InviteCode.objects.create(code="welcome", max_uses=1)
    response = client.post(SIGNUP, form(invite_code="welcome"))
    assert response.status_code == 302
    invite.refresh_from_db()
    assert invite.uses == 1
    assert User.objects.get(username="dana").invite == invite


def test_signup_is_rate_limited(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}
    statuses = []
    for n in range(3):
        client.logout()
        response = client.post(SIGNUP, form(email=f"p{n}@example.com", username=f"person{n}"))
        statuses.append(response.status_code)
    assert statuses == [302, 302, 429]
    assert User.objects.count() == 2


def test_failed_logins_are_rate_limited(client, user, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/m/ip"}
    pages = [
        client.post("/accounts/login/", {"login": "alice", "password": "wrong"}).content.decode()
        for _ in range(4)
    ]
    assert "Too many failed login attempts" not in pages[0]
    assert "Too many failed login attempts" in pages[-1]
    # Even the right password is refused while the limit holds.
    right = client.post("/accounts/login/", {"login": "alice", "password": "pass-word-123"})
    assert right.status_code == 200
    assert "_auth_user_id" not in client.session


def test_mandatory_verification_holds_sign_in_until_the_email_is_confirmed(
    client, settings, mailoutbox
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    response = client.post(SIGNUP, form())
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert len(mailoutbox) == 1
    link = next(word for word in mailoutbox[0].body.split() if "/accounts/confirm-email/" in word)
    path = link[link.index("/accounts/") :]
    client.post(path)
    assert User.objects.get(username="dana").emailaddress_set.get().verified


def test_password_reset_sends_a_working_link(client, user, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = next(word for word in mailoutbox[0].body.split() if "/password/reset/key/" in word)
    path = link[link.index("/accounts/") :]
    page = client.get(path, follow=True)
    form_url = page.redirect_chain[-1][0] if page.redirect_chain else path
    done = client.post(
        form_url, {"password1": "a-brand-new-pass-9", "password2": "a-brand-new-pass-9"}
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-brand-new-pass-9")
