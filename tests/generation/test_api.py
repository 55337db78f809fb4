"""The generation API: create (idempotent), list, detail, cancel, delete a draft, post it,
remix a post; bad input and other people's jobs get clear 4xx answers."""

from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from generation.models import GenerationJob
from moderation.models import PolicyCategory, PolicyRule, PromptRefusal
from tests.clients import token_client
from tests.factories import PostFactory

from .factories import job_in_state

pytestmark = pytest.mark.django_db
URL = "/api/v1/generations/"
State = GenerationJob.State


@pytest.fixture
def client(user):
    return token_client(user)


def make(client, **body):
    headers = {name: body.pop(name) for name in list(body) if name.startswith("HTTP_")}
    return client.post(
        URL, {"prompt": "a heron at dawn", "steps": 4, **body}, format="json", **headers
    )


def test_create_then_detail_and_list(client, user):
    response = make(client, aspect="1:1", duration_s=1.5, seed=42)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "queued" and body["queue_position"] == 1
    assert (body["aspect"], body["seed"], body["model_key"]) == ("1:1", 42, "riff-house")
    assert body["video_url"] is None and body["progress"] == {"step": 0, "total": 0}
    detail = client.get(f"{URL}{body['id']}/").json()
    assert detail["id"] == body["id"]
    listing = client.get(URL).json()
    assert [j["id"] for j in listing["results"]] == [body["id"]]


def test_the_words_a_model_wont_draw_are_named_and_the_job_is_made(client):
    response = make(client, prompt="My dog surfing a huge wave at sunset", model_key="riff-house")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "queued"
    assert body["unknown_words"] == ["dog", "surfing", "wave", "sunset"]
    assert body["prompt_note"] == (
        "riff-house draws coloured shapes; it won't draw: dog, surfing, wave, sunset."
    )
    assert client.get(f"{URL}{body['id']}/").json()["unknown_words"] == body["unknown_words"]
    known = make(client, prompt="a red circle moving left on the beach").json()
    assert (known["unknown_words"], known["prompt_note"]) == ([], "")


