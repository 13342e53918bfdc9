"""What the model sandbox costs: start-up, one call, and the audit and explanations of an uploaded model.

"Before" is the same fitted pipeline in auditapp's own process (``models.from_estimator``, what an
uploaded file used to be); "after" is the file loaded through ``models.load_model`` (its sandbox). The
model and data are bench_explain's: 20 features, HistGradientBoosting(200 iterations) after one-hot
encoding, sex x race groups.

Run: .venv/bin/python bench/bench_sandbox.py [--rows N] [--starts N] [--skip-explain]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from auditapp.core.runtime import limit_threads  # noqa: E402


def timed(function):
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--skip-explain", action="store_true", help="audit timings only (e.g. at 1,000,000 rows)")
    args = parser.parse_args(argv)
    limit_threads()
    import skops.io as sio
    from bench_explain import fit_model, make_data

    from auditapp.core.audit import run_audit
    from auditapp.core.spec import AuditSpec
    from auditapp.explain import explain_model
    from auditapp.inputs.models import from_estimator, load_model
    from auditapp.inputs.sandbox import current_mode, default_pool

    print(f"isolation: {current_mode().summary}")
    frame = make_data(args.rows)
    pipe = fit_model(frame, 0)
    data = sio.dumps(pipe)
    print(f"data: {len(frame):,} rows; model file {len(data) / 1024:,.0f} KB (HistGradientBoosting, 200 iterations)")

    starts = []
    for _ in range(args.starts):  # a new scope is a new model process: the cost of a first upload
        _, seconds = timed(lambda: load_model(data, filename="hgb.skops", scope=uuid.uuid4().hex))
        starts.append(seconds)
        default_pool().close()
    print(f"sandbox start-up (start the process, load and check the model, describe it): median "
          f"{np.median(starts):.2f} s, min {min(starts):.2f} s, max {max(starts):.2f} s ({args.starts} starts)")
    sandboxed = load_model(data, filename="hgb.skops")
    local = from_estimator(pipe)
    rows = frame.head(1000)
    calls = [timed(lambda: sandboxed.predict_proba(rows))[1] for _ in range(20)]
    here = [timed(lambda: local.predict_proba(rows))[1] for _ in range(20)]
    print(f"one call, 1,000 rows: {np.median(calls) * 1e3:.1f} ms in the sandbox, {np.median(here) * 1e3:.1f} ms "
          "in this process (median of 20)")

    spec = AuditSpec(target="y", sensitive=("sex", "race"), reference={"sex": "male"}, n_boot=1000, seed=0)
    before = [timed(lambda: run_audit(frame, spec, local))[1] for _ in range(3)]
    after = [timed(lambda: run_audit(frame, spec, sandboxed))[1] for _ in range(3)]
    print(f"audit, {len(frame):,} rows, 1,000 bootstrap replicates: before {min(before):.2f} s, "
          f"after {min(after):.2f} s (best of 3; the model process already started)")

    if args.skip_explain:
        default_pool().close()
        return 0
    import shap  # noqa: F401  (imported before timing: both sides need it)

    explain = {"rows_per_group": 1000, "seed": 0}
    before = timed(lambda: explain_model(frame, spec, local, **explain))
    after = timed(lambda: explain_model(frame, spec, sandboxed, **explain))
    same = np.abs(before[0].shap.values - after[0].shap.values).max()
    print(f"explanations ({before[0].sample.n_rows:,} sampled rows, {before[0].shap.method}): before "
          f"{before[1]:.2f} s, after {after[1]:.2f} s; largest SHAP difference {same:.1e}")
    default_pool().close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
