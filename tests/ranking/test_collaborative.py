"""The learner's collaborative factors: ALS between passes, folded in online, from prompts."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from ranking.evaluation.simulated import Population
from ranking.learner import (
    FEATURES,
    HEADS,
    Event,
    ItemInfo,
    Learner,
    LearnerConfig,
    state_equal,
)
from ranking.learner.collaborative import CellLog, factorise


@pytest.fixture(scope="module")
def population() -> Population:
    """The simulated population of test_learner.py, with prompts."""
    return Population(prompts=True)


@pytest.fixture(scope="module")
def trained(population: Population) -> Learner:
    """One pass, then the ALS: every viewer's factors solved from their cells."""
    return Learner(LearnerConfig(passes=1), items=population.items).fit(population.events)


def collaborative(learner: Learner, viewer: str, items: list[str]) -> np.ndarray:
    """The feature the model reads, for a viewer and clips."""
    rows = learner.explain(viewer, items, learner.clock)
    return np.array([row["collaborative"] for row in rows])


def test_factors_find_the_hidden_tastes(population: Population, trained: Learner):
    rng = np.random.default_rng(5)
    viewers = rng.integers(0, 300, 200)
    found, hidden = [], []
    for v in viewers.tolist():
        clips = rng.integers(0, 400, 20)
        found.append(collaborative(trained, f"v{v}", [f"i{i}" for i in clips]))
        hidden.append(3.0 * population.style[clips] @ population.taste[v])
    correlation = np.corrcoef(np.concatenate(found), np.concatenate(hidden))[0, 1]
    # Measured 0.70; the online factors alone reached 0.03 to 0.16.
    assert correlation > 0.35


def test_folding_in_event_by_event_reaches_the_batch_solution(
    population: Population, trained: Learner
):
    learner = Learner.from_bytes(trained.to_bytes())
    batch = learner.cf_P.copy()
    assert np.abs(batch[1:]).max() > 0.05  # there is something to reach
    learner._reset_stats()  # every viewer's equations back to the ridge alone
    assert not learner.cf_P.any()
    for event in population.events:  # the clips' factors stay as they are
        learner.update(event)
    np.testing.assert_allclose(learner.cf_P, batch, atol=2e-4)


def test_a_like_moves_the_viewers_factors_at_once(population: Population, trained: Learner):
    learner = Learner.from_bytes(trained.to_bytes())
    viewer = "v3"
    v = learner._viewers.index[viewer]
    before = learner.cf_P[v].copy()
    unseen = next(item for item in population.items if item not in population.shown[viewer])
    now = learner.clock + 60.0
    learner.update(Event(viewer, unseen, "impression", 1.0, now))
    learner.update(Event(viewer, unseen, "like", 1.0, now + 5))
    assert not np.allclose(learner.cf_P[v], before)
    # Nobody else's moved.
    others = np.delete(np.arange(len(learner.cf_P)), v)
    assert np.array_equal(learner.cf_P[others], trained.cf_P[others])


def test_a_clip_posted_after_the_retrain_gets_factors_from_its_prompt(
    population: Population, trained: Learner
):
    learner = Learner.from_bytes(trained.to_bytes())
    # The most shown clip: its factors come from its cells; a new clip with the same prompt
    # gets factors near them from the prompt alone, before anyone has seen it.
    known = max(population.items, key=lambda item: trained.item_counts([item])[0][0])
    info = population.items[known]
    new = ItemInfo(author="a1", created=learner.clock, embedding=info.embedding)
    scored_before_told = learner.score("v5", ["fresh"], extra={"fresh": new})
    learner.set_item_info("fresh", new)
    row, old = learner._items.index["fresh"], learner._items.index[known]
    assert learner.cf_Q[row, :-1].any()
    assert learner.cf_Q[row, -1] == 0.0  # no bias: nothing is known of its quality
    cosine = learner.cf_Q[row, :-1] @ learner.cf_Q[old, :-1]
    cosine /= np.linalg.norm(learner.cf_Q[row, :-1]) * np.linalg.norm(learner.cf_Q[old, :-1])
    assert cosine > 0.5
    # Scored as an overlay (before the learner is told of it) exactly as once told.
    scored = learner.score("v5", ["fresh"])
    for head, values in scored.items():
        np.testing.assert_allclose(values, scored_before_told[head], rtol=1e-6)


def test_als_recovers_a_low_rank_matrix():
    """The solver itself: cells drawn from a rank-2 matrix plus biases come back."""
    rng = np.random.default_rng(0)
    viewers, items = rng.normal(size=(60, 2)), rng.normal(size=(80, 2))
    truth = viewers @ items.T + rng.normal(0, 0.3, 80)[None, :]
    log = CellLog()
    observed = rng.random(truth.shape) < 0.5
    for v, i in zip(*np.nonzero(observed), strict=True):
        log.add(int(v), int(i), float(truth[v, i]))
    cells = log.matrix(60, 80)
    mu, p, q, projection = factorise(cells, 2, 0.1, 30, seed=0)
    predicted = mu + p[:, -1:] + q[:, -1][None, :] + p[:, :-1] @ q[:, :-1].T
    held_out = ~observed
    error = np.sqrt(np.mean((predicted - truth)[held_out] ** 2))
    assert error < 0.3 * truth[held_out].std()
    assert projection is None  # no prompts given


