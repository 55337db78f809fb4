"""Off-policy evaluation (ranking/evaluation/ope.py): SNIPS on simulated logs whose true value
is known, and on For You's own serving log (ServedItem) with the gains its viewers gave."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from accounts.models import User
from feed.models import Post
from ranking.evaluation.ope import (
    OUTCOME_HORIZON_S,
    Target,
    gain_of,
    logging_reference,
    off_policy,
    read_served,
    snips,
    snips_difference,
    target_of,
    target_probabilities,
)
from ranking.learner import HEADS
from ranking.models import EngagementEvent, RankingConfig, ServedItem
from tests.factories import PostFactory, UserFactory

# --- simulated logs -------------------------------------------------------------------


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Bandit:
    """Contexts with known reward rates per action, a logging policy that knows little of
    them and a target policy that knows more: the target's true value is exact."""

    def __init__(self, contexts: int = 40, actions: int = 6) -> None:
        world = np.random.default_rng(1234)
        self.rates = world.uniform(0.02, 0.6, size=(contexts, actions))
        self.logging = _softmax(world.normal(0, 0.5, size=(contexts, actions)))
        self.target = _softmax(6.0 * self.rates)
        self.baseline = _softmax(-3.0 * self.rates)  # a worse policy
        self.value = float((self.target * self.rates).sum(axis=1).mean())
        self.baseline_value = float((self.baseline * self.rates).sum(axis=1).mean())
        self.logged_value = float((self.logging * self.rates).sum(axis=1).mean())

    def log(
        self, seed: int, n: int, per_session: int = 1, spread: float = 0.0
    ) -> dict[str, np.ndarray]:
        """n logged decisions; with `per_session` > 1 they come in sessions whose viewer
        engages up to `spread` (a share) more or less than the rates say, so a session's
        rewards go together."""
        rng = np.random.default_rng(seed)
        context = rng.integers(0, self.rates.shape[0], size=n)
        cumulative = self.logging[context].cumsum(axis=1)
        action = (rng.random(n)[:, None] > cumulative).sum(axis=1)
        session = np.arange(n) // per_session
        mood = rng.uniform(-spread, spread, size=session.max() + 1)[session]
        # The mood averages out over sessions (and rates stay in [0, 1] with spread <= 0.6),
        # so the true values stay those of `rates`.
        rate = self.rates[context, action] * (1.0 + mood)
        return {
            "reward": (rng.random(n) < rate).astype(float),
            "logging": self.logging[context, action],
            "target": self.target[context, action],
            "baseline": self.baseline[context, action],
            "session": session,
        }


BANDIT = Bandit()


def test_the_simulated_policies_differ_enough_to_matter():
    assert BANDIT.value - BANDIT.logged_value > 0.1
    assert BANDIT.logged_value - BANDIT.baseline_value > 0.05


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_snips_interval_covers_the_true_value(seed: int):
    log = BANDIT.log(seed, 4000)
    estimate = snips(log["reward"], log["target"], log["logging"])
    assert estimate.low is not None and estimate.high is not None
    assert estimate.low <= BANDIT.value <= estimate.high
    # The interval is informative, and the plain mean of the log would miss the truth.
    assert estimate.high - estimate.low < 0.1
    assert not estimate.low <= float(log["reward"].mean()) <= estimate.high
    assert estimate.support == 4000 and 0 < estimate.effective < 4000


def test_snips_intervals_cover_the_truth_about_95_times_in_100():
    covered = 0
    for seed in range(200):
        log = BANDIT.log(100 + seed, 1500)
        estimate = snips(log["reward"], log["target"], log["logging"])
        assert estimate.low is not None and estimate.high is not None
        covered += estimate.low <= BANDIT.value <= estimate.high
    assert 0.9 <= covered / 200 <= 0.99


