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
    # The default queue, and the checks of uploaded videos (prefork: time limits hold).
    assert worker[worker.index("-Q") + 1] == "default,verify"
    assert "--pool" not in worker
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


CADDYFILE = ROOT / "deploy" / "Caddyfile"


def caddyfile() -> str:
    """The proxy's Caddyfile without its comments."""
    return "\n".join(line.split("#", 1)[0] for line in CADDYFILE.read_text().splitlines())


def test_only_the_proxy_publishes_ports(compose):
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == {"proxy"}
    ports = {str(port).split(":")[0] for port in compose["services"]["proxy"]["ports"]}
    assert ports == {"80", "443"}
    for service in compose["services"].values():
        assert "network_mode" not in service  # "host" would publish everything it listens on


def test_minio_is_reachable_only_inside_compose(compose):
    assert "ports" not in compose["services"]["minio"]
    for name in ("web", "worker", "worker-gpu", "beat", "migrate"):
        env = compose["services"][name]["environment"]
        assert env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
        # Browsers get URLs for the site itself, which the proxy passes on to MinIO.
        assert env["AWS_S3_PUBLIC_ENDPOINT_URL"] == env["SITE_URL"]
        assert "AWS_S3_CUSTOM_DOMAIN" not in env


def test_web_trusts_exactly_its_own_proxy(compose):
    web = compose["services"]["web"]
    assert "ports" not in web
    assert web["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    proxy = compose["services"]["proxy"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    assert proxy["environment"]["SITE_ADDRESS"] == web["environment"]["SITE_URL"]
    host = web["environment"]["ALLOWED_HOSTS"].split(",")[0]
    assert web["environment"]["SITE_URL"].endswith(f"://{host}")
    assert web["environment"]["CSRF_TRUSTED_ORIGINS"] == web["environment"]["SITE_URL"]


def test_the_proxy_is_caddy_pinned_to_a_release_with_riffs_caddyfile(compose):
    proxy = compose["services"]["proxy"]
    assert re.fullmatch(r"caddy:\d+\.\d+\.\d+", proxy["image"]), proxy["image"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert CADDYFILE.is_file()
    assert "{$SITE_ADDRESS}" in caddyfile()


def test_the_caddyfile_routes_the_site_to_web_and_the_bucket_to_minio(compose):
    text = caddyfile()
    web_port = compose["services"]["web"]["command"][
        compose["services"]["web"]["command"].index("-p") + 1
    ]
    bucket = compose["services"]["web"]["environment"]["AWS_STORAGE_BUCKET_NAME"]
    assert f"riff/{bucket}" in compose["services"]["createbucket"]["command"][0]
    # The media matcher: the bucket's path, reads only, handed to MinIO as it came (no
    # rewrite, no Host override: the signature covers both).
    matcher = re.search(r"@(\w+)\s*\{([^}]*)\}", text)
    assert matcher, text
    name, body = matcher.groups()
    assert re.search(rf"^\s*path\s+/{bucket}/\*\s*$", body, re.MULTILINE), body
    assert re.search(r"method\s+GET\s+HEAD", body)
    media = re.search(rf"handle @{name}\s*\{{([^}}]*)\}}", text)
    assert media and media.group(1).split() == ["reverse_proxy", "minio:9000"]
    # Everything else, WebSockets included, to daphne.
    site = re.search(r"handle\s*\{([^}]*)\}", text)
    assert site and site.group(1).split() == ["reverse_proxy", f"web:{web_port}"]
    for forbidden in ("header_up", "uri strip_prefix", "rewrite", "trusted_proxies"):
        assert forbidden not in text  # X-Forwarded-For is Caddy's own, never the client's


def test_the_proxy_refuses_bodies_only_above_the_largest_upload():
    match = re.search(r"max_size\s+(\d+)MB", caddyfile())
    assert match
    verify_max_mb = 100  # config/settings.py's VERIFY_MAX_UPLOAD_MB default, in MiB
    assert verify_max_mb * 2**20 < int(match.group(1)) * 10**6 <= 2 * verify_max_mb * 2**20


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed here")
def test_caddy_reads_the_caddyfile():
    """Where Caddy is installed: its own parser agrees with the routes read above."""
    import json

    result = subprocess.run(
        ["caddy", "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "SITE_ADDRESS": "https://riff.example.com"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    text = json.dumps(config)
    assert '"dial": "web:8000"' in text and '"dial": "minio:9000"' in text
    assert '"riff.example.com"' in text and '"/riff-media/*"' in text


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
