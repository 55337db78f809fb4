"""Moderation pages and API over HTTP: who may open what, reporting, deciding, appealing."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site
from django.test import Client
from django.urls import reverse

from accounts.models import User
from feed.models import Post
from moderation import services
from moderation.models import (
    Appeal,
    AuditEntry,
    Case,
    Decision,
    Notice,
    PolicyCategory,
    PromptRefusal,
    Report,
)
from tests.clients import token_client
from tests.factories import UserFactory

from .conftest import decide_on_report

pytestmark = pytest.mark.django_db


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def decided(post: Post, moderator: User, violence: PolicyCategory) -> Decision:
    """A removal of alice's post by mod_maya."""
    return decide_on_report(post, moderator, violence)


def test_a_non_moderator_gets_403_on_every_moderation_page_and_api(
    decided: Decision, other_user: User, user: User
) -> None:
    appeal = services.appeal_create(appellant=user, decision=decided, text="please")
    pages = [
        reverse("moderation:queue"),
        reverse("moderation:case", args=[decided.case_id]),
        reverse("moderation:appeals"),
        reverse("moderation:appeal", args=[appeal.pk]),
    ]
    apis = [
        ("get", reverse("api:case-list")),
        ("get", reverse("api:case-detail", args=[decided.case_id])),
        ("post", reverse("api:case-decide", args=[decided.case_id])),
        ("get", reverse("api:appeal-list")),
        ("post", reverse("api:appeal-decide", args=[appeal.pk])),
    ]
    client = _client(other_user)
    for url in pages:
        assert client.get(url).status_code == 403, url
    for url in pages[1::2]:  # the case and appeal pages take decisions
        assert client.post(url, {"action": "dismiss", "facts": "x"}).status_code == 403, url
    api = token_client(other_user)
    for method, url in apis:
        response = getattr(api, method)(url, {"overturn": True, "action": "dismiss", "facts": "x"})
        assert response.status_code == 403, url
        assert response.json()["detail"] == "Only moderators can use this."
    # Signed out: pages send you to log in, the API says who you are not.
    assert _client(None).get(pages[0]).status_code == 302
    assert _client(None).get(apis[0][1]).status_code in (401, 403)
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.PENDING
    assert Decision.objects.count() == 1


def test_report_a_post_from_its_page(post: Post, other_user: User) -> None:
    client = _client(other_user)
    url = reverse("moderation:report", args=["post", post.pk])
    assert "Report" in client.get(post.get_absolute_url()).content.decode()
    assert client.post(url, {"note": "no reason"}).status_code == 400
    response = client.post(url, {"reason": "violence", "note": "blood everywhere"})
    assert response.status_code == 302
    report = Report.objects.get()
    assert (report.reason, report.note, report.case.post_id) == (
        "violence",
        "blood everywhere",
        post.pk,
    )
    again = client.post(url, {"reason": "violence"})
    assert again.status_code == 400 and "already reported" in again.content.decode()
    assert client.get(reverse("moderation:report", args=["post", 999999])).status_code == 404
    assert client.get(reverse("moderation:report", args=["thing", post.pk])).status_code == 404


def test_report_a_comment_and_an_account_by_api(post: Post, user: User, other_user: User) -> None:
    from feed.services import comment_create

    comment = comment_create(author=user, post=post, body="rude")
    api = token_client(other_user)
    assert (
        api.post(
            reverse("api:report-create"), {"comment": comment.pk, "reason": "harassment"}
        ).status_code
        == 201
    )
    assert (
        api.post(reverse("api:report-create"), {"account": "alice", "reason": "spam"}).status_code
        == 201
    )
    both = api.post(
        reverse("api:report-create"), {"account": "alice", "post": post.pk, "reason": "spam"}
    )
    assert both.status_code == 400
    assert (
        api.post(reverse("api:report-create"), {"post": post.pk, "reason": "nope"}).status_code
        == 400
    )
    assert (
        api.post(reverse("api:report-create"), {"account": "nobody", "reason": "spam"}).status_code
        == 404
    )
    assert set(Case.objects.values_list("comment_id", "account_id")) == {
        (comment.pk, None),
        (None, user.pk),
    }


