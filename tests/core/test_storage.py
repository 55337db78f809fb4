"""Media URLs are presigned for the public origin (the site, whose proxy passes the bucket's
path on to MinIO) while Riff itself talks to MinIO inside compose. There is no MinIO here:
each signature is checked the way MinIO checks it, by recomputing it for the host and path
the request arrives with."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.storage import PublicEndpointS3Storage

SECRET = "minio-secret-key"  # noqa: S105


def storage(**options: object) -> PublicEndpointS3Storage:
    """The storage as config/settings.py builds it for compose."""
    return PublicEndpointS3Storage(
        **{
            "bucket_name": "riff-media",
            "endpoint_url": "http://minio:9000",
            "public_endpoint_url": "https://riff.example.com",
            "addressing_style": "path",
            "access_key": "minio-user",
            "secret_key": SECRET,
            "file_overwrite": False,
            **options,
        }
    )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signature_holds(url: str, *, host: str, path: str | None = None) -> bool:
    """Whether the presigned GET `url` verifies when it reaches S3 with this Host header and
    path (by default the URL's own): SigV4 query auth, recomputed independently of botocore."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    given = query.pop("X-Amz-Signature")
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-SignedHeaders"] == "host"
    canonical_query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
    canonical = "\n".join(
        ["GET", path or parts.path, canonical_query, f"host:{host}", "", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = query["X-Amz-Credential"].split("/", 1)[1]  # date/region/s3/aws4_request
    date, region, service, _ = scope.split("/")
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            query["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = _hmac(f"AWS4{SECRET}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.compare_digest(_hmac(key, to_sign).hex(), given)


def test_urls_are_presigned_for_the_public_origin_path_style() -> None:
    url = storage().url("clips/2026/a clip.mp4")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "riff.example.com")
    # The bucket's path, which the proxy routes to MinIO unchanged.
    assert parts.path == "/riff-media/clips/2026/a%20clip.mp4"
    # MinIO, reached through the proxy with the Host header kept, accepts it...
    assert signature_holds(url, host="riff.example.com")
    # ...and nowhere else: the signature covers the host and the path.
    assert not signature_holds(url, host="minio:9000")
    assert not signature_holds(url, host="riff.example.com", path="/clips/2026/a%20clip.mp4")


def test_the_signature_changes_with_the_public_host() -> None:
    name = "clips/a.mp4"
    here, there = storage(), storage(public_endpoint_url="https://other.example.com")
    for _ in range(5):  # both signed within the same second, so only the host differs
        one = dict(parse_qsl(urlsplit(here.url(name)).query))
        other = dict(parse_qsl(urlsplit(there.url(name)).query))
        if one["X-Amz-Date"] == other["X-Amz-Date"]:
            break
    assert one["X-Amz-Date"] == other["X-Amz-Date"]
    assert one["X-Amz-Credential"] == other["X-Amz-Credential"]
    assert one["X-Amz-Signature"] != other["X-Amz-Signature"]
    assert signature_holds(there.url(name), host="other.example.com")


def test_a_port_in_the_public_origin_is_signed_too() -> None:
    url = storage(public_endpoint_url="http://localhost:8080").url("clips/a.mp4")
    assert urlsplit(url).netloc == "localhost:8080"
    assert signature_holds(url, host="localhost:8080")
    assert not signature_holds(url, host="localhost")


def test_unsigned_urls_when_querystring_auth_is_off() -> None:
    url = storage(querystring_auth=False).url("avatars/me.png")
    assert url == "https://riff.example.com/riff-media/avatars/me.png"


def test_reads_and_writes_still_go_to_the_inside_endpoint() -> None:
    client = storage().connection.meta.client
    assert client.meta.endpoint_url == "http://minio:9000"


def test_without_a_public_endpoint_urls_are_the_endpoints_own() -> None:
    url = storage(public_endpoint_url=None).url("clips/a.mp4")
    assert url.startswith("http://minio:9000/riff-media/clips/a.mp4?")


@pytest.mark.parametrize(
    "bad", ["riff.example.com", "https://riff.example.com/media", "ftp://riff.example.com"]
)
def test_the_public_endpoint_must_be_an_origin(bad: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        storage(public_endpoint_url=bad)
