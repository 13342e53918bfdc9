"""Mitigation comparison on UCI Adult (45,222 complete rows) with a logistic-regression pipeline.

Every candidate (baseline, refit, reweighing, CorrelationRemover, ExponentiatedGradient, GridSearch
with 20 points (at least 2^dimensions; 20 for sex), ThresholdOptimizer) is trained on the same 70% and audited on the same 30% with
1,000 bootstrap replicates, two candidates at a time. Target: <= 15 s wall time on 2 cores.

Run: .venv/bin/python bench/bench_mitigation.py [--data-dir ../shared/datasets] [--jobs 2] [--constraint C]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from auditapp.runtime import limit_threads

FEATURES = ("age", "workclass", "education_num", "marital_status", "occupation", "relationship",
            "capital_gain", "capital_loss", "hours_per_week")
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def load_adult(directory: Path):
    from datasets.public import parse_adult

    frame = parse_adult(directory / "adult.data", directory / "adult.test").dropna().reset_index(drop=True)
    return frame.drop(columns=["split", "fnlwgt"])


def lr_pipeline(frame):
    from auditapp.mitigation.learners import default_learner

    return default_learner(frame, FEATURES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--constraint", default="demographic_parity")
    parser.add_argument("--bootstrap", type=int, default=1000)
    args = parser.parse_args()
    limit_threads(1)
    start = time.perf_counter()
    from auditapp.mitigation.compare import compare_mitigations
    from auditapp.models import from_estimator
    from auditapp.spec import AuditSpec

    frame = load_adult(args.data_dir)
    loaded = time.perf_counter()
    frame["income"] = (frame["income"] == ">50K").astype(int)
    model = from_estimator(lr_pipeline(frame).fit(frame[list(FEATURES)], frame["income"]), name="adult LR")
    fitted = time.perf_counter()
    spec = AuditSpec(target="income", sensitive=("sex",), n_boot=args.bootstrap, seed=0)

    def progress(name, status, result):
        if result is not None:
            print(f"  {time.perf_counter() - start:6.1f} s  {name:<24}{status:<8} fit {result.fit_seconds:.2f} s")

    comparison = compare_mitigations(frame, spec, model, constraint=args.constraint, n_jobs=args.jobs,
                                     on_progress=progress)
    done = time.perf_counter()
    from auditapp.commands.mitigate import format_table

    print()
    print(format_table(comparison))
    print(f"\nrows {len(frame):,}; load {loaded - start:.1f} s, model fit {fitted - loaded:.1f} s, "
          f"comparison {done - fitted:.1f} s; wall time {done - start:.1f} s "
          f"(target <= 15 s, {args.jobs} jobs)")


if __name__ == "__main__":
    main()
