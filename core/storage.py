"""S3-compatible media storage that browsers reach at another address than Riff does.

In docker-compose.yml, Riff reads and writes MinIO at http://minio:9000, an address only the
containers know, and browsers fetch clips through the site's own proxy, which passes
/<bucket>/... on to MinIO with the Host header unchanged. An S3 (v4) signature covers the
host and the path, so the URLs handed to browsers are presigned for the public origin, path
style: MinIO then sees the very host and path that were signed.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import botocore
from botocore.config import Config
from django.core.exceptions import ImproperlyConfigured
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class PublicEndpointS3Storage(S3Storage):
    """S3Storage whose URLs are presigned against `public_endpoint_url` (an origin, such as
    https://riff.example.com), while every read and write goes to `endpoint_url`."""

    def __init__(self, *, public_endpoint_url: str | None = None, **options: Any) -> None:
        if public_endpoint_url:
            parts = urlsplit(public_endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ImproperlyConfigured(
                    f"The public S3 endpoint must be an http(s) origin: {public_endpoint_url!r}"
                )
            if parts.path.strip("/") or parts.query:
                # The proxy passes the path on unchanged, and the signature covers it.
                raise ImproperlyConfigured(
                    f"The public S3 endpoint must have no path: {public_endpoint_url!r}"
                )
        self.public_endpoint_url = public_endpoint_url or None
        self._public_clients: dict[bool, Any] = {}
        self._public_lock = threading.Lock()
        super().__init__(**options)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_public_clients", None)
        state.pop("_public_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._public_clients = {}
        self._public_lock = threading.Lock()

    def public_client(self, *, signed: bool = True) -> Any:
        """A boto3 S3 client for the public endpoint, only ever used to sign URLs."""
        with self._public_lock:
            client = self._public_clients.get(signed)
            if client is None:
                config = self.client_config.merge(
                    Config(
                        s3={"addressing_style": "path"},
                        signature_version="s3v4" if signed else botocore.UNSIGNED,
                    )
                )
                client = self._create_session().client(
                    "s3",
                    region_name=self.region_name,
                    endpoint_url=self.public_endpoint_url,
                    config=config,
                )
                # boto3 clients are thread-safe; one per storage is enough.
                self._public_clients[signed] = client
            return client

    def url(
        self,
        name: str,
        parameters: dict[str, Any] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        """The object's URL at the public endpoint, presigned unless querystring_auth is off."""
        if not self.public_endpoint_url or self.custom_domain:
            return super().url(name, parameters, expire, http_method)
        name = self._normalize_name(clean_name(name))
        params = {**(parameters or {}), "Bucket": self.bucket_name, "Key": name}
        client = self.public_client(signed=self.querystring_auth)
        url: str = client.generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=self.querystring_expire if expire is None else expire,
            HttpMethod=http_method,
        )
        return url
