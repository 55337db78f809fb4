"""What an admin preview run computes (ranking/preview_runs.py runs it on a worker): a config
or a trained model beside the active one, as plain dicts ready for the preview template.

A config gets a replay of recent events (ranking/preview.py); both get an off-policy estimate
from the serving log (ranking/evaluation/ope.py) and the first page a few real viewers would
see under each. Where there is too little data for a figure, the result says so in words.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from .evaluation import EvaluationError
from .evaluation.ope import (
    Estimate,
    OffPolicy,
    logging_reference,
    off_policy,
    read_served,
    target_of,
)
from .evaluation.ope import model_scores as ope_model_scores
from .learner import HEADS, Learner
from .live import item_infos
from .models import EngagementEvent, RankingConfig, RankingModel
from .preview import (
    Policy,
    Predict,
    Preview,
    Progress,
    catalogue_facts,
    config_preview,
    model_pages,
)
from .selectors import active_config

# Viewers whose pages a preview shows when the admin names none: the most active.
SAMPLE_VIEWERS = 3
# Clips a model preview ranks for a sample viewer: those with the most recent events.
SAMPLE_CATALOGUE = 2000
# Below these the preview says "too little data" rather than show a figure.
MIN_SESSIONS = 10
MIN_POSITIVES = 5


def version_name(version: RankingConfig | RankingModel | None) -> str:
    """How the admin names a version, version 0 (the built-in defaults) included."""
    if version is None:
        return "no trained model"
    if isinstance(version, RankingConfig) and not version.pk:
        return "the built-in defaults"
    if isinstance(version, RankingConfig) and version.version == 0:
        return "v0 (the built-in defaults)"
    return str(version)


def _sample_viewers(
    since: datetime, usernames: list[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """([(learner key, username)], names not found): the named viewers, or the most active."""
    from accounts.models import User

    if usernames:
        found = dict(User.objects.filter(username__in=usernames).values_list("username", "pk"))
        return (
            [(str(found[name]), name) for name in usernames if name in found],
            [name for name in usernames if name not in found],
        )
    busiest = list(
        EngagementEvent.objects.filter(created__gte=since, viewer__isnull=False)
        .values("viewer_id")
        .annotate(events=Count("id"))
        .order_by("-events", "viewer_id")
        .values_list("viewer_id", flat=True)[:SAMPLE_VIEWERS]
    )
    names = dict(User.objects.filter(pk__in=busiest).values_list("pk", "username"))
    return [(str(pk), names[pk]) for pk in busiest if pk in names], []


def _clips(pages: list[list[str]]) -> list[list[dict[str, Any]]]:
    """Each page's clips as the template shows them; `new` where the other page lacks it."""
    from feed.models import Post

    ids = {int(item) for page in pages for item in page}
    facts = {
        pk: (prompt, author)
        for pk, prompt, author in Post.objects.filter(pk__in=ids).values_list(
            "pk", "prompt", "owner__username"
        )
    }
    out = []
    for number, page in enumerate(pages):
        others = {item for other, p in enumerate(pages) if other != number for item in p}
        out.append(
            [
                {
                    "pk": int(item),
                    "prompt": facts.get(int(item), ("(deleted)", ""))[0][:90],
                    "author": facts.get(int(item), ("", ""))[1],
                    "url": reverse("admin:feed_post_change", args=[int(item)]),
                    "new": item not in others,
                }
                for item in page
            ]
        )
    return out


def _samples(
    viewers: list[tuple[str, str]],
    pages: dict[str, list[list[str]]],
    columns: list[str],
    why_none: str,
) -> list[dict[str, Any]]:
    """Each sample viewer's pages, one per version, named; or why there are none."""
    out = []
    for key, name in viewers:
        viewer_pages = pages.get(key) or []
        shown = any(viewer_pages)
        out.append(
            {
                "viewer": name,
                "pages": [
                    {"name": column, "clips": clips}
                    for column, clips in zip(columns, _clips(viewer_pages), strict=False)
                ]
                if shown
                else [],
                "note": "" if shown else why_none,
            }
        )
    return out


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}" + ("" if n == 1 else "s")


