"""Production settings refuse a missing secret and pass Django's deploy checklist."""

import os
import subprocess
import sys
from pathlib import Path

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
