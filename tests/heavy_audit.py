"""A genuinely heavy audit that the default work caps allow, for tests that must act while it runs.

Six sensitive features that split the rows the same 40 ways (as six recodings of one attribute would):
only 40 intersections, far below ``AUDITAPP_MAX_INTERSECTIONS``, yet every one of the 63 groupings has
40 groups, so the spread criteria compare every pair of groups in each (63 × 780 = 49,140 pairs, the
most the 6-feature cap and the 40-group switch of ``auditapp.core.spreads`` allow). On 20,000 scored rows
that is about 27 s of one core on the development machine (``bench/load_heavy.py --alone``), and
longer at the helpers' low priority: a test that acts within a few seconds finds it still computing.
Nothing here sleeps: the work is the engine's own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HEAVY_FEATURES = ("region", "branch", "team", "desk", "shift", "office")


def add_heavy_features(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """``frame`` with the six sensitive features of the heavy audit (same 40-way split, own labels)."""
    unit = np.random.default_rng(seed).integers(0, 40, len(frame)).astype(str)
    out = frame.copy()
    for name in HEAVY_FEATURES:
        out[name] = np.char.add(f"{name}-", unit)
    return out


def heavy_frame(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Scores, outcomes ``y`` and the six heavy sensitive features (``n`` rows)."""
    rng = np.random.default_rng(seed + 1)
    score = rng.random(n).round(4)
    frame = pd.DataFrame({"score": score, "y": (rng.random(n) < score).astype(int)})
    return add_heavy_features(frame, seed)
