"""Conflicts of interest: a moderator never decides a case about their own post, comment or
account, their own appeal, or an appeal of their own refused prompt, on the pages, the API or
the services; the conflict reviewers the admin names decide them, and refusals are audited."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from feed.models import Post
from feed.services import comment_create
from generation import services as generation_services
from generation.models import GenerationJob
from moderation import services
from moderation.models import (
    Appeal,
    AuditEntry,
    Case,
    Decision,
    ModerationSettings,
    PolicyCategory,
    PromptRefusal,
    Report,
)
from moderation.policy import prompt_verdict
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

from .conftest import decide_on_report, make_moderator

pytestmark = pytest.mark.django_db

OBAMA = "Barack Obama dancing on the beach"
PARAMS = {"model_key": "tiny-wan", "aspect": "9:16", "duration_s": 1.0, "steps": 4}
DISMISS = {"action": "dismiss", "facts": "Nothing wrong here."}


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _refusals(moderator: User) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="conflict:refuse", actor=moderator))


@pytest.fixture
def rita(db: None) -> User:
    """A third moderator."""
    return make_moderator("mod_rita")


@pytest.fixture
def own_case(moderator: User) -> Case:
    """Someone reports mod_maya's own clip."""
    post = PostFactory(owner=moderator, caption="my own clip")
    services.report_create(
        reporter=UserFactory(username="snitch"), reason=Report.Reason.SPAM, post=post
    )
    return Case.objects.get(post=post)


def test_a_moderator_cannot_dismiss_the_case_about_their_own_post(
    own_case: Case, moderator: User
) -> None:
    with pytest.raises(services.ModerationConflict, match="your own post") as refused:
        services.decision_make(
            case=own_case, moderator=moderator, action=Decision.Action.DISMISS, facts="fine"
        )
    assert refused.value.hidden
    assert Case.objects.get(pk=own_case.pk).status == Case.Status.OPEN
    assert not Decision.objects.exists()
    [entry] = _refusals(moderator)
    assert entry.target == f"post {own_case.post_id}"
    assert entry.details["attempted"] == "decide:dismiss"


@pytest.mark.parametrize("kind", ["comment", "account"])
def test_nor_the_case_about_their_own_comment_or_account(
    kind: str, moderator: User, post: Post
) -> None:
    target = comment_create(author=moderator, post=post, body="hi") if kind == "comment" else None
    services.report_create(
        reporter=UserFactory(),
        reason=Report.Reason.HARASSMENT,
        **{kind: target or moderator},  # type: ignore[arg-type]
    )
    case = Case.objects.get(**{kind: target or moderator})
    with pytest.raises(services.ModerationConflict, match=f"your own {kind}"):
        services.decision_make(
            case=case, moderator=moderator, action=Decision.Action.DISMISS, facts="fine"
        )
    assert Case.objects.get(pk=case.pk).status == Case.Status.OPEN


def test_the_own_case_is_kept_from_them_on_the_pages_and_api_and_another_decides(
    own_case: Case, moderator: User, second_moderator: User
) -> None:
    page, api = _client(moderator), token_client(moderator)
    case_page = reverse("moderation:case", args=[own_case.pk])
    assert page.get(case_page).status_code == 404
    assert page.post(case_page, DISMISS).status_code == 404
    assert api.get(reverse("api:case-detail", args=[own_case.pk])).status_code == 404
    assert api.post(reverse("api:case-decide", args=[own_case.pk]), DISMISS).status_code == 404
    assert own_case.pk not in [c["id"] for c in api.get(reverse("api:case-list")).json()]
    queue = page.get(reverse("moderation:queue")).content.decode()
    assert "snitch" not in queue and 'data-testid="case-row"' not in queue
    assert "1 open case about your own content is kept from you" in queue
    assert "Another moderator decides it (1 can)." in queue
    assert Case.objects.get(pk=own_case.pk).status == Case.Status.OPEN
    assert len(_refusals(moderator)) == 2  # the page's POST and the API's

    other = token_client(second_moderator)
    [listed] = other.get(reverse("api:case-list")).json()
    assert (listed["id"], listed["conflict"]) == (own_case.pk, None)
    decided = other.post(reverse("api:case-decide", args=[own_case.pk]), DISMISS)
    assert decided.status_code == 201
    assert Decision.objects.get(case=own_case).moderator == second_moderator


