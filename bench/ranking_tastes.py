"""How much of the hidden tastes the For You learner finds: simulated populations.

For each size and seed, a population with hidden tastes (ranking/evaluation/simulated.py),
with clips known by id only and again with prompts, replayed by the offline evaluation
(train on the first 80% of the log, then predict each showing before learning it). Prints
like AUC for random, recency, popularity, the learner, a ranker that knows the clips' side
alone (their styles and quality; it learns the viewers' tastes as the learner does) and the
oracle that knows the tastes; how much of the way from popularity to the oracle the learner
goes (target: two thirds); NDCG@10 of the learner against the best baseline, and its
coverage@10 and creator Gini@10 against popularity's.

How far the learner gets on clips known by id alone depends on how much each clip is seen:
each viewer comes 6 times and is shown 8 clips a visit by default (about 36 showings a clip
at 300x400); `--per-visit 16` doubles that.

    .venv/bin/python bench/ranking_tastes.py                 # 300x400 and 1000x1000, 3 seeds
    .venv/bin/python bench/ranking_tastes.py --large         # and 3000 viewers x 1000 clips
    .venv/bin/python bench/ranking_tastes.py --seeds 0 --sizes 300x400
    .venv/bin/python bench/ranking_tastes.py --per-visit 16  # twice the showings a clip
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from ranking.evaluation import EventLog, evaluate  # noqa: E402
from ranking.evaluation.simulated import KnownClipsRanker, OracleRanker, Population  # noqa: E402

BASELINES = ("random", "recency", "popularity")


def run(viewers: int, items: int, seed: int, prompts: bool, per_visit: int = 8) -> dict[str, float]:
    """One population's figures."""
    population = Population(
        seed=seed, viewers=viewers, items=items, prompts=prompts, per_session=per_visit
    )
    report = evaluate(
        EventLog(events=population.events, items=population.items),
        others={"known": KnownClipsRanker(population), "oracle": OracleRanker(population)},
    )
    models = {model.name: model for model in report.models}
    auc = {name: model.auc["like"] or 0.0 for name, model in models.items()}
    learner = models["learner"]
    baselines = [models[name] for name in BASELINES]
    return {
        **{f"auc_{name}": value for name, value in auc.items()},
        "closed": (auc["learner"] - auc["popularity"]) / (auc["oracle"] - auc["popularity"]),
        "ndcg": learner.ndcg or 0.0,
        "ndcg_best_baseline": max(model.ndcg or 0.0 for model in baselines),
        "coverage": learner.coverage or 0.0,
        "coverage_popularity": models["popularity"].coverage or 0.0,
        "gini": learner.creator_gini or 0.0,
        "gini_popularity": models["popularity"].creator_gini or 0.0,
        "events": len(population.events),
        "seconds": report.seconds,
    }


def main() -> None:
    """Run every size, seed and kind of clip; print a row each and the means."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated")
    parser.add_argument("--sizes", default="300x400,1000x1000", help="viewers x clips, ...")
    parser.add_argument("--large", action="store_true", help="add 3000x1000")
    parser.add_argument("--per-visit", type=int, default=8, help="clips shown a visit")
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    if args.large:
        sizes.append((3000, 1000))
    header = (
        f"{'population':<24}{'events':>8}{'random':>8}{'recency':>8}{'popular':>8}"
        f"{'learner':>8}{'known':>8}{'oracle':>8}{'closed':>8}  {'NDCG@10':>13}"
        f"  {'coverage@10':>13}  {'creator Gini':>13}"
    )
    print("like AUC per model; known: knows the clips' styles and quality, learns the viewers'")
    print("tastes; closed: share of the way from popularity to the oracle")
    print("(target 0.67); NDCG@10: learner / best baseline; coverage@10 and creator Gini@10:")
    print("learner / popularity (random's coverage is about 1: it spreads at random)\n")
    print(header)
    for prompts in (False, True):
        for viewers, items in sizes:
            rows = []
            for seed in seeds:
                start = time.perf_counter()
                row = run(viewers, items, seed, prompts, args.per_visit)
                rows.append(row)
                label = f"{viewers}x{items} {'prompts' if prompts else 'ids'} s{seed}"
                if args.per_visit != 8:
                    label += f" /{args.per_visit}"
                print(
                    f"{label:<24}{row['events']:>8}{row['auc_random']:>8.3f}"
                    f"{row['auc_recency']:>8.3f}{row['auc_popularity']:>8.3f}"
                    f"{row['auc_learner']:>8.3f}{row['auc_known']:>8.3f}{row['auc_oracle']:>8.3f}{row['closed']:>8.2f}"
                    f"  {row['ndcg']:>6.3f}/{row['ndcg_best_baseline']:.3f}"
                    f"  {row['coverage']:>6.2f}/{row['coverage_popularity']:.2f}  "
                    f"  {row['gini']:>6.2f}/{row['gini_popularity']:.2f}"
                    f"   ({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
            closed = statistics.mean(row["closed"] for row in rows)
            print(f"{'':<24}{'mean closed':>64}{closed:>8.2f}\n", flush=True)


if __name__ == "__main__":
    main()