def test_idempotency_key_replays_the_first_job(client):
    first = client.post(URL, {"prompt": "a heron"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(URL, {"prompt": "a heron"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert GenerationJob.objects.count() == 1


def test_a_reused_idempotency_key_with_another_body_is_422(client):
    first = make(client, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    same = make(client, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (same.status_code, same.json()["id"]) == (200, first.json()["id"])
    for body, differs in [({"prompt": "a crane at dusk"}, "prompt"), ({"steps": 5}, "steps")]:
        other = make(client, HTTP_IDEMPOTENCY_KEY="k-1", **body)
        assert other.status_code == 422
        assert other.json() == {
            "detail": f"The Idempotency-Key “k-1” was already used for another request (it "
            f"differs in: {differs}). Send the same request to get that job back, or a new key "
            "to start a new one.",
            "job": first.json()["id"],
        }
    assert GenerationJob.objects.count() == 1
    assert make(client, HTTP_IDEMPOTENCY_KEY="k-2", prompt="a crane at dusk").status_code == 201


def test_each_models_caps_on_steps_length_and_size_are_4xx_naming_the_limit(
    client, user, settings, tiny_models
):
    settings.DEBUG = True  # test models: for staff, and only on a DEBUG instance
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    tiny = settings.RIFF_MODELS["tiny-wan"]  # 8 fps; 9:16 is 64x112, 16:9 is 112x64
    caps = {"max_steps": 8, "max_frames": 12, "max_width": 100, "max_height": 120}
    settings.RIFF_MODELS = {**settings.RIFF_MODELS, "tiny-wan": {**tiny, **caps}}
    label = tiny["label"]
    for body, field, message in [
        ({"steps": 9}, "steps", f"{label} takes at most 8 steps; ask for fewer."),
        (
            {"duration_s": 1.6},
            "duration_s",
            f"{label} makes clips of at most 1.5 seconds; ask for less.",
        ),
        (
            {"aspect": "16:9"},
            "aspect",
            f"{label} makes frames of at most 100×120 pixels, and its 16:9 clips are 112×64; "
            "choose another shape.",
        ),
    ]:
        response = make(client, model_key="tiny-wan", **{"steps": 8, "duration_s": 1.5, **body})
        assert response.status_code == 400, body
        assert response.json() == {field: [message]}
    assert not GenerationJob.objects.exists()
    listed = {m["key"]: m for m in client.get(f"{URL}models/").json()}
    assert listed["tiny-wan"] | {"label": ""} == {
        "key": "tiny-wan",
        "label": "",
        "max_seconds": 1.5,
        "max_steps": 8,
        "max_width": 100,
        "max_height": 120,
    }
    ok = make(client, model_key="tiny-wan", steps=8, duration_s=1.5, aspect="9:16")
    assert ok.status_code == 201, ok.json()


def test_only_installed_models_are_offered_and_accepted(client, user, settings, tiny_models):
    settings.DEBUG = True  # test models: for staff, and only on a DEBUG instance
    models = client.get(f"{URL}models/").json()
    assert models == [
        {
            "key": "riff-house",
            "label": settings.RIFF_MODELS["riff-house"]["label"],
            "max_seconds": 2.0,
            "max_steps": 50,
            "max_width": 912,
            "max_height": 912,
        }
    ]
    for key in ("tiny-wan", "wan2.1-t2v-1.3b"):  # a test model; a model without weights
        response = make(client, model_key=key)
        assert response.status_code == 400
        assert response.json()["model_key"] == [
            f"“{key}” isn't available on this Riff; ask GET /api/v1/generations/models/ "
            "for those that are."
        ]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    # Each with its own longest clip: the house model's 2 s, the API's 10 s for the others.
    assert [(m["key"], m["max_seconds"]) for m in client.get(f"{URL}models/").json()] == [
        ("tiny-wan", 10.0),
        ("tiny-ltx", 10.0),
        ("riff-house", 2.0),
    ]
    assert make(client, model_key="tiny-wan", duration_s=1).status_code == 201
    # Another model may make longer clips; this one still refuses them, saying why.
    too_long = make(client, model_key="riff-house", duration_s=5)
    assert too_long.status_code == 400
    assert too_long.json() == {
        "duration_s": [
            "Riff house model (small, trained here) makes clips of at most 2 seconds; ask for less."
        ]
    }
    settings.DEBUG = False
    assert make(client, model_key="tiny-wan", duration_s=1).status_code == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"model_key": "sora-9000"}, "model_key"),
        ({"aspect": "4:3"}, "aspect"),
        ({"duration_s": 60}, "duration_s"),
        # The house model's clips last at most 2 seconds.
        ({"model_key": "riff-house", "duration_s": 5}, "duration_s"),
        ({"steps": 0}, "steps"),
        # A big model asked for far more steps than it needs: over its cap.
        ({"model_key": "riff-house", "steps": 100}, "steps"),
        ({"guidance": -1}, "guidance"),
        ({"seed": -5}, "seed"),
    ],
)
def test_bad_input_is_400_and_queues_nothing(client, body, field):
    response = make(client, **body)
    assert response.status_code == 400
    assert field in response.json()
    assert not GenerationJob.objects.exists()


def test_a_clip_longer_than_any_model_here_makes_is_refused_in_words(client):
    response = make(client, model_key="riff-house", duration_s=2.5)
    assert response.status_code == 400
    assert response.json() == {
        "duration_s": [
            "No model here makes clips longer than 2 seconds (riff-house: 2 s); ask for less."
        ]
    }
    assert make(client, model_key="riff-house", duration_s=2).status_code == 201


def test_policy_refusal_names_the_rule(client):
    category = PolicyCategory.objects.create(
        slug="test-forbidden", name="Forbidden things", description="Not on this instance."
    )
    PolicyRule.objects.create(category=category, kind=PolicyRule.Kind.TERM, value="forbidden")
    response = make(client, prompt="something forbidden")
    assert response.status_code == 400
    body = response.json()
    assert "forbidden" in body["rule"] and body["category"] == "test-forbidden"
    assert "can't be generated" in body["prompt"][0]
    refusal = PromptRefusal.objects.get()
    assert body["appeal_url"] == f"http://testserver/appeals/refusal/{refusal.pk}/"
    assert not GenerationJob.objects.exists()


def test_quota_exhaustion_is_429_with_a_message(client, settings):
    settings.GENERATION_CONCURRENT_QUOTA = 1
    assert make(client).status_code == 201
    response = make(client)
    assert response.status_code == 429
    assert "in the works" in response.json()["detail"]


def test_anonymous_gets_401():
    response = APIClient().post(URL, {"prompt": "x"}, format="json")
    assert response.status_code == 401


def test_other_peoples_jobs_are_404(client, other_user):
    theirs = job_in_state(other_user, State.SUCCEEDED)
    for method, path in [
        ("get", f"{URL}{theirs.pk}/"),
        ("delete", f"{URL}{theirs.pk}/"),
        ("post", f"{URL}{theirs.pk}/cancel/"),
        ("post", f"{URL}{theirs.pk}/post/"),
    ]:
        assert getattr(client, method)(path).status_code == 404, path
    assert client.get(f"{URL}not-a-uuid/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_draft


def test_cancel(client, user):
    job = job_in_state(user)
    response = client.post(f"{URL}{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    again = client.post(f"{URL}{job.pk}/cancel/")
    assert again.status_code == 400 and "already cancelled" in str(again.json())


def test_post_a_draft_and_delete_another(client, user):
    draft = job_in_state(user, State.SUCCEEDED)
    response = client.post(
        f"{URL}{draft.pk}/post/", {"caption": "dawn", "visibility": "followers"}, format="json"
    )
    assert response.status_code == 201, response.json()
    post = response.json()
    assert (post["caption"], post["visibility"], post["model_name"]) == (
        "dawn",
        "followers",
        "tiny-wan",
    )
    assert urlsplit(post["video_url"]).path.endswith(".mp4")
    assert client.post(f"{URL}{draft.pk}/post/").status_code == 400

    other = job_in_state(user, State.SUCCEEDED)
    assert client.delete(f"{URL}{other.pk}/").status_code == 204
    unfinished = job_in_state(user, State.RUNNING)
    assert client.delete(f"{URL}{unfinished.pk}/").status_code == 400


def test_remix_a_post(client, other_user):
    post = PostFactory(owner=other_user)
    response = client.post(f"/api/v1/posts/{post.pk}/remix/", {"prompt": "at night"})
    assert response.status_code == 201, response.json()
    assert response.json()["remix_of"] == post.pk
    job = GenerationJob.objects.get()
    assert job.source_video == post.video.name

    locked = PostFactory(owner=other_user, allow_remix=False)
    denied = client.post(f"/api/v1/posts/{locked.pk}/remix/", {"prompt": "x"})
    assert denied.status_code == 403 and "doesn't allow remixes" in denied.json()["detail"]
    hidden = PostFactory(owner=other_user, visibility="private")
    assert client.post(f"/api/v1/posts/{hidden.pk}/remix/", {"prompt": "x"}).status_code == 404
