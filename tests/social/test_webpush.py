"""Browser push: the instance's key, subscribing through the API, and real pushes to a local
push service, decrypted with the keys a browser would hold."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from feed import services as feed_services
from feed.models import Post
from social import services, webpush
from social.models import Notification, PushSubscription, VapidKey
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db
SUBSCRIPTIONS = "/api/v1/push/subscriptions/"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What a browser holds for one subscription: its ECDH key pair and auth secret."""

    private: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def keys(self) -> dict[str, str]:
        point = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": b64(point), "auth": b64(self.auth)}

    def read(self, body: bytes) -> Any:
        """Decrypt a push message (RFC 8291, aes128gcm) and read its JSON."""
        plain = http_ece.decrypt(
            body, private_key=self.private, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class PushService:
    """A push service on 127.0.0.1: it keeps what is POSTed to it and answers `status`."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.status = 201
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                service.received.append(Received(self.path, headers, body))
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def endpoint(self, name: str) -> str:
        return f"{self.origin}/push/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push_service() -> Iterator[PushService]:
    service = PushService()
    yield service
    service.close()


def subscribe(client: APIClient, endpoint: str, browser: Browser) -> Any:
    body = {"endpoint": endpoint, "expirationTime": None, "keys": browser.keys}
    return client.post(SUBSCRIPTIONS, body, format="json")


def verify_vapid(authorization: str, *, audience: str) -> dict[str, Any]:
    """Check a `vapid t=<JWT>,k=<key>` header against the instance's own public key; the
    JWT's claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    parts = dict(part.split("=", 1) for part in params.split(","))
    instance_key = webpush.vapid_key().public_key
    assert parts["k"] == instance_key
    header, claims, signature = parts["t"].split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(instance_key))
    raw = unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:  # pragma: no cover - the assertion below says it
        pytest.fail("the VAPID JWT is not signed by the instance's key")
    assert json.loads(unb64(header)) == {"typ": "JWT", "alg": "ES256"}
    payload = json.loads(unb64(claims))
    assert payload["aud"] == audience
    assert payload["exp"] > time.time()
    return payload


# --- the key ---------------------------------------------------------------------------------


