"""Production settings refuse a missing secret and pass Django's deploy checklist."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from config.database import database

ROOT = Path(__file__).resolve().parent.parent
STRONG_KEY = "k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    unset = {"SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_debug_is_off_unless_asked_for():
    """A server started with nothing set is a production one: no debug pages, its own key."""
    result = manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    shown = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        SECRET_KEY=STRONG_KEY,
    )
    assert shown.stdout.strip() == "False", shown.stderr


def test_debug_off_without_secret_key_refuses_to_start():
    result = manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_off_refuses_the_development_key():
    result = manage(
        "check", DEBUG="0", SECRET_KEY="riff-embedded-development-key-not-for-production"
    )
    assert result.returncode != 0
    assert "development SECRET_KEY" in result.stderr


def test_production_settings_pass_check_deploy():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="riff.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _show(code: str, **env: str) -> str:
    """What production settings (DEBUG off) print for `code`, in a fresh process."""
    result = manage("shell", "--no-imports", "-c", code, DEBUG="0", SECRET_KEY=STRONG_KEY, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_forwarded_proto_is_trusted_only_behind_a_proxy_of_ours():
    """Without a trusted proxy, X-Forwarded-Proto is the client's own words: a plain-HTTP
    request must not pass for HTTPS by saying so."""
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    assert _show(code) == "None"
    assert _show(code, TRUSTED_PROXY_COUNT="1") == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_no_limit_counts_proxies_but_the_asgi_wrapper():
    """The ASGI wrapper (core/proxy.py) reads X-Forwarded-For by TRUSTED_PROXY_COUNT; DRF and
    allauth must read REMOTE_ADDR as it left it, not count the proxies a second time."""
    code = (
        "from django.conf import settings; "
        "print(settings.TRUSTED_PROXY_COUNT, settings.REST_FRAMEWORK['NUM_PROXIES'], "
        "settings.ALLAUTH_TRUSTED_PROXY_COUNT, settings.AXES_CLIENT_IP_CALLABLE)"
    )
    assert _show(code, TRUSTED_PROXY_COUNT="2") == "2 0 0 core.web.client_address"
    refused = manage("check", DEBUG="0", SECRET_KEY=STRONG_KEY, TRUSTED_PROXY_COUNT="-1")
    assert "TRUSTED_PROXY_COUNT must be 0 or more" in refused.stderr


def test_compose_media_urls_and_csp_name_the_public_site():
    """As docker-compose.yml sets it: Riff writes to MinIO inside compose, and pages load
    clips from URLs for the site itself (no network is needed to presign one)."""
    code = (
        "from django.conf import settings; "
        "from django.core.files.storage import default_storage as s; "
        "print(s.url('clips/a.mp4').split('?')[0]); "
        "print(s.connection.meta.client.meta.endpoint_url); "
        "print(settings.CONTENT_SECURITY_POLICY)"
    )
    url, endpoint, csp = _show(
        code,
        USE_S3="1",
        AWS_S3_ENDPOINT_URL="http://minio:9000",
        AWS_S3_PUBLIC_ENDPOINT_URL="https://riff.example.com",
        AWS_ACCESS_KEY_ID="minio-user",
        AWS_SECRET_ACCESS_KEY="minio-secret",  # noqa: S106
    ).splitlines()
    assert url == "https://riff.example.com/riff-media/clips/a.mp4"
    assert endpoint == "http://minio:9000"
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert "https://riff.example.com" in directives["media-src"].split()
    assert "http://minio:9000" not in csp


@pytest.mark.django_db
def test_riffs_connections_start_no_parallel_workers():
    """Short queries: starting two workers took 9 of a 13 ms For You query (config/database.py)."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"


def test_database_options_of_the_url_are_kept_beside_riffs():
    url = "postgres://riff@db:5432/riff?options=-c%20statement_timeout%3D5000"
    config = database(url, conn_max_age=60, parallel_workers=2)
    assert config["OPTIONS"]["options"] == (
        "-c statement_timeout=5000 -c max_parallel_workers_per_gather=2"
    )
    assert config["CONN_MAX_AGE"] == 60
    assert "OPTIONS" not in database("sqlite:///riff.sqlite3", conn_max_age=0, parallel_workers=0)


def test_a_process_on_the_embedded_queue_makes_its_folders(tmp_path: Path):
    """Not only bin/run: any process that sends on the folder queue (a management command,
    a bench) finds its folders made, and its message waits there for the worker."""
    send = "from config.celery import app; app.send_task('social.notify', args=['liked', {}])"
    result = manage(
        "shell", "--no-imports", "-c", send, DEBUG="1", REDIS_URL="", RIFF_DATA_DIR=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "broker").iterdir())) == 1