def test_clustered_intervals_cover_when_a_session_s_rewards_go_together():
    covered_clustered = covered_naive = 0
    for seed in range(150):
        log = BANDIT.log(500 + seed, 3000, per_session=10, spread=0.6)
        clustered = snips(log["reward"], log["target"], log["logging"], clusters=log["session"])
        naive = snips(log["reward"], log["target"], log["logging"])
        assert clustered.low is not None and clustered.high is not None
        assert naive.low is not None and naive.high is not None
        covered_clustered += clustered.low <= BANDIT.value <= clustered.high
        covered_naive += naive.low <= BANDIT.value <= naive.high
    assert covered_clustered / 150 >= 0.9
    assert covered_naive < covered_clustered  # ignoring the sessions is overconfident


def test_the_difference_interval_covers_the_true_difference():
    truth = BANDIT.value - BANDIT.baseline_value
    covered = 0
    for seed in range(150):
        log = BANDIT.log(900 + seed, 3000, per_session=5, spread=0.5)
        found = snips_difference(
            log["reward"], log["target"], log["baseline"], log["logging"], clusters=log["session"]
        )
        assert found.low is not None and found.high is not None
        covered += found.low <= truth <= found.high
        assert found.low > 0  # it tells which is better, every time
    assert 0.9 <= covered / 150 <= 0.99


def test_snips_without_weight_says_nothing_and_refuses_bad_probabilities():
    empty = snips(np.ones(3), np.zeros(3), np.ones(3))
    assert empty.value is None and empty.low is None and empty.support == 0
    with pytest.raises(ValueError, match="positive"):
        snips(np.ones(2), np.ones(2), np.array([0.5, 0.0]))


def test_gains_are_the_replay_s():
    assert gain_of(["like", "complete"]) == 1.5
    assert gain_of(["share", "comment"]) == 3.0
    assert gain_of(["like", "unlike"]) == 0.0
    assert gain_of(["like", "report"]) == 0.0
    assert gain_of(["impression", "skip"]) == 0.0


# --- For You's serving log -------------------------------------------------------------


def _terms(like: float, age_hours: float = 1.0) -> dict[str, Any]:
    return {
        "heads": {head: {"p": like if head == "like" else 0.0, "weight": 1.0} for head in HEADS},
        "age_hours": age_hours,
        "preference_match": None,
    }


def _serve(
    viewer: User,
    posts: list[Post],
    likes: list[float],
    *,
    session: str,
    at: Any,
    first: int = 0,
    explored: tuple[int, ...] = (),
    propensity: float = 0.25,
) -> None:
    ServedItem.objects.bulk_create(
        ServedItem(
            viewer=viewer,
            post=post,
            session=session,
            position=first + offset,
            source="explore" if offset in explored else "trending",
            score=like,
            explored=offset in explored,
            propensity=propensity if offset in explored else 1.0,
            terms=_terms(like),
            created=at,
        )
        for offset, (post, like) in enumerate(zip(posts, likes, strict=True))
    )


def _event(viewer: User, post: Post, kind: str, at: Any) -> None:
    EngagementEvent.objects.create(viewer=viewer, post=post, kind=kind, created=at)


@pytest.mark.django_db
def test_outcomes_are_the_viewer_s_events_after_the_serving():
    viewer, other = UserFactory(), UserFactory()
    posts = [PostFactory() for _ in range(4)]
    now = timezone.now()
    start = now - timedelta(hours=30)
    _serve(viewer, posts, [0.4, 0.3, 0.2, 0.1], session="s1", at=start)
    _event(viewer, posts[0], "like", start + timedelta(minutes=1))
    _event(viewer, posts[0], "complete", start + timedelta(minutes=1))
    _event(viewer, posts[1], "like", start - timedelta(minutes=1))  # before: not its outcome
    _event(other, posts[2], "like", start + timedelta(minutes=1))  # someone else's
    late = start + timedelta(seconds=OUTCOME_HORIZON_S + 60)
    _event(viewer, posts[3], "share", late)  # after the horizon
    log = read_served(since=now - timedelta(days=2))
    assert log.size == 4 and log.sessions == 1
    assert dict(zip(log.post.tolist(), log.reward.tolist(), strict=True)) == {
        posts[0].pk: 1.5,
        posts[1].pk: 0.0,
        posts[2].pk: 0.0,
        posts[3].pk: 0.0,
    }