def test_the_key_is_made_once_and_kept(user: User):
    assert not VapidKey.objects.exists()
    first = webpush.vapid_key()
    assert webpush.vapid_key().pk == first.pk and VapidKey.objects.count() == 1
    answer = token_client(user).get("/api/v1/push/key/")
    assert answer.status_code == 200 and answer.json() == {"public_key": first.public_key}
    # The public key is the private key's, as browsers take it: 65 bytes, uncompressed.
    private = serialization.load_pem_private_key(first.private_pem.encode(), None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert unb64(first.public_key) == point and len(point) == 65


@pytest.mark.django_db(transaction=True)
def test_processes_asking_at_once_end_with_one_key():
    start, keys, errors = threading.Barrier(6), [], []

    def ask() -> None:
        try:
            start.wait()
            keys.append(webpush.vapid_key().public_key)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(keys) == 6 and len(set(keys)) == 1
    assert list(VapidKey.objects.values_list("public_key", flat=True)) == keys[:1]


# --- subscribing -----------------------------------------------------------------------------


def test_signed_out_callers_are_refused():
    client = APIClient()
    assert client.get("/api/v1/push/key/").status_code == 401
    assert subscribe(client, "https://push.example.com/a", Browser()).status_code == 401
    gone = client.delete(SUBSCRIPTIONS, {"endpoint": "https://push.example.com/a"}, format="json")
    assert gone.status_code == 401
    assert not PushSubscription.objects.exists()


def _compressed(browser: Browser) -> str:
    point = browser.private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    return b64(point)


BAD_BODIES = [
    ({"endpoint": "ftp://push.example.com/a"}, "endpoint", "http or https URL"),
    ({"endpoint": "push.example.com/a"}, "endpoint", "http or https URL"),
    ({"endpoint": "https://push.example.com/a b"}, "endpoint", "http or https URL"),
    ({"endpoint": "https://push.example.com/" + "a" * 800}, "endpoint", "at most 800"),
    ({"endpoint": 5}, "endpoint", "not a number"),
    ({"keys": None}, "keys", ""),
    ({"keys": {"auth": "AAECAwQFBgcICQoLDA0ODw"}}, "keys", "p256dh"),
    ({"keys": {"p256dh": "compressed", "auth": "AAECAwQFBgcICQoLDA0ODw"}}, "keys", "65-byte"),
    ({"keys": {"p256dh": "BZ" + "A" * 85, "auth": "AAECAwQFBgcICQoLDA0ODw"}}, "keys", "65-byte"),
    ({"keys": {"p256dh": "BA" + "A" * 85, "auth": "AAECAwQFBgcICQoLDA0ODw"}}, "keys", "curve"),
    ({"keys": {"p256dh": "good", "auth": "AAECAwQFBgcICQoLDA0O"}}, "keys", "16 bytes"),
    ({"keys": {"p256dh": "good", "auth": "AAECAwQFBgcICQoLDA0ODw+/"}}, "keys", "16 bytes"),
]


@pytest.mark.parametrize(("change", "where", "says"), BAD_BODIES)
def test_a_subscription_no_browser_would_send_is_refused(user: User, change, where, says):
    browser = Browser()
    body: dict[str, Any] = {"endpoint": "https://push.example.com/a", "keys": browser.keys}
    body.update(change)
    if isinstance(body.get("keys"), dict):
        keys = body["keys"]
        if keys.get("p256dh") == "good":
            keys["p256dh"] = browser.keys["p256dh"]
        elif keys.get("p256dh") == "compressed":
            keys["p256dh"] = _compressed(browser)
    answer = token_client(user).post(SUBSCRIPTIONS, body, format="json")
    assert answer.status_code == 400, answer.content
    assert where in answer.json() and says in json.dumps(answer.json())
    assert not PushSubscription.objects.exists()


def test_only_json_is_read(user: User):
    form = {"endpoint": "https://push.example.com/a"}
    assert token_client(user).post(SUBSCRIPTIONS, form).status_code == 415


def test_a_browser_subscribes_and_moves_with_whoever_signs_in(user: User, other_user: User):
    browser = Browser()
    mine = subscribe(token_client(user), "https://fcm.googleapis.com/fcm/send/abc:1", browser)
    assert mine.status_code == 201
    assert mine.json()["endpoint"] == "https://fcm.googleapis.com/fcm/send/abc:1"
    saved = PushSubscription.objects.get()
    assert (saved.user, saved.p256dh, saved.auth) == (user, *browser.keys.values())
    # The same browser, another person signed in: the endpoint is theirs now, once.
    again = subscribe(token_client(other_user), saved.endpoint, Browser())
    assert again.status_code == 201
    assert PushSubscription.objects.get().user == other_user


def test_unsubscribing_takes_only_your_own(user: User, other_user: User):
    endpoint = "https://updates.push.services.mozilla.com/wpush/v2/xyz"
    assert subscribe(token_client(user), endpoint, Browser()).status_code == 201
    theirs = token_client(other_user).delete(SUBSCRIPTIONS, {"endpoint": endpoint}, format="json")
    assert theirs.status_code == 404
    assert PushSubscription.objects.filter(user=user).exists()
    own = token_client(user).delete(SUBSCRIPTIONS, {"endpoint": endpoint}, format="json")
    assert own.status_code == 204 and not PushSubscription.objects.exists()
    assert token_client(user).delete(SUBSCRIPTIONS, {}, format="json").status_code == 400


def test_a_person_keeps_at_most_ten_browsers(user: User):
    client = token_client(user)
    for n in range(webpush.MAX_PER_PERSON + 2):
        assert subscribe(client, f"https://push.example.com/{n}", Browser()).status_code == 201
    kept = set(PushSubscription.objects.values_list("endpoint", flat=True))
    assert len(kept) == webpush.MAX_PER_PERSON
    assert "https://push.example.com/11" in kept and "https://push.example.com/0" not in kept


# --- pushing ---------------------------------------------------------------------------------


@pytest.fixture
def clip(user: User) -> Post:
    return PostFactory(owner=user)


def test_a_like_reaches_the_browser_encrypted_and_signed(
    commits: Any, user: User, clip: Post, push_service: PushService, settings: Any
):
    settings.WEBPUSH_CONTACT = ""
    settings.DEFAULT_FROM_EMAIL = "Riff <hello@riff.example>"
    browser = Browser()
    assert subscribe(token_client(user), push_service.endpoint("alice"), browser).status_code == 201
    with commits():
        feed_services.like_create(user=UserFactory(username="bob"), post=clip)
    (push,) = push_service.received
    assert push.path == "/push/alice"
    assert push.headers["content-encoding"] == "aes128gcm"
    assert push.headers["ttl"] == str(webpush.TTL_S)
    claims = verify_vapid(push.headers["authorization"], audience=push_service.origin)
    assert claims["sub"] == "mailto:hello@riff.example"
    assert browser.read(push.body) == {
        "title": "Riff",
        "body": "bob liked your clip",
        "url": reverse("feed:post_detail", kwargs={"pk": clip.pk}),
        "tag": f"like:{clip.pk}",
    }
    saved = PushSubscription.objects.get()
    assert saved.last_sent is not None and saved.failures == 0

    # A second like: the line as the list reads it, under the same tag.
    with commits():
        feed_services.like_create(user=UserFactory(username="cyd"), post=clip)
    assert len(push_service.received) == 2
    assert browser.read(push_service.received[1].body)["body"] == "cyd and bob liked your clip"


def test_a_kind_turned_off_is_not_pushed(
    commits: Any, user: User, clip: Post, push_service: PushService
):
    subscribe(token_client(user), push_service.endpoint("alice"), Browser())
    services.notification_settings_set(user=user, off=["like"])
    with commits():
        feed_services.like_create(user=UserFactory(username="bob"), post=clip)
    assert push_service.received == []


def test_a_line_read_meanwhile_is_not_pushed(user: User, clip: Post, push_service: PushService):
    subscribe(token_client(user), push_service.endpoint("alice"), Browser())
    services.notifications_send(
        kind=Notification.Kind.LIKE,
        recipient_ids=[user.pk],
        group_key=f"like:{clip.pk}",
        actor_id=UserFactory(username="bob").pk,
        post_id=clip.pk,
    )
    services.notifications_mark_read(user=user)
    assert webpush.push_line(user_ids=[user.pk], group_key=f"like:{clip.pk}") == 0
    assert push_service.received == []


def _liked(user: User, clip: Post, name: str) -> int:
    services.notifications_send(
        kind=Notification.Kind.LIKE,
        recipient_ids=[user.pk],
        group_key=f"like:{clip.pk}",
        actor_id=UserFactory(username=name).pk,
        post_id=clip.pk,
    )
    return webpush.push_line(user_ids=[user.pk], group_key=f"like:{clip.pk}")


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/abc",  # not https
        "https://127.0.0.1/push",
        "https://10.1.2.3:8443/push",
        "https://localhost/push",
        "https://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    ],
)
def test_a_production_instance_never_pushes_inside_its_own_network(
    user: User, settings: Any, endpoint: str
):
    settings.WEBPUSH_LOCAL_ENDPOINTS = False  # as in production
    answer = subscribe(token_client(user), endpoint, Browser())
    assert answer.status_code == 400
    assert "isn't on the public internet over https" in str(answer.json())
    assert not PushSubscription.objects.exists()


