"""docker-compose.yml can't run here (no Docker engine): check it by reading it."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_services(compose):
    assert set(compose["services"]) >= {
        "web",
        "worker",
        "worker-gpu",
        "beat",
        "postgres",
        "redis",
        "minio",
    }


def test_web_serves_asgi_with_daphne(compose):
    web = compose["services"]["web"]
    assert web["command"][:1] == ["daphne"]
    assert "config.asgi:application" in web["command"]
    check = " ".join(web["healthcheck"]["test"])
    assert "/healthz" in check
    # Over plain HTTP the SSL redirect would answer for Riff, and only allowed hosts get in.
    assert "X-Forwarded-Proto: https" in check
    assert "127.0.0.1" in web["environment"]["ALLOWED_HOSTS"].split(",")


def test_gpu_worker_takes_one_job_on_a_reserved_gpu(compose):
    gpu = compose["services"]["worker-gpu"]
    command = gpu["command"]
    assert command[command.index("-Q") + 1] == "gpu"
    assert command[command.index("--concurrency") + 1] == "1"
    assert command[command.index("--prefetch-multiplier") + 1] == "1"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"] and devices[0]["count"] == 1


def test_default_worker_and_beat(compose):
    worker = compose["services"]["worker"]["command"]
    assert worker[worker.index("-Q") + 1] == "default"
    assert compose["services"]["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_app_services_run_production_settings(compose):
    for name in ("web", "worker", "worker-gpu", "beat", "migrate"):
        env = compose["services"][name]["environment"]
        assert env["DEBUG"] == "0"
        assert env["USE_S3"] == "1"
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")


def test_every_variable_reference_is_well_formed():
    text = (ROOT / "docker-compose.yml").read_text()
    for ref in re.findall(r"(?<!\$)\$\{([^}]*)\}", text):
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*(:?[-?][^}]*)?", ref), ref


def test_no_password_has_a_default():
    """Compose refuses to start until each secret is set (${NAME:?...}), never falling back."""
    text = (ROOT / "docker-compose.yml").read_text()
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"):
        # `$${...}` is the container's own shell reading the variable, not compose.
        refs = re.findall(rf"(?<!\$)\$\{{{name}(:?[-?])?[^}}]*\}}", text)
        assert refs, name
        assert all(ref == ":?" for ref in refs), (name, refs)


def test_third_party_images_are_pinned(compose):
    for name, service in compose["services"].items():
        if "build" in service:
            continue  # Riff's own image, built here
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image else ""
        assert tag and tag != "latest" and any(c in tag for c in ".-"), (name, image)


def test_dockerfile_keeps_the_torch_pin():
    assert "torch==2.13.0" in (ROOT / "Dockerfile").read_text()


def test_dockerfile_collects_static_files_with_the_production_storage():
    # With DEBUG on, collectstatic writes no manifest and every page 500s under DEBUG=0.
    collect = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if "DEBUG=" in line]
    assert collect and all("DEBUG=0" in line for line in collect)


def test_build_context_leaves_out_local_state():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".data", "media", "db.sqlite3"} <= ignored


def compose_command() -> list[str] | None:
    """`docker compose` (v2) or `docker-compose` (v1), whichever is here."""
    if shutil.which("docker"):
        version = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if version.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.mark.skipif(compose_command() is None, reason="docker compose is not installed here")
def test_docker_compose_config_validates(tmp_path):
    command = [*compose_command(), "-f", str(ROOT / "docker-compose.yml"), "config", "-q"]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        command, env={**env, "SECRET_KEY": "x" * 50}, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    missing = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert missing.returncode != 0
    assert "SECRET_KEY" in missing.stderr
