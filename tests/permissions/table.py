"""The permission table: every address, and what each of seven people gets from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.media import media_url
from social.digest import unsubscribe_token

from .world import Owned, World

Build = Callable[[World, str], str]


@dataclass(frozen=True)
class Row:
    """One request: what, how, with what, and each role's answer."""

    label: str  # the URL name, and what differs when one name has several rows
    method: str
    path: Build
    data: dict[str, Any] | None = None
    json: bool = False

    @property
    def view_name(self) -> str:
        """The URL name this row covers."""
        return self.label.split(" ")[0]


def _p(template: str) -> Build:
    """A path with {post}, {fpost}, {ppost}, {comment}, {job}, {handle}, {case}, {appeal},
    {decision}, {refusal}, {conversation}, {message} (rita's) filled in from the content the
    role asks about."""

    def build(world: World, role: str) -> str:
        owned = world.of(role)
        return template.format(
            post=owned.post.pk,
            fpost=owned.followers_post.pk,
            ppost=owned.private_post.pk,
            comment=owned.comment.pk,
            job=owned.draft.pk,
            handle=owned.owner.username,
            case=owned.case.pk,
            appeal=owned.appeal.pk,
            decision=owned.decision.pk,
            refusal=owned.refusal.pk,
            conversation=owned.conversation.pk,
            message=owned.conversation.messages.values_list("pk", flat=True).first(),
        )

    return build


def _unsubscribe(world: World, role: str) -> str:
    """The digest's unsubscribe link of the owner the role asks about: the signed token is
    the proof, so it answers the same whoever opens it."""
    return f"/notifications/unsubscribe/{unsubscribe_token(user_id=world.of(role).owner.pk)}/"


def _media(field: Callable[[Owned], Any]) -> Build:
    """The URL the role itself is given for a file (signed for them when not public)."""

    def build(world: World, role: str) -> str:
        return media_url(field(world.of(role)), viewer=world.people[role]) or ""

    return build


