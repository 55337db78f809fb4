"""Reports, the review queue, decisions, strikes, appeals and the audit log, through services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import DatabaseError, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from feed import selectors as feed_selectors
from feed import services as feed_services
from feed.models import Comment, Post
from feed.services import comment_create
from moderation import selectors, services
from moderation.models import (
    Appeal,
    AuditEntry,
    Case,
    Decision,
    HashBankEntry,
    ModerationSettings,
    Notice,
    PolicyCategory,
    Report,
    Severity,
    Strike,
)
from ranking.models import EngagementEvent
from tests.factories import PostFactory, UserFactory

from .conftest import decide_on_report

pytestmark = pytest.mark.django_db


def _report(post: Post, reason: str = Report.Reason.VIOLENCE, **kwargs: object) -> Report:
    reporter = kwargs.pop("reporter", None) or UserFactory()
    return services.report_create(reporter=reporter, reason=reason, post=post, **kwargs)  # type: ignore[arg-type]


def test_reports_on_one_post_join_one_case_that_takes_the_worst_severity(post: Post) -> None:
    _report(post, Report.Reason.SPAM, note="buy followers link")
    _report(post, Report.Reason.SELF_HARM)
    case = Case.objects.get(post=post)
    assert case.report_count == 2
    assert case.severity == Severity.CRITICAL
    assert EngagementEvent.objects.filter(post=post, kind=EngagementEvent.Kind.REPORT).count() == 2
    assert [r.note for r in case.reports.order_by("pk")] == ["buy followers link", ""]


def test_a_person_reports_a_thing_once_and_never_their_own(post: Post, user: User) -> None:
    reporter = UserFactory()
    _report(post, reporter=reporter)
    with pytest.raises(services.ModerationRefused, match="already reported"):
        _report(post, reporter=reporter)
    with pytest.raises(services.ModerationRefused, match="your own"):
        _report(post, reporter=user)
    assert Report.objects.count() == 1


def test_the_queue_puts_severe_and_much_reported_cases_first(user: User) -> None:
    spam, hate, hate_twice = (PostFactory(owner=user) for _ in range(3))
    _report(spam, Report.Reason.SPAM)
    _report(hate, Report.Reason.HATE)
    _report(hate_twice, Report.Reason.HATE)
    _report(hate_twice, Report.Reason.HATE)
    comment = comment_create(author=user, post=spam, body="you all stink")
    services.report_create(reporter=UserFactory(), reason=Report.Reason.HARASSMENT, comment=comment)
    order = [(c.post_id or c.comment_id) for c in selectors.review_queue()]
    assert order == [hate_twice.pk, hate.pk, comment.pk, spam.pk]


def test_removing_a_post_hides_it_strikes_banks_it_and_explains_why(
    post: Post, user: User, moderator: User, violence: PolicyCategory
) -> None:
    _report(post)
    case = Case.objects.get(post=post)
    decision = services.decision_make(
        case=case,
        moderator=moderator,
        action=Decision.Action.REMOVE,
        category=violence,
        facts="The clip shows a graphic injury in its last second.",
    )
    post.refresh_from_db()
    assert post.standing == Post.Standing.REMOVED
    assert feed_selectors.post_visible(viewer=None, pk=post.pk) is None
    assert feed_selectors.post_visible(viewer=UserFactory(), pk=post.pk) is None
    assert feed_selectors.post_visible(viewer=user, pk=post.pk) is not None  # the owner still can
    assert Strike.objects.filter(user=user, decision=decision).exists()
    assert HashBankEntry.objects.filter(post=post, decision=decision, active=True).exists()
    notice = Notice.objects.get(recipient=user, decision=decision)
    # A statement of reasons: what was restricted, the facts, the rule, automation, redress.
    assert "Your post was removed" in notice.subject
    for part in (
        "Nobody else can see it",
        "graphic injury in its last second",
        "Graphic violence: Riff doesn't show gore",
        "A moderator made this decision after 1 report. You have 1 strike on your account.",
        f"/appeals/decision/{decision.pk}/",
    ):
        assert part in notice.body
    assert mail.outbox[-1].to == [user.email]
    entry = AuditEntry.objects.get(action="decide:remove")
    assert (entry.actor_id, entry.actor_name, entry.target) == (
        moderator.pk,
        "@mod_maya",
        f"post {post.pk}",
    )


def test_a_decided_case_refuses_a_second_decision_and_changes_nothing(
    post: Post, moderator: User, second_moderator: User, violence: PolicyCategory
) -> None:
    _report(post)
    case = Case.objects.get(post=post)
    services.decision_make(
        case=case, moderator=moderator, action=Decision.Action.LIMIT, category=violence, facts="x"
    )
    with pytest.raises(services.ModerationRefused, match="already decided by @mod_maya"):
        services.decision_make(
            case=case,
            moderator=second_moderator,
            action=Decision.Action.REMOVE,
            category=violence,
            facts="y",
        )
    post.refresh_from_db()
    assert post.standing == Post.Standing.LIMITED
    assert Decision.objects.count() == 1


def test_limit_keeps_a_post_off_for_you_but_not_off_following(
    post: Post, user: User, moderator: User, violence: PolicyCategory
) -> None:
    follower = UserFactory()
    from accounts.services import follow_create

    follow_create(follower=follower, followee=user)
    _report(post)
    services.decision_make(
        case=Case.objects.get(post=post),
        moderator=moderator,
        action=Decision.Action.LIMIT,
        category=violence,
        facts="borderline",
    )

    def ids(feed: str) -> list[int]:
        page = feed_services.feed_serve(viewer=follower, feed=feed, cursor=None, size=10)
        return [card.post.pk for card in page.cards]

    assert post.pk not in ids(feed_selectors.Feed.FOR_YOU)
    assert post.pk in ids(feed_selectors.Feed.FOLLOWING)


def test_label_shows_a_warning_and_dismiss_leaves_the_post_alone(
    user: User, moderator: User, violence: PolicyCategory
) -> None:
    labelled, fine = PostFactory(owner=user), PostFactory(owner=user)
    _report(labelled)
    _report(fine, Report.Reason.SPAM)
    services.decision_make(
        case=Case.objects.get(post=labelled),
        moderator=moderator,
        action=Decision.Action.LABEL,
        category=violence,
        label="Flashing lights",
        facts="strobing",
    )
    services.decision_make(
        case=Case.objects.get(post=fine),
        moderator=moderator,
        action=Decision.Action.DISMISS,
        facts="Not spam.",
    )
    labelled.refresh_from_db()
    fine.refresh_from_db()
    assert (labelled.standing, labelled.content_label) == (Post.Standing.OK, "Flashing lights")
    assert (fine.standing, fine.content_label) == (Post.Standing.OK, "")
    # A dismissal of reports restricts nothing, so there is no statement to send or appeal.
    assert list(Notice.objects.values_list("subject", flat=True)) == [
        "A warning label was added to your post"
    ]
    assert not Strike.objects.exists()


def test_removing_a_comment_hides_it(post: Post, moderator: User, violence: PolicyCategory) -> None:
    author = UserFactory()
    comment = comment_create(author=author, post=post, body="nasty words")
    services.report_create(reporter=UserFactory(), reason=Report.Reason.HARASSMENT, comment=comment)
    services.decision_make(
        case=Case.objects.get(comment=comment),
        moderator=moderator,
        action=Decision.Action.REMOVE,
        category=violence,
        facts="abuse",
    )
    assert Comment.objects.get(pk=comment.pk).removed
    assert comment.pk not in [c.pk for c in feed_selectors.post_comments(post=post)]
    assert Post.objects.get(pk=post.pk).comment_count == 0


def test_an_action_that_does_not_fit_the_target_is_refused(
    user: User, moderator: User, violence: PolicyCategory
) -> None:
    services.report_create(reporter=UserFactory(), reason=Report.Reason.SPAM, account=user)
    with pytest.raises(services.ModerationRefused, match="doesn't apply to a account"):
        services.decision_make(
            case=Case.objects.get(account=user),
            moderator=moderator,
            action=Decision.Action.LIMIT,
            category=violence,
            facts="x",
        )


def test_strikes_reaching_the_admin_threshold_suspend_the_account_automatically(
    user: User, moderator: User, violence: PolicyCategory
) -> None:
    settings = ModerationSettings.current()
    settings.suspend_after_strikes = 2
    settings.save()
    first, second, untouched = (PostFactory(owner=user) for _ in range(3))
    for post in (first, second):
        decide_on_report(post, moderator, violence)
        user.refresh_from_db()
        assert user.is_suspended == (post == second)
    automated = Decision.objects.get(automated=True)
    assert (automated.action, automated.case.account_id, automated.moderator) == (
        Decision.Action.SUSPEND,
        user.pk,
        None,
    )
    assert "made automatically" in Notice.objects.get(decision=automated).body
    assert AuditEntry.objects.filter(actor_name="automation", action="decide:suspend").exists()
    # A suspended account's other posts are hidden from everyone else, not from them.
    assert feed_selectors.post_visible(viewer=None, pk=untouched.pk) is None
    assert feed_selectors.post_visible(viewer=user, pk=untouched.pk) is not None


def test_old_strikes_stop_counting(user: User, moderator: User, violence: PolicyCategory) -> None:
    decision = decide_on_report(PostFactory(owner=user), moderator, violence)
    assert services.live_strikes(user=user) == 1
    Strike.objects.filter(decision=decision).update(created=timezone.now() - timedelta(days=91))
    assert services.live_strikes(user=user) == 0


def test_an_appeal_cannot_be_decided_by_the_moderator_who_made_the_decision(
    post: Post, user: User, moderator: User, second_moderator: User, violence: PolicyCategory
) -> None:
    decision = decide_on_report(post, moderator, violence)
    appeal = services.appeal_create(appellant=user, decision=decision, text="It's ketchup.")
    with pytest.raises(services.ModerationRefused, match="different moderator"):
        services.appeal_decide(appeal=appeal, moderator=moderator, overturn=True, reply="")
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.PENDING
    services.appeal_decide(
        appeal=appeal, moderator=second_moderator, overturn=True, reply="Agreed, it's ketchup."
    )
    post.refresh_from_db()
    assert post.standing == Post.Standing.OK
    assert Strike.objects.get(decision=decision).voided is not None
    assert services.live_strikes(user=user) == 0
    assert not HashBankEntry.objects.filter(decision=decision, active=True).exists()
    assert Decision.objects.get(pk=decision.pk).reversed is not None
    outcome = Notice.objects.filter(recipient=user, appeal=appeal).get()
    assert "overturned" in outcome.subject and "ketchup" in outcome.body
    with pytest.raises(services.ModerationRefused, match="already decided by @mod_omar"):
        services.appeal_decide(appeal=appeal, moderator=second_moderator, overturn=False, reply="")


def test_only_the_affected_person_appeals_and_only_once(
    post: Post, user: User, other_user: User, moderator: User, violence: PolicyCategory
) -> None:
    decision = decide_on_report(post, moderator, violence)
    with pytest.raises(services.ModerationRefused, match="Only the person"):
        services.appeal_create(appellant=other_user, decision=decision, text="free alice")
    services.appeal_create(appellant=user, decision=decision, text="please")
    with pytest.raises(services.ModerationRefused, match="already appealed"):
        services.appeal_create(appellant=user, decision=decision, text="please again")


def test_an_upheld_suspension_stays_and_an_overturned_one_lifts(
    user: User, moderator: User, second_moderator: User, violence: PolicyCategory
) -> None:
    services.report_create(reporter=UserFactory(), reason=Report.Reason.HATE, account=user)
    decision = services.decision_make(
        case=Case.objects.get(account=user),
        moderator=moderator,
        action=Decision.Action.SUSPEND,
        category=violence,
        facts="threats in bio",
    )
    user.refresh_from_db()
    assert user.is_suspended
    appeal = services.appeal_create(appellant=user, decision=decision, text="hacked")
    services.appeal_decide(appeal=appeal, moderator=second_moderator, overturn=True, reply="")
    user.refresh_from_db()
    assert not user.is_suspended


def test_the_audit_log_is_append_only_even_in_the_database(moderator: User) -> None:
    entry = services.audit_record(actor=moderator, action="test", target="post 1", note="n")
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    for statement in (
        AuditEntry.objects.filter(pk=entry.pk).update,
        AuditEntry.objects.filter(pk=entry.pk).delete,
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            statement(action="changed") if statement.__name__ == "update" else statement()
    assert AuditEntry.objects.get(pk=entry.pk).action == "test"


def test_transparency_counts_actions_and_time_from_report_to_decision(
    user: User, moderator: User, violence: PolicyCategory
) -> None:
    hours = [1, 2, 3, 4, 10]
    for wait in hours:
        post = PostFactory(owner=user)
        _report(post)
        opened = timezone.now() - timedelta(hours=wait)
        Case.objects.filter(post=post).update(opened=opened)
        decide_on_report(post, moderator, violence, action=Decision.Action.LIMIT, report=False)
    figures = selectors.transparency()
    assert figures.total == 5
    assert figures.median_hours == pytest.approx(3, abs=0.01)
    assert figures.p90_hours == pytest.approx(10, abs=0.01)
    assert (figures.median_text, figures.p90_text) == ("3.0 h", "10.0 h")
    assert selectors.wait_text(0.25) == "15 min" and selectors.wait_text(72) == "3.0 days"
    assert figures.actions == [{"category": "Graphic violence", "action": "Limit", "count": 5}]


def test_a_suspended_account_can_read_but_not_post_or_comment(
    user: User, post: Post, moderator: User, violence: PolicyCategory
) -> None:
    services.report_create(reporter=UserFactory(), reason=Report.Reason.HATE, account=user)
    services.decision_make(
        case=Case.objects.get(account=user),
        moderator=moderator,
        action=Decision.Action.SUSPEND,
        category=violence,
        facts="threats",
    )
    client = Client()
    client.force_login(user)
    other = PostFactory()
    refused = client.post(f"/p/{other.pk}/comments/", {"body": "hello"})
    assert refused.status_code == 403 and "suspended" in refused.content.decode()
    assert not other.comments.exists()
    assert client.get(f"/p/{other.pk}/").status_code == 200, "reading goes on"
    assert feed_selectors.post_visible(viewer=user, pk=post.pk) is not None
    assert feed_selectors.post_visible(viewer=None, pk=post.pk) is None


def test_a_held_post_dismissed_by_a_moderator_is_shown_and_its_owner_told(
    post: Post, user: User, moderator: User
) -> None:
    case = services.case_hold(post=post, reason="hash bank", entry=1, share=0.9)
    assert feed_selectors.post_visible(viewer=None, pk=post.pk) is None
    assert selectors.review_queue().get() == case and case.source == Case.Source.HASH_BANK
    services.decision_make(
        case=case, moderator=moderator, action=Decision.Action.DISMISS, facts="A new clip."
    )
    assert feed_selectors.post_visible(viewer=None, pk=post.pk) is not None
    notice = Notice.objects.get(recipient=user)
    assert notice.subject == "Your post was reviewed and is shown again"
    assert "held it first because it closely matches a clip removed earlier" in notice.body
    assert AuditEntry.objects.filter(actor_name="automation", action="hold").exists()
