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
    assert "/healthz" in " ".join(web["healthcheck"]["test"])


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


def test_dockerfile_keeps_the_torch_pin():
    assert "torch==2.13.0" in (ROOT / "Dockerfile").read_text()


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode
    != 0,
    reason="docker compose is not installed here",
)
def test_docker_compose_config_validates():
    result = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env={"SECRET_KEY": "x" * 50, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
