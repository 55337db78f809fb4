"""Browser push (Web Push): the instance's own VAPID key pair, the browsers people subscribed,
and sending them a notification's line.

Sending runs in the `social.web_push` task, asked for once the notifications are committed
and only for the people with a subscription (`push_later`); the request that caused them
never waits on a push service.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
import re
import socket
from collections import defaultdict
from collections.abc import Iterable, Sequence
from email.utils import parseaddr
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from accounts.models import User
from core.events import after_commit

from . import selectors
from .models import PushSubscription, VapidKey
from .selectors import NotificationGroup

logger = logging.getLogger(__name__)

# A push service keeps an undelivered message this long (seconds), then drops it: a day-old
# "aiko liked your clip" is still worth seeing, an older one is in the list anyway.
TTL_S = 24 * 60 * 60
# How long one push service may take to answer (seconds).
TIMEOUT_S = 10
# Failed sends in a row after which a subscription is dropped.
MAX_FAILURES = 5
# Browsers one person may have subscribed; a new one beyond this replaces the oldest.
MAX_PER_PERSON = 10
# People per `social.web_push` task: a large fan-out is spread over several.
BATCH = 100
# What the push services answer for a subscription that is gone for good.
GONE = (404, 410)

ENDPOINT_MAX = 800
# The push service's URL: http or https, a host name (or localhost, or an IPv4 address) and a
# path of printable ASCII. Every URL it matches also passes Django's URLValidator (the
# model's field), and the API's schema states it as is.
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,40}[A-Za-z0-9])?"
ENDPOINT_PATTERN = (
    rf"\Ahttps?://(localhost|{_OCTET}(\.{_OCTET}){{3}}|({_LABEL}\.){{1,4}}[A-Za-z]{{2,24}})"
    r"(:[0-9]{1,5})?(/[!-~]*)?\Z"
)
# The browser's ECDH public key: base64url of a 65-byte uncompressed P-256 point (0x04, x,
# y), as PushSubscription.toJSON() gives it; its first byte fixes the first two characters.
P256DH_PATTERN = r"\AB[A-P][A-Za-z0-9_-]{85}=?\Z"
# The browser's auth secret: base64url of 16 bytes.
AUTH_PATTERN = r"\A[A-Za-z0-9_-]{22}(==)?\Z"
NOT_ENDPOINT = (
    "Send the push service's URL from the browser's subscription: an http or https URL of "
    f"at most {ENDPOINT_MAX} characters."
)
NOT_P256DH = "Send the browser's p256dh key: the base64url of a 65-byte uncompressed P-256 point."
NOT_ON_CURVE = "That p256dh key is not a point on the P-256 curve, so no browser made it."
NOT_AUTH = "Send the browser's auth secret: the base64url of 16 bytes."
NOT_PUBLIC = "That push service isn't on the public internet over https, so Riff won't send to it."


def endpoint_refusal(endpoint: str) -> str | None:
    """Why Riff won't push to this URL, or None. A push service is a public https host: the
    worker must never be pointed at this instance's own network. A development instance
    (WEBPUSH_LOCAL_ENDPOINTS) may push to local services."""
    if settings.WEBPUSH_LOCAL_ENDPOINTS:
        return None
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        return NOT_PUBLIC
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return NOT_PUBLIC
    addresses = {ipaddress.ip_address(info[4][0]) for info in found}
    if not addresses or not all(address.is_global for address in addresses):
        return NOT_PUBLIC
    return None


def b64url_decode(text: str) -> bytes:
    """Bytes from base64url, padded or not."""
    return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url, as browsers and push services write keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def is_browser_key(p256dh: str) -> bool:
    """Whether `p256dh` is a P-256 public key (a point on the curve) in its browser form."""
    if not re.match(P256DH_PATTERN, p256dh):
        return False
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(p256dh))
    except (ValueError, binascii.Error):
        return False
    return True


# --- the instance's key pair -----------------------------------------------------------------


def vapid_key() -> VapidKey:
    """The instance's VAPID key pair, made on first use and kept in one row: two processes
    asking at once end with the same key."""
    key = VapidKey.objects.order_by("pk").first()
    if key is not None:
        return key
    with transaction.atomic():
        _hold_keys()
        key = VapidKey.objects.order_by("pk").first()
        if key is None:
            key = _new_key()
            key.full_clean()
            key.save()
    return key


def _hold_keys() -> None:
    """Keep every other process from making a key until this transaction ends."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(VapidKey._meta.db_table)
        with connection.cursor() as cursor:
            # Conflicts with itself, not with plain reads: the second maker waits, then
            # finds the first one's key.
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")  # noqa: S608
    else:
        # SQLite has one writer at a time, and any write statement takes that lock for the
        # rest of the transaction, even one that changes no row.
        VapidKey.objects.filter(pk__lt=0).update(public_key="")


def _new_key() -> VapidKey:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return VapidKey(private_pem=pem.decode("ascii"), public_key=b64url_encode(point))


