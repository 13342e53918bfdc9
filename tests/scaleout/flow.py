"""Shared pieces of the job-flow tests: a small dataset, its browser state, and a job's result."""

from __future__ import annotations

import numpy as np
import pandas as pd

from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec
from tests.heavy_audit import HEAVY_FEATURES, add_heavy_features


def dataset(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["f", "m"], n)
    score = np.clip(rng.normal(0.5, 0.2, n) - 0.1 * (sex == "f"), 0, 1)
    return pd.DataFrame({"sex": sex, "eth": rng.choice(list("abc"), n), "score": score.round(4),
                         "y": (rng.random(n) < score).astype(int)})


def state(dataset_id: str, *, n_boot: int = 200) -> dict:
    spec = AuditSpec(target="y", sensitive=("sex", "eth"), score="score", threshold=0.5, n_boot=n_boot)
    return {"dataset": dataset_id, "model": None, "spec": spec.to_dict()}


def expected_selection_rates(frame: pd.DataFrame) -> dict[str, float]:
    """The same audit computed directly in this process (the reference for every job flow)."""
    audit = run_audit(frame, AuditSpec(target="y", sensitive=("sex", "eth"), score="score", threshold=0.5, n_boot=0))
    return {str(k): float(v) for k, v in audit.result.groupings[0].groups["selection_rate"].items()}


def slow_dataset(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """``dataset`` with the six sensitive features of the heavy audit (``tests.heavy_audit``).

    The kill and cancel tests need a job that is still running when they act. The bootstrap used to
    make any audit slow (``n_boot=100_000``); intervals now come from counts, so the work is in the
    pairs of groups the spread criteria compare: 49,140 here, within the default caps.
    """
    return add_heavy_features(dataset(n, seed), seed)


def slow_state(dataset_id: str) -> dict:
    """The browser state of the heavy audit of ``slow_dataset`` (its six sensitive features)."""
    spec = AuditSpec(target="y", sensitive=HEAVY_FEATURES, score="score", threshold=0.5)
    return {"dataset": dataset_id, "model": None, "spec": spec.to_dict()}
