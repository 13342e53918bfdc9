"""A regression audit of 1,000,000 rows with intervals through the CLI (target: at most 4 s on this machine).

Writes a synthetic Parquet file (price, prediction, two sensitive features: 3 × 2 groups, so 3 groupings and
11 groups) to a temporary folder, then times ``auditapp audit --task regression --json OUT`` as a fresh
process (imports, reading, the audit with 1,000 bootstrap replicates per group, the record), best of
``--repeat`` runs; and the engine alone in this process.

Run: .venv/bin/python bench/bench_regression.py [--rows 1000000] [--repeat 3] [--csv]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--csv", action="store_true", help="write CSV instead of Parquet")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.rows
    area = rng.choice(["north", "centre", "south"], n, p=[0.5, 0.3, 0.2])
    y = rng.gamma(2.0, 60.0, n)
    frame = pd.DataFrame({"area": area, "host": rng.choice(["f", "m"], n), "price": y,
                          "predicted": y + rng.normal(0, 15, n) - 10.0 * (area == "south")})
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / ("prices.csv" if args.csv else "prices.parquet")
        frame.to_csv(data, index=False) if args.csv else frame.to_parquet(data)
        out = Path(tmp) / "record.json"
        command = [sys.executable, "-m", "auditapp.cli", "audit", "--data", str(data), "--task", "regression",
                   "--target", "price", "--prediction", "predicted", "--sensitive", "area,host",
                   "--json", str(out)]
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
        print(f"CLI, {n:,} rows ({data.suffix}), 1,000 replicates: best {min(times):.2f} s, runs "
              + ", ".join(f"{t:.2f}" for t in times) + " (target ≤ 4 s)")
    from auditapp.core.regression import compute_regression_audit
    from auditapp.core.runtime import limit_threads

    limit_threads()
    start = time.perf_counter()
    compute_regression_audit(frame["price"], frame["predicted"], frame[["area", "host"]], n_boot=1000)
    print(f"engine alone: {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
