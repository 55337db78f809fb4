"""Admin previews run as Celery tasks (ranking/preview_runs.py): the admin queues one and
shows its progress, the worker computes it, and the page shows the result when it is ready;
little data is said in words; trained models are previewed and activated the same way."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any, cast

import pytest
import redis
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from feed.models import Post
from feed.selectors import Feed
from feed.services import feed_serve
from ranking.event_log import events_record
from ranking.intake import EventIn
from ranking.learner import Learner
from ranking.models import RankingConfig, RankingModel
from ranking.preview_runs import _Tracker, preview_run_get, preview_run_queue
from ranking.services import ranking_config_activate, ranking_config_create
from ranking.tasks import ranking_preview
from tests.factories import PostFactory, UserFactory

from .logs import liked_or_skipped

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client) -> Client:
    boss = User.objects.create_superuser(
        username="boss", email="boss@example.com", password="pass-word-123"
    )
    client.force_login(boss)
    return client


@pytest.fixture
def default_queue(settings: Any) -> Iterator[redis.Redis]:
    """The real broker's `default` queue, emptied before and after."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("default")
    yield client
    client.delete("default")
    client.close()


def _sent(queue: redis.Redis) -> list[tuple[str, list[Any]]]:
    """(task name, args) of each message waiting on the default queue."""
    sent = []
    for raw in queue.lrange("default", 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        sent.append((message["headers"]["task"], args))
    return sent


def make(note: str, **values: Any) -> RankingConfig:
    return ranking_config_create(
        values={**RankingConfig().values, **values}, note=note, based_on=None, created_by=None
    )


def preview_url(version: RankingConfig | RankingModel) -> str:
    return reverse(f"admin:ranking_{version._meta.model_name}_preview", args=[version.pk])


def _record_events() -> list[User]:
    """A few viewers shown a few clips by two creators, some liked, some skipped, and For
    You pages served to them (the log the off-policy estimate reads)."""
    creators = [UserFactory(username=f"creator{n}") for n in range(2)]
    posts = [cast(Post, PostFactory(owner=creators[n % 2])) for n in range(4)]
    viewers = [UserFactory(username=f"viewer{n}") for n in range(4)]
    liked_or_skipped(viewers, posts)
    # New clips only one viewer has seen: the others' next pages can hold them.
    for _ in range(2):
        fresh = cast(Post, PostFactory(owner=creators[0]))
        events_record(
            viewer=viewers[0],
            events=[
                EventIn(post_id=fresh.pk, kind="impression"),
                EventIn(post_id=fresh.pk, kind="like"),
            ],
        )
    for viewer in viewers:
        feed_serve(viewer=viewer, feed=Feed.FOR_YOU, cursor=None, size=3)
    return viewers


def _touches_the_logs(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if "ranking_engagementevent" in q["sql"] or "ranking_serveditem" in q["sql"]
    ]


def test_the_preview_runs_on_a_worker_never_in_the_request(
    admin_client: Client, default_queue: redis.Redis
):
    live = make("live")
    ranking_config_activate(config=live, by=None)
    candidate = make("candidate", weight_like=3.0, exploration_share=0.3)
    viewers = _record_events()
    url = preview_url(candidate)

    # Opening the page computes nothing: it offers to run a preview.
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(url)
    assert page.status_code == 200
    assert "No preview of v2 yet" in page.content.decode()
    assert not _touches_the_logs(queries)

    # Running one queues a task and comes back at once, having read no event.
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.post(url, {"days": 3, "embeddings": "0", "viewers": ""})
    assert response.status_code == 302
    assert not _touches_the_logs(queries)
    run_id = response["Location"].split("?run=")[1]
    run = preview_run_get(run_id)
    assert run is not None
    assert (run["state"], run["kind"], run["pk"], run["days"]) == (
        "queued",
        "config",
        candidate.pk,
        3,
    )
    assert _sent(default_queue) == [("ranking.tasks.ranking_preview", [run_id])]

    # While it waits, the page shows its progress and polls for more.
    with CaptureQueriesContext(connection) as queries:
        waiting = admin_client.get(response["Location"])
    html = waiting.content.decode()
    assert "Queued, waiting for a worker" in html
    run_url = reverse("admin:ranking_rankingconfig_preview_run", args=[candidate.pk, run_id])
    assert f'hx-get="{run_url}"' in html and 'hx-trigger="every 2s"' in html
    assert 'id="ranking-preview"' not in html
    assert not _touches_the_logs(queries)

    # The worker runs it (here eagerly, in this process), noting its progress as it goes.
    ranking_preview.apply(args=[run_id])
    run = preview_run_get(run_id)
    assert run is not None and run["state"] == "done" and run["progress"] == 1.0
    stages = run["stages"]
    assert stages[0] == "Starting" and "Reading 3 days of events" in stages
    assert any(s.startswith("Training the learner on") for s in stages)
    assert any(s.startswith("Replaying") for s in stages)
    assert "Sample viewers' pages" in stages and "Off-policy evaluation" in stages
    result = run["result"]
    assert result["columns"] == ["v2 (preview)", "v1 (active)"]
    # The most active viewers' pages, one per version.
    assert {sample["viewer"] for sample in result["samples"]} <= {v.username for v in viewers}
    assert result["samples"] and result["samples"][0]["viewer"] == "viewer0"
    assert all(
        [page["name"] for page in sample["pages"]] == result["columns"]
        for sample in result["samples"]
        if sample["pages"]
    )
    # Then the fragment the page polls, and the page, show the result.
    fragment = admin_client.get(run_url).content.decode()
    assert "hx-trigger" not in fragment  # done: no more polling
    html = admin_client.get(url).content.decode()
    assert '<th scope="col">v2 (preview)</th>' in html
    assert '<th scope="col">v1 (active)</th>' in html
    assert "weight_like: 1.0 → 3.0" in html
    assert "Off-policy estimate" in html and result["ope"]["verdict"] in html
    assert "Sample pages" in html and "viewer0" in html
    # A task delivered twice leaves the finished run as it was.
    ranking_preview.apply(args=[run_id])
    assert preview_run_get(run_id) == run


def test_progress_is_kept_where_the_page_reads_it():
    run = preview_run_queue(kind="config", pk=1, days=7, embed_prompts=False, viewers=[], by="boss")
    tracker = _Tracker(run)
    tracker.start()
    tracker(0.42, "Replaying 1000 events")
    stored = preview_run_get(run["id"])
    assert stored is not None
    assert (stored["state"], stored["progress"], stored["stage"]) == (
        "running",
        0.42,
        "Replaying 1000 events",
    )
    tracker(0.3, "Replaying 1000 events")  # progress never goes back
    assert tracker.run["progress"] == 0.42


def test_a_preview_on_little_data_says_so_in_words(admin_client: Client):
    candidate = make("candidate", weight_share=5.0)
    response = admin_client.post(preview_url(candidate), {"days": 7, "embeddings": "0"})
    run_id = response["Location"].split("?run=")[1]
    ranking_preview.apply(args=[run_id])
    html = admin_client.get(response["Location"]).content.decode()
    assert "beside the built-in defaults" in html
    assert "Too little data: the last 7 days hold too few events to replay" in html
    assert "Too little data for an off-policy estimate: only 0 clips were served" in html
    assert "Too little data: no signed-in viewer had any events in these days." in html
    assert "<td>–</td>" not in html and "<td>-</td>" not in html


def test_a_preview_on_a_few_events_names_what_is_missing(admin_client: Client):
    make("live")
    candidate = make("candidate", weight_like=2.0)
    _record_events()
    response = admin_client.post(preview_url(candidate), {"days": 3, "embeddings": "0"})
    ranking_preview.apply(args=[response["Location"].split("?run=")[1]])
    html = admin_client.get(response["Location"]).content.decode()
    assert "Too little data to tell these versions apart on the replay: only" in html
    assert "with two clips or more and an engagement (needs 10)" in html
    rows = preview_run_get(response["Location"].split("?run=")[1])["result"]["replay"]["rows"]
    for row in rows:
        # Each figure is a number, or "too little data" with the reason beside its label.
        assert all(cell == "too little data" or float(cell) >= 0 for cell in row["cells"])
        assert "too little data" not in row["cells"] or row.get("note")


def test_bad_preview_input_is_a_400_with_the_reason(admin_client: Client):
    candidate = make("candidate", weight_like=2.0)
    url = preview_url(candidate)
    for data, message in (
        ({"days": 0}, "greater than or equal to 1"),
        ({"days": 400}, "less than or equal to 90"),
        ({"days": "a week"}, "Enter a whole number"),
        ({"days": 3, "viewers": "a b c d e f"}, "Name at most 5 viewers"),
    ):
        response = admin_client.post(url, data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert admin_client.get(url, {"run": "nope"}).status_code == 404
    assert admin_client.get(url, {"run": "0" * 32}).status_code == 404


def test_named_viewers_and_unknown_names(admin_client: Client):
    live = make("live")
    ranking_config_activate(config=live, by=None)
    candidate = make("candidate", weight_like=3.0)
    _record_events()
    response = admin_client.post(
        preview_url(candidate), {"days": 3, "embeddings": "0", "viewers": "@viewer2, nobody"}
    )
    run_id = response["Location"].split("?run=")[1]
    ranking_preview.apply(args=[run_id])
    result = preview_run_get(run_id)["result"]
    assert [sample["viewer"] for sample in result["samples"]] == ["viewer2"]
    assert "No viewer is called 'nobody'." in result["warnings"]


def _model(version: int, **fields: Any) -> RankingModel:
    model = RankingModel(version=version, note=f"trained {version}", **fields)
    model.state.save("state.npz", ContentFile(Learner().to_bytes()), save=False)
    model.save(force_insert=True)
    return model


def test_a_trained_model_is_previewed_and_activated_after_a_confirmation(admin_client: Client):
    first = _model(1)
    ranking_config_activate(config=make("live"), by=None)
    from ranking.services import ranking_model_activate

    ranking_model_activate(model=first, by=None)
    second = _model(2, holdout_metric=0.71, holdout_active_metric=0.69, holdout_exposures=1200)
    _record_events()
    response = admin_client.post(preview_url(second), {"days": 3})
    assert response.status_code == 302
    run_id = response["Location"].split("?run=")[1]
    ranking_preview.apply(args=[run_id])
    run = preview_run_get(run_id)
    assert run is not None and run["state"] == "done", run and run["error"]
    assert run["result"]["columns"] == ["model v2 (preview)", "model v1 (active)"]
    html = admin_client.get(response["Location"]).content.decode()
    assert "Off-policy estimate" in html and "Sample pages" in html
    # The model's page links to the confirmation, which shows the held-out check.
    change = reverse("admin:ranking_rankingmodel_change", args=[second.pk])
    activate = reverse("admin:ranking_rankingmodel_activate", args=[second.pk])
    assert f'href="{activate}"' in admin_client.get(change).content.decode()
    confirm = admin_client.get(activate)
    assert confirm.status_code == 200
    assert ("held-out like AUC", "None", "0.71") in confirm.context["facts"]
    assert "Activate model v2?" in confirm.content.decode()
    assert RankingModel.objects.get(is_active=True) == first
    assert admin_client.post(activate).status_code == 302
    assert RankingModel.objects.get(is_active=True) == second
    listing = admin_client.get(reverse("admin:ranking_rankingmodel_changelist")).content.decode()
    assert "like AUC 0.710 vs 0.690" in listing