def _figure(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _replay_rows(report: Preview) -> list[dict[str, Any]]:
    """The replay's table: each row's figures, or why there is too little data for them."""
    results = report.results
    columns = len(results)
    few_sessions = report.sessions < MIN_SESSIONS

    def row(label: str, values: list[float | None], short: str) -> dict[str, Any]:
        if short or all(value is None for value in values):
            return {"label": label, "cells": ["too little data"] * columns, "note": short}
        return {"label": label, "cells": [_figure(v) or "too little data" for v in values]}

    sessions_short = (
        f"only {_count(report.sessions, 'viewing session')} with two clips or more and an "
        f"engagement (needs {MIN_SESSIONS})"
        if few_sessions
        else ""
    )
    engaged = report.engaged
    judged = report.exposures
    score_short = ""
    if min(engaged, judged - engaged) < MIN_POSITIVES:
        score_short = (
            f"{engaged} of {judged} clips shown got an engagement (needs {MIN_POSITIVES} "
            "with and without)"
        )
    reach_short = (
        "no viewer of the replayed days had clips left that they had not been shown"
        if all(r.coverage is None for r in results)
        else ""
    )
    rows = [
        row(f"NDCG@10 ({report.sessions} sessions)", [r.ndcg for r in results], sessions_short),
        row("AUC of the score, engaged or not", [r.score_auc for r in results], score_short),
        row("coverage@10", [r.coverage for r in results], reach_short),
        row("creator Gini@10", [r.creator_gini for r in results], reach_short),
        row("top-10% creators' share@10", [r.top_creator_share for r in results], reach_short),
    ]
    for head in HEADS:
        positives = report.positives[head]
        short = ""
        if min(positives, judged - positives) < MIN_POSITIVES:
            short = (
                f"{positives} of {judged} clips shown got a {head} "
                f"(needs {MIN_POSITIVES} with and without)"
            )
        rows.append(row(f"AUC {head} ({positives} +)", [report.auc[head]] * columns, short))
    return rows


def _estimate(label: str, estimate: Estimate, signed: bool = False) -> dict[str, Any]:
    sign = "+" if signed else ""
    interval = ""
    if estimate.low is not None and estimate.high is not None:
        interval = f"{estimate.low:{sign}.3f} to {estimate.high:{sign}.3f}"
    return {
        "label": label,
        "value": "" if estimate.value is None else f"{estimate.value:{sign}.3f}",
        "interval": interval,
        "support": estimate.support,
        "effective": round(estimate.effective),
    }


def _ope_result(found: OffPolicy, candidate: str, active: str, since: datetime) -> dict[str, Any]:
    """The off-policy section: the estimates, and a sentence a person can act on."""
    difference = found.difference
    if not found.enough:
        verdict = f"Too little data for an off-policy estimate: {found.reason}."
    elif difference.low is None or difference.high is None or difference.value is None:
        verdict = "The candidate would have shown none of the clips served: nothing to compare."
    elif difference.low > 0:
        verdict = (
            f"{candidate} would likely get more engagement than {active}: "
            f"{difference.value:+.3f} gain per clip shown (95% interval "
            f"{difference.low:+.3f} to {difference.high:+.3f})."
        )
    elif difference.high < 0:
        verdict = (
            f"{candidate} would likely get less engagement than {active}: "
            f"{difference.value:+.3f} gain per clip shown (95% interval "
            f"{difference.low:+.3f} to {difference.high:+.3f})."
        )
    else:
        verdict = (
            f"No clear difference between {candidate} and {active}: "
            f"{difference.value:+.3f} gain per clip shown, with a 95% interval "
            f"({difference.low:+.3f} to {difference.high:+.3f}) that includes zero."
        )
    return {
        "enough": found.enough,
        "reason": found.reason,
        "verdict": verdict,
        "rows": [
            _estimate(f"{candidate} (preview)", found.candidate),
            _estimate(f"{active} (active)", found.active),
            _estimate("Served pages, as they were", found.served),
        ],
        "difference": _estimate("Preview minus active", difference, signed=True),
        "served": found.rows,
        "sessions": found.sessions,
        "viewers": found.viewers,
        "since": since.isoformat(),
        "raw": asdict(found),
    }


def config_result(run: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """A config's preview beside the active config: replay, off-policy, sample pages."""
    config = RankingConfig.objects.get(pk=run["pk"])
    active = active_config()
    names = (version_name(config), version_name(active))
    now = timezone.now()
    since = now - timedelta(days=run["days"])
    viewers, missing = _sample_viewers(since, run["viewers"])
    warnings = [f"No viewer is called {name!r}." for name in missing]
    replay: dict[str, Any] = {"error": ""}
    pages: dict[str, list[list[str]]] = {}
    try:
        report = config_preview(
            config=config,
            against=active,
            days=run["days"],
            embed_prompts=run["embed_prompts"],
            now=now,
            samples=[key for key, _ in viewers],
            progress=lambda done, stage: progress(0.75 * done, stage),
        )
    except EvaluationError as problem:
        replay["error"] = f"Too little data to replay: {problem}."
        warnings.append(
            f"Too little data: the last {run['days']} days hold too few events to replay "
            "(see below). Replay more days, or wait for more traffic."
        )
    else:
        pages = report.pages
        replay.update(
            rows=_replay_rows(report),
            train_events=report.train_events,
            test_events=report.test_events,
            exposures=report.exposures,
            sessions=report.sessions,
            seconds=round(report.seconds, 1),
            skipped=sorted(report.skipped.items()),
        )
        if report.sessions < MIN_SESSIONS:
            warnings.append(
                f"Too little data to tell these versions apart on the replay: only "
                f"{_count(report.sessions, 'viewing session')} with an engagement in the last "
                f"{run['days']} days (needs {MIN_SESSIONS}). Replay more days, or wait for "
                "more traffic."
            )
    progress(0.78, "Reading the served pages")
    served = read_served(since=since)
    progress(0.88, "Off-policy evaluation")
    reference = logging_reference(served)
    found = off_policy(served, target_of(served, config), target_of(served, active), reference)
    progress(0.95, "Writing the result")
    columns = [f"{names[0]} (preview)", f"{names[1]} (active)"]
    return {
        "columns": columns,
        "warnings": warnings,
        "replay": replay,
        "ope": _ope_result(found, *names, since),
        "samples": _samples(
            viewers,
            pages,
            columns,
            "Too little data: no clips of these days that they were not shown, or too few "
            "events to replay.",
        ),
    }


def _learner_of(model: RankingModel | None) -> Learner:
    """A saved model's learner (an empty one for none)."""
    if model is None:
        return Learner()
    with default_storage.open(model.state.name or "", "rb") as handle:
        return Learner.from_bytes(handle.read())


def _predictor(learner: Learner, infos: dict[str, Any]) -> Predict:
    def predict(viewer: str, items: list[str], now: float) -> Any:
        extra = {i: infos[i] for i in items if i in infos and not learner.has_item(i)}
        return learner.score(viewer, items, now=now, extra=extra or None)

    return predict


def model_result(run: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """A trained model's preview beside the active one: off-policy, sample pages."""
    model = RankingModel.objects.get(pk=run["pk"])
    active_model = RankingModel.objects.filter(is_active=True).first()
    config = active_config()
    names = (version_name(model), version_name(active_model))
    now = timezone.now()
    since = now - timedelta(days=run["days"])
    warnings = []
    # A model has learnt from the events before its training: judged on pages served
    # before then, it would be judged on what it was taught.
    fair_since = max([since, model.created, *([active_model.created] if active_model else [])])
    if fair_since > since:
        warnings.append(
            f"Judged only on pages served since {fair_since:%Y-%m-%d %H:%M} UTC: before "
            "then, a model had already learnt from the very events it would be judged on."
        )
    progress(0.02, "Loading the models")
    learners = [_learner_of(model), _learner_of(active_model)]
    progress(0.1, "Reading the served pages")
    served = read_served(since=fair_since)
    infos = item_infos(sorted({int(p) for p in served.post}))
    predicts = [_predictor(learner, infos) for learner in learners]
    targets = []
    for number, predict in enumerate(predicts):
        stage = f"Scoring the served pages with {names[number]}"

        def scoring(done: float, stage: str = stage, number: int = number) -> None:
            progress(0.2 + 0.3 * (number + done), stage)

        scores = ope_model_scores(served, predict, config, progress=scoring)
        targets.append(target_of(served, config, scores))
    progress(0.8, "Off-policy evaluation")
    found = off_policy(served, targets[0], targets[1], logging_reference(served))
    progress(0.85, "Sample viewers' pages")
    viewers, missing = _sample_viewers(since, run["viewers"])
    warnings += [f"No viewer is called {name!r}." for name in missing]
    recent = list(
        EngagementEvent.objects.filter(created__gte=since, post__isnull=False)
        .values("post_id")
        .annotate(events=Count("id"))
        .order_by("-events")
        .values_list("post_id", flat=True)[:SAMPLE_CATALOGUE]
    )
    parent, up = catalogue_facts(recent)
    catalogue = [str(pk) for pk in recent if str(pk) in up]
    facts = item_infos([int(item) for item in catalogue])
    infos.update(facts)
    created = {item: info.created for item, info in facts.items() if info.created is not None}
    author = {item: info.author or "\0" + item for item, info in facts.items()}
    policy = Policy.of(config)
    pages: dict[str, list[list[str]]] = {}
    for key, _ in viewers:
        seen = {
            str(pk)
            for pk in EngagementEvent.objects.filter(viewer_id=int(key), post__isnull=False)
            .values_list("post_id", flat=True)
            .distinct()
        }
        unseen = [item for item in catalogue if item not in seen]
        pages[key] = model_pages(
            predicts,
            policy,
            key,
            unseen,
            now=now.timestamp(),
            created=created,
            author=author,
            parent=parent,
        )
    columns = [f"{names[0]} (preview)", f"{names[1]} (active)"]
    return {
        "columns": columns,
        "warnings": warnings,
        "replay": None,
        "ope": _ope_result(found, *names, fair_since),
        "samples": _samples(
            viewers, pages, columns, "Too little data: no recent clips that they were not shown."
        ),
    }
