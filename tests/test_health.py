"""/healthz and /readyz against the real database, Redis and storage."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "storage": "ok"}


def test_readyz_names_a_broker_that_is_down(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["broker"].startswith("unavailable: ConnectionError")
    assert body["checks"]["database"] == "ok"


def test_readyz_names_storage_that_cannot_be_written(client, settings, tmp_path):
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    settings.MEDIA_ROOT = blocker
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"].startswith("unavailable:")


def test_health_answers_head_for_load_balancers(client):
    assert client.head("/healthz").status_code == 200


def test_readyz_names_a_missing_queue_folder_in_embedded_mode(client, settings, tmp_path):
    settings.REDIS_URL = ""
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "absent")}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "absent" in response.json()["checks"]["broker"]
