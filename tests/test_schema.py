"""The OpenAPI schema: generated without warnings, valid, and describing real bodies."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The schema as `manage.py spectacular --validate --fail-on-warn` writes it."""
    path: Path = tmp_path_factory.mktemp("schema") / "schema.yml"
    # Raises on any warning, error or validation failure.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_endpoint_serves_it(api_client):
    response = api_client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Riff API"


def test_docs_page_loads(api_client):
    response = api_client.get(reverse("api-docs"))
    assert response.status_code == 200


def test_every_api_endpoint_is_documented(schema):
    expected = {
        "/api/v1/auth/token/": {"post", "delete"},
        "/api/v1/me/": {"get", "patch"},
        "/api/v1/users/{handle}/": {"get"},
        "/api/v1/users/{handle}/follow/": {"post", "delete"},
        "/api/v1/users/{handle}/followers/": {"get"},
        "/api/v1/users/{handle}/following/": {"get"},
        "/api/v1/users/{handle}/posts/": {"get"},
        "/api/v1/feed/{feed}/": {"get"},
        "/api/v1/posts/": {"get"},
        "/api/v1/posts/{id}/": {"get", "patch", "delete"},
        "/api/v1/posts/{id}/like/": {"post", "delete"},
        "/api/v1/posts/{id}/comments/": {"get", "post"},
        "/api/v1/comments/{id}/": {"delete"},
        "/api/v1/events/": {"post"},
        "/api/v1/generations/": {"get", "post"},
        "/api/v1/generations/{job_id}/": {"get", "delete"},
        "/api/v1/generations/{job_id}/cancel/": {"post"},
        "/api/v1/generations/{job_id}/post/": {"post"},
        "/api/v1/posts/{id}/remix/": {"post"},
        "/api/v1/verify/": {"post"},
        "/api/v1/verify/{check_id}/": {"get"},
    }
    for path, methods in expected.items():
        assert path in schema["paths"], path
        documented = set(schema["paths"][path]) - {"parameters"}
        assert documented == methods, path


def resolve(schema: dict, ref_or_schema: dict) -> dict:
    ref = ref_or_schema.get("$ref")
    if ref is None:
        return ref_or_schema
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_request_and_response_bodies_are_described(schema):
    events = schema["paths"]["/api/v1/events/"]["post"]
    content = events["requestBody"]["content"]
    assert {"application/json", "text/plain"} <= set(content)
    batch = resolve(schema, content["application/json"]["schema"])
    assert batch["properties"]["events"]["maxItems"] == 200
    item = resolve(schema, batch["properties"]["events"]["items"])
    assert set(item["properties"]) == {"post", "kind", "value", "client_id"}
    assert "202" in events["responses"]

    verify = schema["paths"]["/api/v1/verify/"]["post"]
    upload = resolve(schema, verify["requestBody"]["content"]["multipart/form-data"]["schema"])
    assert upload["properties"]["video"]["format"] == "binary"
    assert {"200", "400", "413"} <= set(verify["responses"])

    me_patch = schema["paths"]["/api/v1/me/"]["patch"]["requestBody"]["content"]
    multipart = resolve(schema, me_patch["multipart/form-data"]["schema"])
    assert multipart["properties"]["avatar"]["format"] == "binary"

    feed = schema["paths"]["/api/v1/feed/{feed}/"]["get"]
    params = {p["name"]: p for p in feed["parameters"]}
    assert sorted(params["feed"]["schema"]["enum"]) == ["following", "for-you"]
    assert {"cursor", "limit"} <= set(params)
    page = resolve(schema, feed["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(page["properties"]) == {"results", "next", "next_cursor"}
    post = resolve(schema, page["properties"]["results"]["items"])
    assert {"id", "video_url", "liked", "owner", "remix_of"} <= set(post["properties"])

    comment = schema["paths"]["/api/v1/posts/{id}/comments/"]["post"]
    body = resolve(schema, comment["requestBody"]["content"]["application/json"]["schema"])
    assert body["properties"]["body"]["maxLength"] == 500
    assert "201" in comment["responses"]


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method != "parameters"
    ]


def test_every_operation_documents_the_answers_the_plumbing_gives(schema):
    """401 where a sign-in is needed, 403 for moderators' endpoints, 400 for a bad cursor,
    429 from the limits everywhere, 503 for writes while the limits can't be counted."""
    signed_in = 0
    for path, method, op in operations(schema):
        codes = set(op["responses"])
        where = f"{method.upper()} {path}"
        assert "429" in codes, where
        if {} not in op.get("security", [{}]):
            signed_in += 1
            assert "401" in codes, where
        if "/moderation/" in path:
            assert "403" in codes, where
        if any(p["name"] == "cursor" for p in op.get("parameters", [])):
            assert "400" in codes, where
        if method in ("post", "put", "patch", "delete"):
            assert "503" in codes, where
    assert signed_in >= 25  # most of the API needs a sign-in


def test_generation_input_offers_only_installed_models_and_their_longest_clip(schema):
    """Models offered to people (installed, no test models); duration_s no longer than the
    longest any of them makes, with each one's limit named."""
    from generation.selectors import model_limit_seconds, models_offered

    offered = models_offered(user=None)
    assert offered == ["riff-house"]  # the only model with weights here
    job_in = schema["components"]["schemas"]["GenerationJobInRequest"]["properties"]
    assert resolve(schema, job_in["model_key"])["enum"] == offered
    assert job_in["duration_s"]["maximum"] == max(model_limit_seconds(k) for k in offered) == 2.0
    assert "(riff-house: 2 s)" in job_in["duration_s"]["description"]
    models = schema["paths"]["/api/v1/generations/models/"]["get"]["responses"]["200"]
    item = resolve(schema, models["content"]["application/json"]["schema"]["items"])
    assert item["properties"]["max_seconds"].get("nullable") is not True


def test_bodies_document_their_refusals_and_patches_must_change_something(schema):
    for path, method, op in operations(schema):
        if "requestBody" in op:
            assert {"400", "415"} <= set(op["responses"]), f"{method.upper()} {path}"
        if method == "patch":
            assert op["requestBody"]["required"] is True, path
            for content in op["requestBody"]["content"].values():
                assert resolve(schema, content["schema"])["minProperties"] == 1, path


def test_a_json_profile_update_has_no_avatar(schema):
    content = schema["paths"]["/api/v1/me/"]["patch"]["requestBody"]["content"]
    assert "avatar" not in resolve(schema, content["application/json"]["schema"])["properties"]
    assert "avatar" in resolve(schema, content["multipart/form-data"]["schema"])["properties"]