def contact() -> str:
    """Who push services may write to about this instance's pushes (the VAPID `sub`)."""
    given = settings.WEBPUSH_CONTACT.strip()
    if given and "@" in given and ":" not in given:
        return f"mailto:{given}"  # an address given without its scheme
    return given or f"mailto:{parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}"


# --- subscriptions ---------------------------------------------------------------------------


def push_subscription_save(
    *, user: User, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> PushSubscription:
    """Send this person's notifications to this browser. An endpoint another person had
    moves to this one (a browser belongs to whoever signed in on it last)."""
    values = {
        "user": user,
        "p256dh": p256dh,
        "auth": auth,
        "user_agent": user_agent[:200],
        "failures": 0,
    }
    PushSubscription(endpoint=endpoint, **values).full_clean(validate_unique=False)
    refusal = endpoint_refusal(endpoint)
    if refusal is not None:
        raise ValidationError({"endpoint": refusal})
    with transaction.atomic():
        subscription, _ = PushSubscription.objects.update_or_create(
            endpoint=endpoint, defaults=values
        )
        keep = PushSubscription.objects.filter(user=user).order_by("-created", "-pk")
        stale = keep.values_list("pk", flat=True)[MAX_PER_PERSON:]
        PushSubscription.objects.filter(pk__in=list(stale)).delete()
    return subscription


def push_subscription_delete(*, user: User, endpoint: str) -> bool:
    """Stop sending to this browser; whether this person had it."""
    deleted, _ = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted > 0


# --- sending ---------------------------------------------------------------------------------


def push_later(*, user_ids: Sequence[int], group_key: str) -> None:
    """Once the notifications are committed, ask for their line to be pushed to those of
    these people who have a browser subscribed: one query, and nothing more for the rest."""
    if not user_ids:
        return
    subscribed = sorted(
        PushSubscription.objects.filter(user_id__in=list(user_ids))
        .order_by()
        .values_list("user_id", flat=True)
        .distinct()
    )
    for start in range(0, len(subscribed), BATCH):
        chunk = subscribed[start : start + BATCH]
        # A broker that can't be reached loses the push, never the notification.
        after_commit(_ask, chunk, group_key)


def _ask(user_ids: list[int], group_key: str) -> None:
    from .tasks import web_push  # the tasks module imports this one

    web_push.delay(user_ids, group_key)


def push_payload(line: NotificationGroup) -> dict[str, str]:
    """What the service worker shows for a line: its sentence, and where tapping it goes."""
    return {
        "title": "Riff",
        "body": line.sentence or "You have a new notification.",
        "url": line.url,
        "tag": line.key,
    }


def push_line(*, user_ids: Iterable[int], group_key: str) -> int:
    """Push the line `group_key` makes in each of these people's lists to their browsers,
    unless they have read it meanwhile; how many browsers took it."""
    ids = list(user_ids)
    by_user: dict[int, list[PushSubscription]] = defaultdict(list)
    for subscription in PushSubscription.objects.filter(user_id__in=ids).order_by("pk"):
        by_user[subscription.user_id].append(subscription)
    if not by_user:
        return 0
    private = serialization.load_pem_private_key(vapid_key().private_pem.encode(), None)
    signer = Vapid02(private)
    sent = 0
    with requests.Session() as session:
        session.max_redirects = 0  # a push service answers; it never sends the push elsewhere
        people = list(User.objects.filter(pk__in=list(by_user), is_active=True))
        lines = selectors.notification_lines(recipients=people, group_key=group_key)
        for user_id, line in lines.items():
            if not line.unread:
                continue  # read on an open page already
            data = json.dumps(push_payload(line))
            for subscription in by_user[user_id]:
                sent += _send(subscription, data, signer=signer, session=session)
    return sent


def _send(
    subscription: PushSubscription, data: str, *, signer: Vapid02, session: requests.Session
) -> bool:
    """One push; a subscription its push service says is gone is deleted, one that keeps
    failing is dropped after MAX_FAILURES in a row."""
    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    if endpoint_refusal(subscription.endpoint) is not None:
        # Its host has come to point inside (checked again at each send, not only once).
        logger.warning("Dropped push subscription %s: not a public host", subscription.pk)
        subscription.delete()
        return False
    try:
        webpush(
            info,
            data,
            vapid_private_key=signer,
            vapid_claims={"sub": contact()},  # a fresh dict: webpush adds this service's aud
            ttl=TTL_S,
            timeout=TIMEOUT_S,
            requests_session=session,
        )
    except WebPushException as error:
        if error.status_code in GONE:
            subscription.delete()
            return False
        _failed(subscription, f"answered {error.status_code}")
        return False
    except (requests.RequestException, ValueError) as error:
        _failed(subscription, type(error).__name__)
        return False
    PushSubscription.objects.filter(pk=subscription.pk).update(last_sent=timezone.now(), failures=0)
    return True


def _failed(subscription: PushSubscription, why: str) -> None:
    logger.info("Push to subscription %s failed: %s", subscription.pk, why)
    rows = PushSubscription.objects.filter(pk=subscription.pk)
    rows.update(failures=F("failures") + 1)
    rows.filter(failures__gte=MAX_FAILURES).delete()
