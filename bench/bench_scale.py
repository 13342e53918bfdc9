"""Audits that outgrow memory: 100,000,000 rows in Parquet through the DuckDB engine, against pandas,
fairlearn (both extrapolated) and Spark local[2] (10,000,000 rows, identical counts).

The data are generated once into ``--data-dir`` (default: the system temp folder; never committed):
2 sensitive features (sex × group, 10 intersections), the outcome and a score; decisions are
``score >= 0.5``. Every audit runs in its own child process; its wall time (imports included) and
peak resident memory (``os.wait4`` of the child; for Spark the driver and its JVM) are printed.
Targets (issue 18): DuckDB on 100M rows with intervals and score histograms <= 20 s wall and <= 1.5 GB.

Run: .venv/bin/python bench/bench_scale.py [--rows N] [--pandas-rows N] [--fairlearn-rows N]
                                           [--spark-rows N] [--skip-spark] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHUNK = 10_000_000
SPEC = {"target": "y", "favorable": 1, "sensitive": ("sex", "group"), "score": "score", "threshold": 0.5}


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write ``rows`` rows to ``path`` in chunks of 10M (row groups of 1M), atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():
        return
    sex_values, group_values = pa.array(["female", "male"]), pa.array(["A", "B", "C", "D", "E"])
    partial = path.with_name(path.name + f".{os.getpid()}.tmp")
    started = time.perf_counter()
    with pq.ParquetWriter(partial, pa.schema([("sex", pa.dictionary(pa.int8(), pa.string())),
                                              ("group", pa.dictionary(pa.int8(), pa.string())),
                                              ("y", pa.int8()), ("score", pa.float64())])) as writer:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            rng = np.random.default_rng([seed, start])
            sex = (rng.random(n) < 0.55).astype(np.int8)
            group = rng.choice(5, n, p=[0.5, 0.25, 0.15, 0.07, 0.03]).astype(np.int8)
            y = (rng.random(n) < 0.3 + 0.1 * sex).astype(np.int8)
            score = np.clip(rng.normal(0.35 + 0.3 * y + 0.05 * (group == 0), 0.2), 0, 1)
            table = pa.table({"sex": pa.DictionaryArray.from_arrays(sex, sex_values),
                              "group": pa.DictionaryArray.from_arrays(group, group_values),
                              "y": y, "score": score})
            writer.write_table(table, row_group_size=1_000_000)
    os.replace(partial, path)
    print(f"generated {path.name}: {rows:,} rows, {path.stat().st_size / 1e9:.2f} GB "
          f"in {time.perf_counter() - started:.1f} s", flush=True)


def child(kind: str, path: str, extra: str) -> dict:
    """One measured audit (runs in a child process)."""
    started = time.perf_counter()
    from auditapp.core.runtime import limit_threads

    limit_threads()
    from auditapp.core.spec import AuditSpec

    spec = AuditSpec(**SPEC)
    if kind in ("duckdb", "spark"):
        from auditapp.engines.run import audit_source
        from auditapp.engines.sources import parse_source

        work = time.perf_counter()
        done = audit_source(parse_source(path, allow_remote=kind == "spark"), spec, engine=kind,
                            master=extra or None, hash_source=kind == "duckdb")
        audit = done.audit
        cells = audit.result.grouping("sex", "group").groups[["tn", "fp", "fn", "tp"]]
        return {"wall": time.perf_counter() - started, "work": time.perf_counter() - work,
                "rows": audit.result.n_rows, "cells": cells.to_numpy().tolist(),
                "hashed": done.dataset_info["sha256"] is not None, "children_peak_gb": _children_peak()}
    if kind == "pandas":
        from auditapp.core.audit import run_audit
        from auditapp.inputs.intake import read_table

        work = time.perf_counter()
        dataset = read_table(path)
        audit = run_audit(dataset.frame, spec)
        return {"wall": time.perf_counter() - started, "work": time.perf_counter() - work,
                "rows": audit.result.n_rows}
    if kind == "fairlearn":
        import pandas as pd
        from fairlearn.metrics import (
            MetricFrame,
            count,
            false_positive_rate,
            selection_rate,
            true_positive_rate,
        )

        frame = pd.read_parquet(path).iloc[: int(extra)]
        work = time.perf_counter()
        MetricFrame(metrics={"count": count, "selection_rate": selection_rate, "tpr": true_positive_rate,
                             "fpr": false_positive_rate},
                    y_true=frame["y"], y_pred=(frame["score"] >= 0.5).astype(int),
                    sensitive_features=frame[["sex", "group"]].astype(str))
        return {"wall": time.perf_counter() - started, "work": time.perf_counter() - work, "rows": len(frame)}
    raise ValueError(kind)


def _children_peak() -> float:
    """Peak resident memory (GB) of this process's live children (Spark's JVM), from /proc (Linux)."""
    import psutil

    total = 0.0
    for proc in psutil.Process().children(recursive=True):
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024 / 1e9
        except OSError:
            continue
    return total


def measure(kind: str, path: Path, extra: str = "") -> dict:
    """Run ``child`` in a fresh process; add its peak resident memory (GB)."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, str(path), extra], stdout=subprocess.PIPE,
                            env=env, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{kind} failed (status {status}): {out[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_gb"] = usage.ru_maxrss * 1024 / 1e9
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--pandas-rows", type=int, default=5_000_000, help="the pandas path's row limit")
    parser.add_argument("--fairlearn-rows", type=int, default=200_000)
    parser.add_argument("--spark-rows", type=int, default=10_000_000)
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "auditapp-bench-scale"))
    args = parser.parse_args()
    folder = Path(args.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    big = folder / f"scale-{args.rows}.parquet"
    small = folder / f"scale-{args.pandas_rows}.parquet"
    medium = folder / f"scale-{args.spark_rows}.parquet"
    for path, rows in ((big, args.rows), (small, args.pandas_rows), (medium, args.spark_rows)):
        generate(path, rows)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared with other work)")

    duck = measure("duckdb", big)
    print(f"DuckDB engine, {duck['rows']:,} rows (intervals, 10,000-bin score histograms, sha256 of the file): "
          f"{duck['wall']:.1f} s wall ({duck['work']:.1f} s audit), peak {duck['peak_gb']:.2f} GB "
          f"[targets <= 20 s, <= 1.5 GB]")
    pandas = measure("pandas", small)
    scale = args.rows / pandas["rows"]
    print(f"pandas path, {pandas['rows']:,} rows (its row limit): {pandas['wall']:.1f} s wall, peak "
          f"{pandas['peak_gb']:.2f} GB; extrapolated to {args.rows:,} rows: {pandas['work'] * scale:.0f} s and "
          f"about {pandas['peak_gb'] * scale:.0f} GB (it cannot hold them) -> DuckDB "
          f"{pandas['work'] * scale / duck['work']:.0f}x faster")
    fair = measure("fairlearn", small, str(args.fairlearn_rows))
    fair_total = fair["work"] * args.rows / fair["rows"]
    print(f"fairlearn MetricFrame (4 metrics, 10 intersections), {fair['rows']:,} rows: {fair['work']:.1f} s; "
          f"extrapolated to {args.rows:,} rows: {fair_total / 3600:.1f} h -> DuckDB {fair_total / duck['work']:,.0f}x "
          "faster (and auditapp adds intervals, tests and histograms)")
    if args.skip_spark:
        return
    spark = measure("spark", medium, "local[2]")
    same = measure("duckdb", medium)
    identical = spark["cells"] == same["cells"] and spark["rows"] == same["rows"]
    print(f"Spark local[2], {spark['rows']:,} rows: {spark['wall']:.1f} s wall ({spark['work']:.1f} s audit, the "
          f"session start included), peak {spark['peak_gb']:.2f} GB Python driver + "
          f"{spark['children_peak_gb']:.2f} GB JVM; DuckDB on the "
          f"same file {same['work']:.1f} s; counts identical: {identical}")
    if not identical:
        raise SystemExit("Spark and DuckDB counts differ")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "")))
    else:
        main()
