"""Group metrics at 1,000,000 rows: auditapp against fairlearn's MetricFrame, in one process.

Two sensitive features (2 x 5 levels = 10 intersections), every metric with its interval (computed from
counts since issue 13; ``--boot`` is passed to ``compute_audit`` but no longer changes the work, and the
CLI run leaves out the deprecated ``--bootstrap``). fairlearn's bootstrap is measured at a small n_boot
and scaled (the full run would take hours).
Targets: identical point values, >= 3,000x faster end to end, <= 0.3 s for everything in memory,
<= 4 s for the CLI on a 1M-row Parquet file (imports and read included).

Run: .venv/bin/python bench/bench_metrics.py [--rows N] [--fairlearn-boot K] [--skip-fairlearn]
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from auditapp.core.metrics import compute_audit
from auditapp.core.runtime import limit_threads


def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n, p=[0.45, 0.55])
    race = rng.choice(["A", "B", "C", "D", "E"], n, p=[0.5, 0.25, 0.15, 0.07, 0.03])
    y_true = rng.binomial(1, 0.3 + 0.1 * (sex == "male"))
    score = np.clip(rng.normal(0.35 + 0.3 * y_true + 0.05 * (race == "A"), 0.2), 0, 1)
    return pd.DataFrame({"y": y_true, "pred": (score >= 0.5).astype(int), "score": score,
                         "sex": sex, "race": race})


def fairlearn_metrics():
    from fairlearn.metrics import (
        count,
        false_negative_rate,
        false_positive_rate,
        selection_rate,
        true_negative_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, precision_score

    return {
        "count": count, "selection_rate": selection_rate, "accuracy": accuracy_score,
        "balanced_accuracy": balanced_accuracy_score, "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate, "true_negative_rate": true_negative_rate,
        "false_negative_rate": false_negative_rate,
        "precision": functools.partial(precision_score, zero_division=np.nan),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--fairlearn-boot", type=int, default=2)
    parser.add_argument("--skip-fairlearn", action="store_true")
    args = parser.parse_args()
    limit_threads()
    frame = make_data(args.rows)
    sensitive = frame[["sex", "race"]]
    compute_audit(frame["y"].to_numpy()[:1000], frame["pred"].to_numpy()[:1000], sensitive.iloc[:1000], n_boot=10)

    runs = []
    for _ in range(5):
        start = time.perf_counter()
        result = compute_audit(frame["y"].to_numpy(), frame["pred"].to_numpy(), sensitive, n_boot=args.boot)
        runs.append(time.perf_counter() - start)
    ours = min(runs)
    start = time.perf_counter()
    compute_audit(frame["y"].to_numpy(), frame["pred"].to_numpy(), sensitive, n_boot=0)
    ours_point = time.perf_counter() - start
    n_groups = sum(len(g.groups) for g in result.groupings)
    print(f"rows={args.rows:,}  groupings={len(result.groupings)}  groups={n_groups}  replicates={args.boot}")
    print(f"auditapp: all metrics, disparities, tests and CIs (computed from counts): {ours:.3f} s "
          f"(best of 5; median {np.median(runs):.3f} s); again with n_boot=0, which no longer changes the "
          f"work: {ours_point * 1000:.1f} ms")

    if not args.skip_fairlearn:
        from fairlearn.metrics import MetricFrame

        metrics = fairlearn_metrics()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            mf = MetricFrame(metrics=metrics, y_true=frame["y"], y_pred=frame["pred"],
                             sensitive_features=sensitive)
            fl_point = time.perf_counter() - start
            start = time.perf_counter()
            MetricFrame(metrics=metrics, y_true=frame["y"], y_pred=frame["pred"],
                        sensitive_features=sensitive, n_boot=args.fairlearn_boot, ci_quantiles=[0.025, 0.975],
                        random_state=0)
            fl_boot_total = time.perf_counter() - start
        per_replicate = max(fl_boot_total - fl_point, 0) / args.fairlearn_boot
        fl_total = fl_point + per_replicate * args.boot
        table = result.grouping("sex", "race").groups
        worst = 0.0
        for (sex, race), row in mf.by_group.iterrows():
            mine = table.loc[f"{sex} & {race}"]
            for metric in metrics:
                column = "count" if metric == "count" else metric
                worst = max(worst, abs(float(mine[column]) - float(row[metric])))
        print(f"fairlearn MetricFrame: point values {fl_point:.1f} s; bootstrap {per_replicate:.1f} s per "
              f"replicate (measured with n_boot={args.fairlearn_boot}); {args.boot} replicates ~ "
              f"{fl_total / 3600:.2f} h")
        print(f"largest difference in point values vs fairlearn: {worst:.2e}")
        print(f"speed-up end to end (fairlearn / auditapp): {fl_total / ours:,.0f}x; point values only: "
              f"{fl_point / ours_point:,.0f}x")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.parquet"
        frame.to_parquet(path, index=False)
        exe = Path(sys.executable).with_name("auditapp")
        command = [str(exe), "audit", "--data", str(path), "--target", "y", "--prediction", "pred",
                   "--sensitive", "sex,race", "--json", str(Path(tmp) / "out.json")]
        times = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
        print(f"CLI end to end on a {args.rows:,}-row Parquet file (imports, read, audit, JSON): "
              f"{min(times):.2f} s (best of 3; median {np.median(times):.2f} s)")


if __name__ == "__main__":
    main()