def test_a_moderator_decides_from_the_case_page_and_a_second_decision_is_refused(
    post: Post, user: User, moderator: User, second_moderator: User, violence: PolicyCategory
) -> None:
    services.report_create(reporter=UserFactory(), reason=Report.Reason.VIOLENCE, post=post)
    case = Case.objects.get(post=post)
    page = _client(moderator).get(reverse("moderation:case", args=[case.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    for part in (post.prompt, "@alice", "Violence or gore", "live strike"):
        assert part in html
    form = {"action": "remove", "category": violence.pk, "facts": "Graphic injury."}
    assert (
        _client(moderator).post(reverse("moderation:case", args=[case.pk]), form).status_code == 302
    )
    again = _client(second_moderator).post(
        reverse("moderation:case", args=[case.pk]), {**form, "action": "dismiss"}
    )
    assert again.status_code == 409
    assert "already decided by @mod_maya" in again.content.decode()
    api_again = token_client(second_moderator).post(
        reverse("api:case-decide", args=[case.pk]), {"action": "dismiss", "facts": "x"}
    )
    assert api_again.status_code == 409
    assert Post.objects.get(pk=post.pk).standing == Post.Standing.REMOVED


def test_the_owner_reads_the_statement_and_appeals_and_another_moderator_decides(
    decided: Decision, user: User, moderator: User, second_moderator: User, post: Post
) -> None:
    owner = _client(user)
    own_post = owner.get(post.get_absolute_url()).content.decode()
    assert "Removed by moderation" in own_post
    assert _client(UserFactory()).get(post.get_absolute_url()).status_code == 404
    page = owner.get(reverse("moderation:notices")).content.decode()
    assert "Your post was removed" in page and "Graphic injury." in page
    assert Notice.objects.get(recipient=user).read is not None
    response = owner.post(
        reverse("moderation:decision_appeal", args=[decided.pk]), {"text": "fake blood"}
    )
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    refused = _client(moderator).post(
        reverse("moderation:appeal", args=[appeal.pk]), {"outcome": "overturn"}
    )
    assert refused.status_code == 403
    assert "different moderator" in refused.content.decode()
    api_refused = token_client(moderator).post(
        reverse("api:appeal-decide", args=[appeal.pk]), {"overturn": True}
    )
    assert api_refused.status_code == 403
    ok = _client(second_moderator).post(
        reverse("moderation:appeal", args=[appeal.pk]), {"outcome": "overturn"}
    )
    assert ok.status_code == 302
    assert Post.objects.get(pk=post.pk).standing == Post.Standing.OK


def test_a_prompt_refusal_can_be_appealed_and_overturned(
    user: User, moderator: User, violence: PolicyCategory
) -> None:
    refusal = PromptRefusal.objects.create(
        user=user, prompt="a boxing match", rule="term “fight”", category=violence
    )
    client = _client(user)
    url = reverse("moderation:refusal_appeal", args=[refusal.pk])
    assert "a boxing match" in client.get(url).content.decode()
    assert _client(UserFactory()).get(url).status_code == 404
    assert client.post(url, {"text": "It's sport."}).status_code == 302
    appeal = Appeal.objects.get(refusal=refusal)
    services.appeal_decide(appeal=appeal, moderator=moderator, overturn=True, reply="Fine.")
    assert PromptRefusal.objects.get(pk=refusal.pk).allowed_at is not None


def test_the_audit_log_cannot_be_edited_through_the_admin(decided: Decision) -> None:
    admin_user = User.objects.create_superuser("root", "root@example.com", "pass-word-123")
    client = _client(admin_user)
    entry = AuditEntry.objects.get(action="decide:remove")
    change = reverse("admin:moderation_auditentry_change", args=[entry.pk])
    page = client.get(change)
    assert page.status_code == 200 and 'name="action"' not in page.content.decode()  # read only
    assert (
        client.post(change, {"action": "nothing", "target": "x", "actor_name": "x"}).status_code
        == 403
    )
    assert client.get(reverse("admin:moderation_auditentry_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:moderation_auditentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    bulk = client.post(
        reverse("admin:moderation_auditentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk]},
    )
    assert bulk.status_code in (200, 302)
    assert AuditEntry.objects.get(pk=entry.pk).action == "decide:remove"
    model_admin = site._registry[AuditEntry]
    assert not model_admin.has_change_permission(page.wsgi_request, entry)


def test_the_transparency_page_is_public(decided: Decision) -> None:
    html = _client(None).get(reverse("moderation:transparency")).content.decode()
    assert "Graphic violence" in html and "Remove" in html


def test_the_moderator_command_grants_review_and_policy_editing(other_user: User) -> None:
    from io import StringIO

    from django.core.management import call_command

    call_command("moderator", "@bob", stdout=StringIO())
    bob = User.objects.get(pk=other_user.pk)
    assert bob.is_staff and bob.has_perm("moderation.review_case")
    assert bob.has_perm("moderation.change_policyrule")
    assert not bob.has_perm("moderation.change_auditentry")
    assert _client(bob).get(reverse("moderation:queue")).status_code == 200
    assert _client(bob).get(reverse("admin:moderation_policyrule_add")).status_code == 200
    call_command("moderator", "bob", "--remove", stdout=StringIO())
    bob = User.objects.get(pk=other_user.pk)
    assert not bob.is_staff and not bob.has_perm("moderation.review_case")
    assert list(AuditEntry.objects.values_list("action", flat=True).order_by("pk")) == [
        "moderator:add",
        "moderator:remove",
    ]
