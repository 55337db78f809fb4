"""Who may do what: the rate limits and which writes count against them, what a suspended
account may still do, and what pages may load. Read by config/settings.py."""

import os


def throttle_rates() -> dict[str, str]:
    """Each throttle scope's rate (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES), from the
    environment where an instance may want its own."""
    env = os.environ.get
    return {
        "token": env("RATE_LIMIT_TOKEN", "10/min"),
        "verify": env("RATE_LIMIT_VERIFY", "20/min"),
        "anon": "300/min",
        "user": "1200/min",
        # Writes that cost work, per account (or per address when signed out).
        "generation": env("RATE_LIMIT_GENERATION", "10/min"),
        "comment": env("RATE_LIMIT_COMMENT", "20/min"),
        "report": env("RATE_LIMIT_REPORT", "20/hour"),
        "events": env("RATE_LIMIT_EVENTS", "120/min"),
        "social": env("RATE_LIMIT_SOCIAL", "120/min"),
        "messages": env("RATE_LIMIT_MESSAGES", "30/min"),
        "profile": env("RATE_LIMIT_PROFILE", "20/hour"),
        "post": env("RATE_LIMIT_POST", "30/min"),
    }


# Which writes count against which throttle scope (REST_FRAMEWORK's rates): a page and the
# API endpoint doing the same thing share one allowance (core.middleware.LimitPageWrites for pages,
# core.throttling.WriteRateThrottle for the API). Sign-in, sign-up and password reset are
# limited by allauth (ACCOUNT_RATE_LIMITS) and the lockout (AXES_*), the token API by its
# own "token" scope.
def rate_limited_writes() -> dict[str, str]:
    """URL name of each write that costs work -> its throttle scope."""
    return {
        "feed:verify": "verify",
        "api:verify": "verify",
        "feed:create": "generation",
        "api:generation-list": "generation",
        "api:post-remix": "generation",
        "feed:comment_create": "comment",
        "api:post-comments": "comment",
        "moderation:report": "report",
        "api:report-create": "report",
        "moderation:decision_appeal": "report",
        "moderation:refusal_appeal": "report",
        "api:appeal-create": "report",
        "api:events": "events",
        "ranking:not_interested": "events",
        "api:feed-preference": "events",
        "feed:post_like": "social",
        "api:post-like": "social",
        "feed:comment_like": "social",
        "api:comment-like": "social",
        "accounts:follow": "social",
        "api:user-follow": "social",
        "accounts:block": "social",
        "api:user-block": "social",
        "api:push-subscriptions": "social",
        "social:conversation": "messages",
        "social:share": "messages",
        "api:conversation-messages": "messages",
        "accounts:profile_edit": "profile",
        "api:me": "profile",
        "feed:post_edit": "post",
        "feed:draft_post": "post",
        "api:generation-post": "post",
        "api:post-detail": "post",
    }


# A suspended account reads everything it could read before, and of writes only these: its
# appeals, its notifications (marking them read, choosing kinds, browser push, the email
# digest's unsubscribe link), checking a clip on /verify/, and signing in and out and its
# password and email.
# Downloading its data is a read (/settings/data/, /api/v1/me/export/).
def suspended_accounts_may() -> frozenset[str]:
    """URL names of the writes a suspended account may still make."""
    return frozenset(
        {
            "moderation:decision_appeal",
            "moderation:refusal_appeal",
            "api:appeal-create",
            "social:notification_settings",
            "api:notification-read",
            "api:notification-settings",
            "api:push-subscriptions",
            "social:digest_unsubscribe",
            "feed:verify",
            "api:verify",
            "api:token",
            "account_login",
            "account_logout",
            "account_reauthenticate",
            "account_email",
            "account_change_password",
            "account_set_password",
            "account_reset_password",
            "account_reset_password_from_key",
            "account_confirm_email",
        }
    )


def content_security_policy(*, media_origin: str) -> str:
    """The Content-Security-Policy of every page: Riff's own files, plus the media host.

    Scripts only from Riff's own files (no inline script anywhere); inline styles stay
    allowed for htmx's indicator style and the progress bars' custom properties.
    """
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: {media_origin}".strip(),
            f"media-src 'self' {media_origin}".strip(),
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