def test_a_moderator_cannot_decide_their_own_appeal(
    moderator: User, second_moderator: User, rita: User, violence: PolicyCategory
) -> None:
    post = PostFactory(owner=moderator)
    decision = decide_on_report(post, second_moderator, violence)  # omar removes maya's clip
    appeal = services.appeal_create(appellant=moderator, decision=decision, text="It's fine.")
    with pytest.raises(services.ModerationConflict, match="your own appeal"):
        services.appeal_decide(appeal=appeal, moderator=moderator, overturn=True, reply="")
    url = reverse("moderation:appeal", args=[appeal.pk])
    page = _client(moderator).post(url, {"outcome": "overturn"})
    assert page.status_code == 403 and "This is your own appeal" in page.content.decode()
    api = token_client(moderator).post(
        reverse("api:appeal-decide", args=[appeal.pk]), {"overturn": True}
    )
    assert api.status_code == 403 and "your own appeal" in api.json()["detail"]
    assert Post.objects.get(pk=post.pk).standing == Post.Standing.REMOVED
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.PENDING
    assert {e.target for e in _refusals(moderator)} == {f"appeal {appeal.pk}"}
    assert len(_refusals(moderator)) == 3
    # Their list marks it; its page says who decides instead of offering the form.
    [row] = token_client(moderator).get(reverse("api:appeal-list")).json()
    assert "your own appeal" in row["conflict"]
    shown = _client(moderator).get(url).content.decode()
    assert "Decide the appeal" not in shown and "Another moderator decides it (1 can)." in shown
    # Omar made the decision, so rita decides it.
    assert _client(rita).post(url, {"outcome": "overturn"}).status_code == 302
    assert Post.objects.get(pk=post.pk).standing == Post.Standing.OK


def test_a_moderator_cannot_overturn_the_refusal_of_their_own_prompt(
    moderator: User, second_moderator: User
) -> None:
    refused = prompt_verdict(user=moderator, prompt=OBAMA)
    assert not refused.allowed and "Barack Obama" in refused.rule
    maya = _client(moderator)
    appeal_page = reverse("moderation:refusal_appeal", args=[refused.refusal_id])
    assert maya.post(appeal_page, {"text": "It's satire."}).status_code == 302
    appeal = Appeal.objects.get(refusal_id=refused.refusal_id)

    with pytest.raises(services.ModerationConflict, match="your own refused prompt"):
        services.appeal_decide(appeal=appeal, moderator=moderator, overturn=True, reply="")
    page = maya.post(reverse("moderation:appeal", args=[appeal.pk]), {"outcome": "overturn"})
    assert page.status_code == 403 and "your own refused prompt" in page.content.decode()
    api = token_client(moderator).post(
        reverse("api:appeal-decide", args=[appeal.pk]), {"overturn": True}
    )
    assert api.status_code == 403

    assert PromptRefusal.objects.get(pk=refused.refusal_id).allowed_at is None
    with pytest.raises(generation_services.GenerationRefused):
        generation_services.generation_job_create(owner=moderator, prompt=OBAMA, params=PARAMS)
    assert not GenerationJob.objects.exists()
    # Another moderator decides it: upheld, the prompt stays refused.
    services.appeal_decide(appeal=appeal, moderator=second_moderator, overturn=False, reply="")
    assert not prompt_verdict(user=moderator, prompt=OBAMA).allowed