def test_a_subscription_whose_host_turns_inward_is_dropped_unsent(
    user: User, clip: Post, push_service: PushService, settings: Any
):
    subscribe(token_client(user), push_service.endpoint("alice"), Browser())  # local: allowed
    settings.WEBPUSH_LOCAL_ENDPOINTS = False
    assert _liked(user, clip, "bob") == 0
    assert push_service.received == [] and not PushSubscription.objects.exists()


def test_a_subscription_the_push_service_says_is_gone_is_deleted(
    user: User, clip: Post, push_service: PushService
):
    subscribe(token_client(user), push_service.endpoint("alice"), Browser())
    push_service.status = 410
    assert _liked(user, clip, "bob") == 0
    assert len(push_service.received) == 1 and not PushSubscription.objects.exists()


def test_failures_are_counted_and_five_in_a_row_drop_it(
    user: User, clip: Post, push_service: PushService
):
    subscribe(token_client(user), push_service.endpoint("alice"), Browser())
    push_service.status = 500
    assert _liked(user, clip, "bob") == 0
    assert PushSubscription.objects.get().failures == 1
    push_service.status = 201  # a success starts the count again
    assert _liked(user, clip, "cyd") == 1
    assert PushSubscription.objects.get().failures == 0
    push_service.status = 503
    for n in range(webpush.MAX_FAILURES - 1):
        _liked(user, clip, f"fan{n}")
    assert PushSubscription.objects.get().failures == webpush.MAX_FAILURES - 1
    _liked(user, clip, "last")
    assert not PushSubscription.objects.exists()