@pytest.mark.django_db
def test_a_version_counts_the_clips_it_would_have_shown_on_the_same_page():
    viewer = UserFactory()
    posts = [PostFactory() for _ in range(8)]
    now = timezone.now() - timedelta(hours=2)
    # Two pages of four, ranked by the predicted like; the last slot of page 1 explored.
    _serve(viewer, posts[:4], [0.9, 0.8, 0.7, 0.05], session="s", at=now, explored=(3,))
    _serve(
        viewer, posts[4:], [0.6, 0.5, 0.4, 0.3], session="s", at=now + timedelta(seconds=5), first=4
    )
    log = read_served(since=now - timedelta(hours=1))
    assert log.size == 8 and sorted(set(log.page.tolist())) == [0, 1]
    served = RankingConfig()  # the defaults served these pages
    same = target_probabilities(log, target_of(log, served))
    # The serving version reproduces its own pages: every weight is 1.
    assert (same / log.propensity).tolist() == [1.0] * 8
    # One that ranks by the opposite of the score deals page 2's clips onto page 1 and back.
    opposite = Target(scores=-log.heads[:, 0], exploration_share=0.1, max_per_author=2, remix_gap=1)
    flipped = target_probabilities(log, opposite)
    assert flipped[log.explored].tolist() == [0.25]
    assert flipped[~log.explored].sum() < 7
    # Without exploration, the explored clip would never have been shown.
    calm = RankingConfig(exploration_share=0.0)
    assert target_probabilities(log, target_of(log, calm))[log.explored].tolist() == [0.0]
    # Twice the exploration doubles its weight; five times: its clips stand for more.
    bold = RankingConfig(exploration_share=0.2)
    assert target_probabilities(log, target_of(log, bold))[log.explored].tolist() == [0.5]
    bolder = RankingConfig(exploration_share=0.5)
    assert target_probabilities(log, target_of(log, bolder))[log.explored].tolist() == [1.25]


@pytest.mark.django_db
def test_the_serving_version_is_judged_on_its_own_pages_though_scores_drifted():
    viewer = UserFactory()
    posts = [PostFactory() for _ in range(6)]
    now = timezone.now() - timedelta(hours=2)
    # The learner learnt between the pages: page 2's scores came out above page 1's.
    _serve(viewer, posts[:3], [0.3, 0.2, 0.1], session="s", at=now)
    _serve(viewer, posts[3:], [0.9, 0.8, 0.7], session="s", at=now + timedelta(seconds=9), first=3)
    _event(viewer, posts[0], "like", now + timedelta(minutes=1))
    log = read_served(since=now - timedelta(hours=1))
    served = target_of(log, RankingConfig())
    # Dealt again by its logged scores, page 2's clips would go to page 1 and back...
    assert target_probabilities(log, served).tolist() == [0.0] * 6
    # ...but against where the serving version itself deals them, it keeps its pages.
    reference = logging_reference(log)
    assert target_probabilities(log, served, reference).tolist() == [1.0] * 6
    found = off_policy(log, served, served, reference)
    assert found.candidate.value == found.served.value == pytest.approx(1 / 6)
    # A version that keeps the like out of the score reorders them, and counts fewer.
    blind = RankingConfig(weight_like=0.0, freshness_half_life_hours=1.0)
    assert target_probabilities(log, target_of(log, blind), reference).sum() < 6


@pytest.mark.django_db
def test_off_policy_on_the_serving_log_and_too_little_data_said_plainly():
    viewer = UserFactory()
    posts = [PostFactory() for _ in range(4)]
    now = timezone.now() - timedelta(hours=2)
    _serve(viewer, posts, [0.9, 0.8, 0.7, 0.6], session="s", at=now)
    _event(viewer, posts[0], "like", now + timedelta(minutes=1))
    log = read_served(since=now - timedelta(hours=1))
    found = off_policy(log, target_of(log, RankingConfig()), target_of(log, RankingConfig()))
    assert found.candidate.value == found.active.value == found.served.value == 0.25
    assert found.difference.value == 0.0
    assert not found.enough
    assert found.reason.startswith("only 4 clips were served to signed-in viewers")