def test_the_conflict_reviewers_the_admin_names_decide_a_moderators_own_case(
    own_case: Case, moderator: User, second_moderator: User, rita: User, post: Post
) -> None:
    ModerationSettings.current().conflict_reviewers.set([rita])
    services.report_create(reporter=UserFactory(), reason=Report.Reason.SPAM, post=post)
    alices = Case.objects.get(post=post)
    omar, omar_page = token_client(second_moderator), _client(second_moderator)
    listed = {c["id"]: c["conflict"] for c in omar.get(reverse("api:case-list")).json()}
    assert "@mod_rita" in listed[own_case.pk] and listed[alices.pk] is None
    queue = omar_page.get(reverse("moderation:queue")).content.decode()
    assert queue.count('data-testid="not-yours"') == 1

    refused = omar.post(reverse("api:case-decide", args=[own_case.pk]), DISMISS)
    assert refused.status_code == 403 and "conflict reviewer" in refused.json()["detail"]
    case_page = reverse("moderation:case", args=[own_case.pk])
    on_page = omar_page.post(case_page, DISMISS)
    assert on_page.status_code == 403 and "@mod_rita" in on_page.content.decode()
    shown = omar_page.get(case_page).content.decode()
    assert "Not yours to decide" in shown and 'class="card decision-form"' not in shown
    assert len(_refusals(second_moderator)) == 2
    assert _client(moderator).get(case_page).status_code == 404  # still never its subject

    # Omar decides other people's cases as before; rita decides maya's.
    assert omar.post(reverse("api:case-decide", args=[alices.pk]), DISMISS).status_code == 201
    assert _client(rita).post(case_page, DISMISS).status_code == 302
    assert Decision.objects.get(case=own_case).moderator == rita


def test_a_named_reviewer_never_decides_their_own_case_another_moderator_does(
    own_case: Case, moderator: User, second_moderator: User
) -> None:
    ModerationSettings.current().conflict_reviewers.set([moderator])
    with pytest.raises(services.ModerationConflict):
        services.decision_make(
            case=own_case, moderator=moderator, action=Decision.Action.DISMISS, facts="fine"
        )
    decided = token_client(second_moderator).post(
        reverse("api:case-decide", args=[own_case.pk]), DISMISS
    )
    assert decided.status_code == 201


def test_when_the_conflicted_moderator_is_the_only_one_the_matter_waits_and_says_so(
    own_case: Case, moderator: User
) -> None:
    queue = _client(moderator).get(reverse("moderation:queue")).content.decode()
    assert "It waits: no other moderator can decide it." in queue
    refused = prompt_verdict(user=moderator, prompt=OBAMA)
    refusal = PromptRefusal.objects.get(pk=refused.refusal_id)
    appeal = services.appeal_create(appellant=moderator, refusal=refusal, text="satire")
    page = _client(moderator).get(reverse("moderation:appeal", args=[appeal.pk]))
    assert "It waits: no other moderator can decide it." in page.content.decode()


def test_the_admin_names_conflict_reviewers_and_only_moderators_qualify(
    rita: User, other_user: User
) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "pass-word-123")
    client = _client(root)
    rules = ModerationSettings.current()
    url = reverse("admin:moderation_moderationsettings_change", args=[rules.pk])
    form = {
        "suspend_after_strikes": 3,
        "strike_days": 90,
        "hash_distance": 31,
        "hash_share": 0.8,
    }
    refused = client.post(url, {**form, "conflict_reviewers": [other_user.pk]})
    assert refused.status_code == 200 and "Not a moderator: @bob" in refused.content.decode()
    assert client.post(url, {**form, "conflict_reviewers": [rita.pk]}).status_code == 302
    assert list(rules.conflict_reviewers.all()) == [rita]
    entry = AuditEntry.objects.get(action="policy:change", actor=root)
    assert entry.details["fields"] == ["conflict_reviewers"]


def test_the_admin_does_not_show_a_moderator_the_reports_on_themselves(moderator: User) -> None:
    moderator.is_staff = True
    moderator.save(update_fields=["is_staff"])
    post = PostFactory(owner=moderator)
    services.report_create(reporter=UserFactory(), reason=Report.Reason.SPAM, post=post)
    others = PostFactory()
    services.report_create(reporter=UserFactory(), reason=Report.Reason.SPAM, post=others)
    listing = _client(moderator).get(reverse("admin:moderation_case_changelist"))
    assert listing.status_code == 200
    shown = listing.context["cl"].result_list
    assert [c.post_id for c in shown] == [others.pk]