def test_an_unreachable_push_service_counts_a_failure(user: User, clip: Post):
    closed = PushService()
    endpoint = closed.endpoint("alice")
    closed.close()  # nothing listens there now
    subscribe(token_client(user), endpoint, Browser())
    assert _liked(user, clip, "bob") == 0
    assert PushSubscription.objects.get().failures == 1


def test_people_with_no_subscription_cost_no_push_work(
    user: User, django_capture_on_commit_callbacks: Any
):
    # Ten thousand followers (made in bulk: the factory's password hashing would take minutes).
    followers = User.objects.bulk_create(
        User(username=f"fan{n}", email=f"fan{n}@example.com") for n in range(10_000)
    )
    PushSubscription.objects.create(
        user=followers[7], endpoint="https://push.example.com/7", **Browser().keys
    )
    with (
        django_capture_on_commit_callbacks() as callbacks,
        CaptureQueriesContext(connection) as queries,
    ):
        services.notifications_send(
            kind=Notification.Kind.NEW_POST,
            recipient_ids=[fan.pk for fan in followers],
            group_key=f"new_post:{user.pk}",
            actor_id=user.pk,
        )
    asked = [c for c in callbacks if getattr(c, "func", None) is webpush._ask]
    assert [c.args for c in asked] == [([followers[7].pk], f"new_post:{user.pk}")]
    on_subscriptions = [q for q in queries if '"social_pushsubscription"' in q["sql"]]
    assert len(on_subscriptions) == 1

    # Nobody subscribed: one query, and no task at all.
    PushSubscription.objects.all().delete()
    with django_capture_on_commit_callbacks() as callbacks:
        services.notifications_send(
            kind=Notification.Kind.NEW_POST,
            recipient_ids=[fan.pk for fan in followers],
            group_key=f"new_post:{user.pk}:2",
            actor_id=user.pk,
        )
    assert not [c for c in callbacks if getattr(c, "func", None) is webpush._ask]


# --- the service worker and the admin --------------------------------------------------------


def test_the_service_worker_is_served_from_the_root(client: Any):
    answer = client.get("/sw.js")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/javascript")
    assert answer["Cache-Control"] == "no-cache"
    source = answer.content.decode()
    assert 'addEventListener("push"' in source and 'addEventListener("notificationclick"' in source


def test_the_admin_never_shows_the_private_key(client: Any, user: User):
    key = webpush.vapid_key()
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw-12345678"))
    page = client.get(reverse("admin:social_vapidkey_change", args=[key.pk])).content.decode()
    assert key.public_key in page
    assert "PRIVATE KEY" not in page and key.private_pem.splitlines()[1] not in page
    assert client.get(reverse("admin:social_vapidkey_add")).status_code == 403
    PushSubscription.objects.create(user=user, endpoint="https://push.example.com/1", p256dh="x")
    listing = client.get(reverse("admin:social_pushsubscription_changelist")).content.decode()
    assert "https://push.example.com/1" in listing and "alice" in listing