NOT_FOUND_UUID = "00000000-0000-4000-8000-000000000000"
# A browser's push subscription (its key a point on the P-256 curve), and where it goes.
P256DH = "BCfswQcew4mWs-bpcy066GXg0UfnYvKFyceLydYxLen-tcwFKMoi_gTXzDmSeFDijOSOu8meSQ3MquhxECAVBf8"
PUSH = {"endpoint": "https://push.example.com/1", "keys": {"p256dh": P256DH, "auth": "A" * 22}}
PUSHES = _p("/api/v1/push/subscriptions/")
ROWS: list[Row] = [
    # --- health and docs
    Row("healthz", "GET", _p("/healthz")),
    Row("readyz", "GET", _p("/readyz")),
    Row("schema", "GET", _p("/api/schema/")),
    Row("api-docs", "GET", _p("/api/docs/")),
    # --- feed pages
    Row("feed:for_you", "GET", _p("/")),
    Row("feed:following", "GET", _p("/following/")),
    Row("feed:feed_more", "GET", _p("/feed/for_you/more/")),
    Row("feed:post_detail", "GET", _p("/p/{post}/")),
    Row("feed:post_detail followers-only", "GET", _p("/p/{fpost}/")),
    Row("feed:post_detail private", "GET", _p("/p/{ppost}/")),
    Row("feed:post_lineage", "GET", _p("/p/{post}/remixes/")),
    Row("feed:post_credentials", "GET", _p("/p/{post}/credentials/")),
    Row("feed:post_like", "POST", _p("/p/{post}/like/")),
    Row("feed:comment_create", "POST", _p("/p/{post}/comments/"), {"body": "hello there"}),
    Row("feed:comments_sheet", "GET", _p("/p/{post}/comments/sheet/")),
    Row("feed:post_edit", "GET", _p("/p/{post}/edit/")),
    Row(
        "feed:post_edit save",
        "POST",
        _p("/p/{post}/edit/"),
        {"caption": "changed", "visibility": "public"},
    ),
    Row("feed:post_delete", "POST", _p("/p/{post}/delete/")),
    Row("feed:comment_delete", "POST", _p("/c/{comment}/delete/")),
    Row("feed:comment_like", "POST", _p("/c/{comment}/like/")),
    Row("feed:create", "GET", _p("/create/")),
    Row("feed:create remix", "GET", _p("/create/?remix={post}")),
    Row(
        "feed:draft_post",
        "POST",
        _p("/create/drafts/{job}/post/"),
        {"caption": "mine", "visibility": "public"},
    ),
    Row("feed:tag", "GET", _p("/tags/koi/")),
    Row("feed:verify", "GET", _p("/verify/")),
    Row("feed:verify_check", "GET", _p(f"/verify/{NOT_FOUND_UUID}/")),
    # --- people
    Row("accounts:profile", "GET", _p("/@{handle}/")),
    Row("accounts:followers", "GET", _p("/@{handle}/followers/")),
    Row("accounts:following", "GET", _p("/@{handle}/following/")),
    Row("accounts:follow", "POST", _p("/@{handle}/follow/")),
    Row("accounts:block", "POST", _p("/@{handle}/block/"), {"action": "block"}),
    Row("accounts:profile_edit", "GET", _p("/settings/profile/")),
    Row("accounts:profile_edit save", "POST", _p("/settings/profile/"), {"bio": "new bio"}),
    Row("accounts:data_export", "GET", _p("/settings/data/")),
    # --- moderation pages
    Row("moderation:report", "GET", _p("/report/post/{post}/")),
    Row("moderation:report send", "POST", _p("/report/post/{post}/"), {"reason": "spam"}),
    Row("moderation:report message", "GET", _p("/report/message/{message}/")),
    Row(
        "moderation:report message send",
        "POST",
        _p("/report/message/{message}/"),
        {"reason": "harassment"},
    ),
    Row("moderation:queue", "GET", _p("/moderation/")),
    Row("moderation:case", "GET", _p("/moderation/cases/{case}/")),
    Row(
        "moderation:case decide",
        "POST",
        _p("/moderation/cases/{case}/"),
        {"action": "dismiss", "facts": "Nothing wrong here."},
    ),
    Row("moderation:appeals", "GET", _p("/moderation/appeals/")),
    Row("moderation:appeal", "GET", _p("/moderation/appeals/{appeal}/")),
    Row(
        "moderation:appeal decide",
        "POST",
        _p("/moderation/appeals/{appeal}/"),
        {"outcome": "overturn", "reply": "You are right."},
    ),
    Row("moderation:notices", "GET", _p("/notices/")),
    Row("moderation:my_appeals", "GET", _p("/appeals/")),
    Row("moderation:decision_appeal", "GET", _p("/appeals/decision/{decision}/")),
    Row(
        "moderation:decision_appeal send",
        "POST",
        _p("/appeals/decision/{decision}/"),
        {"text": "Please look again."},
    ),
    Row("moderation:refusal_appeal", "GET", _p("/appeals/refusal/{refusal}/")),
    Row(
        "moderation:refusal_appeal send",
        "POST",
        _p("/appeals/refusal/{refusal}/"),
        {"text": "It is fine."},
    ),
    Row("moderation:transparency", "GET", _p("/transparency/")),
    # --- ranking pages
    Row("ranking:not_interested", "POST", _p("/p/{post}/not-interested/")),
    Row("ranking:why", "GET", _p("/p/{post}/why/")),
    Row("ranking:feed_settings", "GET", _p("/settings/feed/")),
    Row("ranking:feed_reset", "POST", _p("/settings/feed/reset/")),
    # --- generation pages
    Row("generation:drafts", "GET", _p("/create/drafts/")),
    Row("generation:job_detail", "GET", _p("/create/jobs/{job}/")),
    Row("generation:job_status", "GET", _p("/create/jobs/{job}/status/")),
    Row("generation:job_cancel", "POST", _p("/create/jobs/{job}/cancel/")),
    Row("generation:draft_delete", "POST", _p("/create/jobs/{job}/delete/")),
    # --- API: people
    Row("api:token", "POST", _p("/api/v1/auth/token/"), {"username": "x", "password": "y"}),
    Row("api:me", "GET", _p("/api/v1/me/")),
    Row("api:me update", "PATCH", _p("/api/v1/me/"), {"bio": "new bio"}, json=True),
    Row("api:me-export", "GET", _p("/api/v1/me/export/")),
    Row("api:user-detail", "GET", _p("/api/v1/users/{handle}/")),
    Row("api:user-follow", "POST", _p("/api/v1/users/{handle}/follow/")),
    Row("api:user-block", "POST", _p("/api/v1/users/{handle}/block/")),
    Row("api:user-followers", "GET", _p("/api/v1/users/{handle}/followers/")),
    Row("api:user-following", "GET", _p("/api/v1/users/{handle}/following/")),
    # --- API: feed and posts
    Row("api:feed", "GET", _p("/api/v1/feed/for-you/")),
    Row("api:feed-preference", "GET", _p("/api/v1/feed/preference/")),
    Row(
        "api:feed-preference set",
        "PUT",
        _p("/api/v1/feed/preference/"),
        {"text": "more kites"},
        json=True,
    ),
    Row("api:feed-reset", "POST", _p("/api/v1/feed/reset/")),
    Row("api:post-why", "GET", _p("/api/v1/posts/{post}/why/")),
    Row("api:post-list", "GET", _p("/api/v1/posts/")),
    Row("api:user-posts", "GET", _p("/api/v1/users/{handle}/posts/")),
    Row("api:tag-posts", "GET", _p("/api/v1/tags/koi/posts/")),
    Row("api:post-detail", "GET", _p("/api/v1/posts/{post}/")),
    Row("api:post-detail followers-only", "GET", _p("/api/v1/posts/{fpost}/")),
    Row("api:post-detail private", "GET", _p("/api/v1/posts/{ppost}/")),
    Row(
        "api:post-detail update",
        "PATCH",
        _p("/api/v1/posts/{post}/"),
        {"caption": "changed"},
        json=True,
    ),
    Row("api:post-detail delete", "DELETE", _p("/api/v1/posts/{post}/")),
    Row("api:post-like", "POST", _p("/api/v1/posts/{post}/like/")),
    Row("api:post-comments", "GET", _p("/api/v1/posts/{post}/comments/")),
    Row(
        "api:post-comments add",
        "POST",
        _p("/api/v1/posts/{post}/comments/"),
        {"body": "hello there"},
        json=True,
    ),
    Row("api:comment-detail delete", "DELETE", _p("/api/v1/comments/{comment}/")),
    Row("api:comment-like", "POST", _p("/api/v1/comments/{comment}/like/")),
    Row(
        "api:post-remix",
        "POST",
        _p("/api/v1/posts/{post}/remix/"),
        {"prompt": "the same kite at night"},
        json=True,
    ),
    Row("api:events", "POST", _p("/api/v1/events/"), {"events": []}, json=True),
    # --- API: generation
    Row("api:generation-list", "GET", _p("/api/v1/generations/")),
    Row(
        "api:generation-list create",
        "POST",
        _p("/api/v1/generations/"),
        {"prompt": "a red fox running through snow"},
        json=True,
    ),
    Row("api:generation-models", "GET", _p("/api/v1/generations/models/")),
    Row("api:generation-detail", "GET", _p("/api/v1/generations/{job}/")),
    Row("api:generation-cancel", "POST", _p("/api/v1/generations/{job}/cancel/")),
    Row(
        "api:generation-post",
        "POST",
        _p("/api/v1/generations/{job}/post/"),
        {"caption": "mine"},
        json=True,
    ),
    Row("api:verify", "POST", _p("/api/v1/verify/"), {}),
    Row("api:verify-check", "GET", _p(f"/api/v1/verify/{NOT_FOUND_UUID}/")),
    Row(
        "api:manifest-by-binding",
        "GET",
        _p("/api/v1/manifests/by-binding/?alg=org.riff.watermark.1&value=AAAAAAAB"),
    ),
    # --- API: moderation
    Row(
        "api:report-create",
        "POST",
        _p("/api/v1/reports/"),
        {"post": "{post}", "reason": "spam"},
        json=True,
    ),
    Row("api:notice-list", "GET", _p("/api/v1/notices/")),
    Row(
        "api:appeal-create",
        "POST",
        _p("/api/v1/appeals/"),
        {"refusal": "{refusal}", "text": "It is fine."},
        json=True,
    ),
    Row("api:case-list", "GET", _p("/api/v1/moderation/cases/")),
    Row("api:case-detail", "GET", _p("/api/v1/moderation/cases/{case}/")),
    Row(
        "api:case-decide",
        "POST",
        _p("/api/v1/moderation/cases/{case}/decision/"),
        {"action": "dismiss", "facts": "Nothing wrong here."},
        json=True,
    ),
    Row("api:appeal-create list", "GET", _p("/api/v1/appeals/")),
    Row("api:appeal-list", "GET", _p("/api/v1/moderation/appeals/")),
    Row(
        "api:appeal-decide",
        "POST",
        _p("/api/v1/moderation/appeals/{appeal}/decision/"),
        {"overturn": True, "reply": "You are right."},
        json=True,
    ),
    # --- notifications
    Row("social:notifications", "GET", _p("/notifications/")),
    Row("social:search", "GET", _p("/search/?q=koi")),
    Row("social:discover", "GET", _p("/discover/")),
    Row("social:clips_like", "GET", _p("/p/{post}/like-this/")),
    Row("api:search", "GET", _p("/api/v1/search/?q=koi")),
    Row("api:discover", "GET", _p("/api/v1/discover/")),
    Row("api:post-like-this", "GET", _p("/api/v1/posts/{post}/like-this/")),
    Row("social:notification_settings", "GET", _p("/notifications/settings/")),
    Row(
        "social:notification_settings save",
        "POST",
        _p("/notifications/settings/"),
        {"kinds": ["like", "comment"]},
    ),
    Row("api:notification-list", "GET", _p("/api/v1/notifications/")),
    Row("api:notification-unread", "GET", _p("/api/v1/notifications/unread/")),
    Row("api:notification-read", "POST", _p("/api/v1/notifications/read/"), {}, json=True),
    Row("api:notification-settings", "GET", _p("/api/v1/notifications/settings/")),
    Row(
        "api:notification-settings set",
        "PUT",
        _p("/api/v1/notifications/settings/"),
        {"off": ["new_post"]},
        json=True,
    ),
    Row("social:digest_unsubscribe", "GET", _unsubscribe),
    Row("social:digest_unsubscribe one-click", "POST", _unsubscribe),
    Row("social:digest_unsubscribe resubscribe", "POST", _unsubscribe, {"resubscribe": "1"}),
    Row("social:digest_unsubscribe tampered", "GET", _p("/notifications/unsubscribe/Mg:x:y/")),
    Row("social:service_worker", "GET", _p("/sw.js")),
    Row("api:push-key", "GET", _p("/api/v1/push/key/")),
    Row("api:push-subscriptions", "POST", PUSHES, PUSH, json=True),
    Row("api:push-subscriptions delete", "DELETE", PUSHES, {"endpoint": "none"}, json=True),
    # --- media: the URL each person is given for the file
    Row("media post video", "GET", _media(lambda o: o.post.video)),
    Row("media post poster", "GET", _media(lambda o: o.post.poster)),
    Row("media followers-only video", "GET", _media(lambda o: o.followers_post.video)),
    Row("media private video", "GET", _media(lambda o: o.private_post.video)),
    Row("media draft video", "GET", _media(lambda o: o.draft.video)),
    Row("media avatar", "GET", _media(lambda o: o.owner.profile.avatar)),
    # --- WebSockets
    Row("ws:job-status", "WS", _p("/ws/generations/{job}/")),
    Row("ws:notifications", "WS", _p("/ws/notifications/")),
    Row("ws:messages", "WS", _p("/ws/messages/{conversation}/")),
    # --- messages (rows run in order: the sends make conversations the answers then find)
    Row("social:messages", "GET", _p("/messages/")),
    Row("social:message_requests", "GET", _p("/messages/requests/")),
    Row("social:conversation", "GET", _p("/messages/@{handle}/")),
    Row("social:conversation send", "POST", _p("/messages/@{handle}/"), {"body": "hello"}),
    Row("social:conversation_since", "GET", _p("/messages/@{handle}/since/?after=0")),
    Row("social:conversation_answer", "POST", _p("/messages/@{handle}/accept/")),
    Row("social:share", "GET", _p("/p/{post}/send/")),
    Row("social:share send", "POST", _p("/p/{post}/send/"), {"to": "rita", "body": "look"}),
    Row("api:conversation-list", "GET", _p("/api/v1/conversations/")),
    Row("api:conversation-messages", "GET", _p("/api/v1/conversations/{handle}/messages/")),
    Row(
        "api:conversation-messages send",
        "POST",
        _p("/api/v1/conversations/{handle}/messages/"),
        {"body": "hi"},
        json=True,
    ),
    Row(
        "api:conversation-answer",
        "POST",
        _p("/api/v1/conversations/{handle}/answer/"),
        {"answer": "accept"},
        json=True,
    ),
]
