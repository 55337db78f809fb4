"""Moderation records that tell the truth: every report reason has a rule, a decision cites
one that fits the reports (or says why not), statements link to the appeal, an overturned
decision's notice says so, a person sees their appeals, and a label screens the clip."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from feed.models import Post
from moderation import services
from moderation.models import Appeal, Case, Decision, Notice, PolicyCategory, Report
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def _category(slug: str) -> PolicyCategory:
    return PolicyCategory.objects.get(slug=slug)


def _spam_case(post: Post) -> Case:
    services.report_create(reporter=UserFactory(), reason=Report.Reason.SPAM, post=post)
    return Case.objects.get(post=post)


def test_every_report_reason_has_an_active_seeded_category() -> None:
    answered = {
        reason
        for category in PolicyCategory.objects.filter(active=True)
        for reason in category.report_reasons
    }
    missing = set(Report.Reason.values) - {Report.Reason.OTHER} - answered
    assert missing == set()
    assert _category("spam").report_reasons == ["spam"]
    assert "likeness" in _category("public-figures").report_reasons


def test_a_spam_report_leads_to_a_decision_citing_the_spam_rule(
    client: Client, post: Post, moderator: User
) -> None:
    case = _spam_case(post)
    client.force_login(moderator)
    page = client.get(f"/moderation/cases/{case.pk}/").content.decode()
    spam = _category("spam")
    selected = re.search(r'<option value="(\d+)" selected>', page)
    assert selected and int(selected.group(1)) == spam.pk, "the spam rule is suggested"

    # Citing a rule the reports don't point at, without saying why, is refused.
    figures = _category("public-figures")
    form = {"action": "remove", "category": figures.pk, "facts": "Link farm in the caption."}
    refused = client.post(f"/moderation/cases/{case.pk}/", form)
    assert refused.status_code == 400
    assert "The reports say “Spam”, which “Real public figures” doesn't cover" in (
        refused.content.decode().replace("&#x27;", "'")
    )
    assert not Decision.objects.exists()

    done = client.post(f"/moderation/cases/{case.pk}/", {**form, "category": spam.pk})
    assert done.status_code == 302
    decision = Decision.objects.get(case=case)
    assert decision.category == spam
    notice = Notice.objects.get(decision=decision)
    assert "Spam: Riff doesn't allow repetitive" in notice.body
    assert "Real public figures" not in notice.body


def test_another_rule_with_a_reason_is_cited_and_the_reason_sent(
    post: Post, moderator: User
) -> None:
    case = _spam_case(post)
    decision = services.decision_make(
        case=case,
        moderator=moderator,
        action=Decision.Action.REMOVE,
        category=_category("hate"),
        facts="Slurs in the caption.",
        category_note="The caption is an attack on a group, not advertising.",
    )
    assert decision.category_note.startswith("The caption is an attack")
    body = Notice.objects.get(decision=decision).body
    assert "Why this rule: The caption is an attack on a group, not advertising." in body


def test_the_api_refuses_an_unfitting_rule_without_a_reason(post: Post, moderator: User) -> None:
    case = _spam_case(post)
    api = token_client(moderator)
    url = f"/api/v1/moderation/cases/{case.pk}/decision/"
    body = {"action": "remove", "category": "public-figures", "facts": "x"}
    refused = api.post(url, body, format="json")
    assert refused.status_code == 400 and "doesn't cover" in refused.json()["detail"]
    accepted = api.post(url, {**body, "category_note": "A deepfake of a minister."}, format="json")
    assert accepted.status_code == 201


def test_an_overturned_appeal_updates_the_notice_and_the_appeals_list(
    client: Client, user: User, post: Post, moderator: User, second_moderator: User
) -> None:
    case = _spam_case(post)
    decision = services.decision_make(
        case=case,
        moderator=moderator,
        action=Decision.Action.REMOVE,
        category=_category("spam"),
        facts="Link farm.",
    )
    client.force_login(user)
    notices = client.get("/notices/").content.decode()
    appeal_url = f"{settings.SITE_URL}/appeals/decision/{decision.pk}/"
    assert f'<a href="{appeal_url}"' in notices, "the statement's appeal address is a link"

    sent = client.post(f"/appeals/decision/{decision.pk}/", {"text": "It's my art shop."})
    assert sent.status_code == 302 and sent["Location"] == "/appeals/"
    mine = client.get("/appeals/").content.decode()
    assert 'data-status="pending"' in mine and "Waiting for a moderator" in mine
    assert "It&#x27;s my art shop." in mine
    assert token_client(user).get("/api/v1/appeals/").json()[0]["status"] == "pending"

    appeal = Appeal.objects.get()
    services.appeal_decide(
        appeal=appeal, moderator=second_moderator, overturn=True, reply="Fair enough."
    )
    notices = client.get("/notices/").content.decode()
    assert notices.count('data-testid="notice-overturned"') == 1
    assert "Overturned on" in notices and "the strike is void" in notices
    assert "Appeal this decision" not in notices
    outcome = Notice.objects.get(appeal=appeal)
    assert "Your appeals: " in outcome.body and outcome.body.endswith("/appeals/")
    mine = client.get("/appeals/").content.decode()
    assert 'data-status="overturned"' in mine and "Fair enough." in mine


def test_a_label_screens_the_clip_until_tapped(client: Client, post: Post, moderator) -> None:
    services.report_create(reporter=UserFactory(), reason=Report.Reason.VIOLENCE, post=post)
    services.decision_make(
        case=Case.objects.get(post=post),
        moderator=moderator,
        action=Decision.Action.LABEL,
        category=_category("graphic-violence"),
        label="Graphic injury",
        facts="A wound is shown close up.",
    )
    post.refresh_from_db()
    assert (post.content_label, post.content_label_rule) == (
        "Graphic injury",
        "Graphic violence and gore",
    )
    page = client.get(post.get_absolute_url()).content.decode()
    assert 'data-testid="label-screen"' in page and "⚠ Graphic injury" in page
    assert "under the rule “Graphic violence and gore”" in page
    video = re.search(r"<video class=\"post-video\"[^>]*>", page, re.S)
    assert video and "autoplay" not in video.group(0)
    unlabelled = client.get(PostFactory().get_absolute_url()).content.decode()
    assert "label-screen" not in unlabelled and "autoplay" in unlabelled
