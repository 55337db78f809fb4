"""What the feed does when moderation decides (moderation/events.py)."""

from __future__ import annotations

from typing import Any

from moderation import events
from moderation.models import Case, Decision

from . import services
from .models import Post

# How each action leaves a post shown. A label leaves it shown (with the label's text).
STANDING_AFTER = {
    Decision.Action.DISMISS: Post.Standing.OK,
    Decision.Action.LABEL: Post.Standing.OK,
    Decision.Action.LIMIT: Post.Standing.LIMITED,
    Decision.Action.REMOVE: Post.Standing.REMOVED,
    Decision.Action.SUSPEND: Post.Standing.REMOVED,
}
HIDES_COMMENT = (Decision.Action.REMOVE, Decision.Action.SUSPEND)


def on_post_held(*, case: Case, post: Post, **kwargs: Any) -> None:
    """Automation held a post: only its owner sees it until a moderator decides."""
    services.post_standing_set(post_id=post.pk, standing=Post.Standing.HELD)
    post.standing = Post.Standing.HELD


def on_decision_made(*, decision: Decision, **kwargs: Any) -> None:
    """Carry out a decision on the post or comment it is about."""
    case, action = decision.case, Decision.Action(decision.action)
    # Reports alone never changed how the post is shown, so dismissing them changes nothing.
    if case.post_id and not (
        action == Decision.Action.DISMISS and case.source == Case.Source.REPORTS
    ):
        # A label sets its text; a removal or limit clears one; a dismissal keeps it.
        label = {Decision.Action.LABEL: decision.label, Decision.Action.DISMISS: None}.get(
            action, ""
        )
        services.post_standing_set(
            post_id=case.post_id,
            standing=STANDING_AFTER[action],
            label=label,
            rule=decision.category.name if decision.category else "",
        )
    if case.comment_id and action in HIDES_COMMENT:
        services.comment_shown_set(comment_id=case.comment_id, shown=False)


def on_decision_reversed(*, decision: Decision, **kwargs: Any) -> None:
    """An appeal overturned a decision: the post or comment back as it was."""
    case = decision.case
    if case.post_id:
        services.post_standing_set(post_id=case.post_id, standing=Post.Standing.OK, label="")
    if case.comment_id:
        services.comment_shown_set(comment_id=case.comment_id, shown=True)


def connect() -> None:
    """Listen to moderation's events (called once, from FeedConfig.ready)."""
    events.post_held.connect(on_post_held, dispatch_uid="feed.on_post_held")
    events.decision_made.connect(on_decision_made, dispatch_uid="feed.on_decision_made")
    events.decision_reversed.connect(on_decision_reversed, dispatch_uid="feed.on_decision_reversed")