def test_the_cell_log_sums_each_cell_and_holds_only_distinct_cells():
    rng = np.random.default_rng(5)
    v = rng.integers(0, 7, 200_000)
    i = rng.integers(0, 9, 200_000)
    signal = rng.choice([0.0, 0.0, 1.0, -1.0, -2.0], 200_000)
    log = CellLog()
    for row in zip(v.tolist(), i.tolist(), signal.tolist(), strict=True):
        log.add(*row)
        # Bounded: the 63 cells summed, and a buffer that never passes 65,536 entries.
        assert len(log._keys) <= 63 and len(log._s) <= 65_536
    # Cells that sum to 0 are kept: shown and not engaged with, or liked then unliked.
    for row in ((7, 3, 0.0), (7, 4, 1.0), (7, 4, -1.0)):
        log.add(*row)
    sums = np.zeros((8, 9))
    np.add.at(sums, (v, i), signal)
    cells = log.matrix(8, 9)
    np.testing.assert_array_equal(cells.toarray(), sums)
    assert cells.nnz == 63 + 2
    assert cells[7, 3] == 0 and cells[7, 4] == 0 and cells.indices[-2:].tolist() == [3, 4]


def test_a_state_saved_before_the_collaborative_factors_loads(trained: Learner):
    # Older than the session's taste too: it had neither feature, nor their arrays.
    state = {
        name: array
        for name, array in trained.state_dict().items()
        if not name.startswith(("cf_", "session"))
    }
    column = FEATURES.index("collaborative")
    assert FEATURES[column:] == ("collaborative", "session")
    state["W"] = state["W"][:, :column]
    state["_gW"] = state["_gW"][:, :column]
    state["exposure_x"] = state["exposure_x"][:, :column]
    # It also had online factors (viewers' U, clips' V, the heads' gates G), and their
    # settings in its config.
    state["U"] = np.ones((len(trained.viewers) + 1, 16))
    state["V"] = np.ones((len(trained.items) + 1, 16))
    state["G"] = np.ones((len(HEADS), 16))
    config = json.loads(str(state["config"]))
    config.update(factors=16, lr_factors=0.08, lr_gate=0.002, init_scale=0.1)
    state["config"] = np.array(json.dumps(config))
    old = Learner()
    old.load_state_dict(state)
    assert not hasattr(old, "U") and old.config == trained.config
    # The new features' weights start at their priors, as in a fresh learner.
    assert old.W.shape == trained.W.shape
    np.testing.assert_array_equal(old.W[:, column:], Learner().W[:, column:])
    assert not old.session.any() and old.session.shape == old.taste.shape
    assert not old.cf_Q.any() and old.cf_P.shape[0] == len(old.viewers) + 1
    scores = old.score("v1", old.items[:50])
    assert all(np.isfinite(values).all() for values in scores.values())
    # It goes on learning, and saves in today's shape.
    old.update(Event("v1", "i1", "impression", 1.0, old.clock + 1))
    again = Learner.from_bytes(old.to_bytes())
    assert state_equal(again.state_dict(), old.state_dict())


def test_the_prompt_index_finds_what_a_scan_finds():
    """nearest_items from the faiss index, against the exact scan, on clustered prompts."""
    rng = np.random.default_rng(3)
    topics = rng.normal(size=(40, 48))
    clips = topics[rng.integers(0, 40, 3000)] + 0.4 * rng.normal(size=(3000, 48))
    learner = Learner(items={f"c{n}": ItemInfo(embedding=vector) for n, vector in enumerate(clips)})
    queries = [topics[t] + 0.2 * rng.normal(size=48) for t in range(20)]
    exact = [learner.nearest_items(query, 50) for query in queries]
    assert learner.neighbours_build(min_clips=10_000) is False  # small: scanned
    assert learner.neighbours_build(min_clips=1000) is True
    found = [learner.nearest_items(query, 50) for query in queries]
    recall = np.mean([len(set(a) & set(b)) / 50 for a, b in zip(exact, found, strict=True)])
    assert recall > 0.9
    assert learner.state_bytes()["index"] > 0
    # A clip told of afterwards is found too, and a changed prompt moves it.
    learner.set_item_info("late", ItemInfo(embedding=queries[0]))
    assert learner.nearest_items(queries[0], 5)[0] == "late"
    learner.set_item_info("late", ItemInfo(embedding=queries[1]))
    assert learner.nearest_items(queries[1], 5)[0] == "late"
    assert "late" not in learner.nearest_items(queries[0], 5)


def test_the_collaborative_source_finds_clips_the_viewer_would_like(
    population: Population, trained: Learner
):
    """The "people with tastes like yours" candidates match the viewer's hidden taste."""
    lifts = []
    for v in range(0, 300, 15):
        found = trained.collaborative_items(f"v{v}", 20)
        assert len(found) == 20
        match = population.match(v, np.arange(400))
        rows = np.array([int(item[1:]) for item in found])
        lifts.append(match[rows].mean() - match.mean())
    # Measured: 2.1 above the mean match on average (the match's spread is about 1.4).
    assert np.mean(lifts) > 1.0
    assert trained.collaborative_items("nobody", 20) == []


def test_clips_without_factors_are_never_collaborative_candidates(trained: Learner):
    """A clip told of after the retrain with no prompt has no factors: it says nothing of
    anyone's taste, however many candidates are asked for."""
    learner = copy.deepcopy(trained)
    for n in range(5):
        learner.set_item_info(f"new{n}", ItemInfo(author="someone"))
    found = learner.collaborative_items("v0", 10_000)
    assert found and not any(item.startswith("new") for item in found)
