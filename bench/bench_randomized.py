"""Randomised candidates: the expectation reported against the spread of single draws, and what it costs.

For ExponentiatedGradient and ThresholdOptimizer on the hiring demo (sex × ethnicity) and on UCI Adult
(sex × race), prints the reported disparity (the expectation, with its interval), the 5th–95th percentile
of the disparity over 200 seeded single draws (what the result states beside it), the range over 1,000
draw seeds (what one random draw could have reported before), and the time the expectation and the
draws take on top of the fit.

Run: .venv/bin/python bench/bench_randomized.py [--data-dir ../shared/datasets] [--constraint equalized_odds]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from auditapp.core.runtime import limit_threads

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
NAMES = ("exponentiated_gradient", "threshold_optimizer")


def _hiring():
    from auditapp.inputs.models import from_estimator
    from datasets.hiring import generate_hiring, train_hiring_model

    frame = generate_hiring(5000, seed=0)
    return frame, from_estimator(train_hiring_model(frame, seed=0), name="hiring"), "hired", ("sex", "ethnicity")


def _adult(directory: Path):
    from bench_mitigation import FEATURES, load_adult, lr_pipeline

    from auditapp.inputs.models import from_estimator

    frame = load_adult(directory)
    frame["income"] = (frame["income"] == ">50K").astype(int)
    model = from_estimator(lr_pipeline(frame).fit(frame[list(FEATURES)], frame["income"]), name="adult LR")
    return frame, model, "income", ("sex", "race")


def report(label, frame, model, target, sensitive, constraint) -> None:
    from auditapp.core.spec import AuditSpec
    from auditapp.mitigation.compare import compare_mitigations
    from auditapp.mitigation.expectation import draw_spread, expectation

    spec = AuditSpec(target=target, sensitive=sensitive, n_boot=1000, seed=0)
    comparison = compare_mitigations(frame, spec, model, constraint=constraint, candidates=list(NAMES))
    y = comparison.test_rows[target].to_numpy()
    groups = comparison.test_rows[list(sensitive)].astype(str).agg(" & ".join, axis=1)
    codes, uniques = pd.factorize(groups, sort=True)
    metric = comparison.disparity_metric
    print(f"\n{label}: {comparison.split.test_rows:,} test rows, {len(uniques)} groups, {metric}")
    for name in NAMES:
        result = comparison.candidate(name)
        if result.error:
            print(f"  {name}: failed: {result.error}")
            continue
        p = result.y_score
        start = time.perf_counter()
        expectation(y, p, codes, len(uniques))
        draw_spread(y, p, codes, len(uniques), seed=0)
        extra = time.perf_counter() - start
        full = draw_spread(y, p, codes, len(uniques), draws=1000, seed=1, quantiles=(0.0, 1.0)).criteria[metric]
        low, high = result.draws.criteria[metric]
        random_rows = int(np.count_nonzero((p > 0) & (p < 1)))
        print(f"  {name:<24} expectation {result.disparity.value:.3f} [{result.disparity.low:.3f}, "
              f"{result.disparity.high:.3f}]; single draws 5th-95th {low:.3f}-{high:.3f}; "
              f"min-max over 1,000 seeds {full[0]:.3f}-{full[1]:.3f}; accuracy {100 * result.accuracy.value:.1f}%; "
              f"{random_rows:,} rows decided at random; expectation + 200 draws {1000 * extra:.0f} ms "
              f"(fit {result.fit_seconds:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--constraint", default="equalized_odds")
    parser.add_argument("--skip-adult", action="store_true")
    args = parser.parse_args()
    limit_threads(1)
    report("hiring demo (5,000 rows)", *_hiring(), args.constraint)
    if not args.skip_adult:
        report("UCI Adult (45,222 rows)", *_adult(args.data_dir), args.constraint)


if __name__ == "__main__":
    main()
