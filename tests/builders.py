"""Data builders the test folders share (fixtures over them live in ``tests/conftest.py``).

Every builder is seeded and small; none reads the datasets under ``../shared``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def applicants(n: int, seed: int, *, score: bool = False) -> pd.DataFrame:
    """A hiring-like table: ``income``, ``proxy`` (a stand-in for ``sex``), ``region``, ``sex`` and ``hired``
    drawn from a logistic model that penalises the proxy; with ``score``, a noisy score of that model
    (between ``sex`` and ``hired``)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["f", "m"], n)
    income = rng.normal(50, 12, n)
    proxy = (sex == "f") * 1.0 + rng.normal(size=n)
    region = rng.choice(["north", "south", "east"], n)
    logit = 0.06 * (income - 50) - 0.8 * proxy + 0.4 * (region == "north")
    hired = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    columns = {"income": income.round(2), "proxy": proxy.round(3), "region": region, "sex": sex}
    if score:
        columns["score"] = np.clip(1 / (1 + np.exp(-logit)) + rng.normal(0, 0.05, n), 0, 1).round(4)
    return pd.DataFrame({**columns, "hired": hired})


def rows_from_cells(cells: dict) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """``{(sex, eth): (n, n_selected, n_positive)}`` → ``y_true``, ``y_pred`` and the sensitive features.

    The first ``n_positive`` rows of a cell have label 1 and the first ``n_selected`` are selected, so
    every count of the audit is known in advance.
    """
    y_true, y_pred, sex, eth = [], [], [], []
    for (s, e), (n, selected, positive) in cells.items():
        y_true += [1] * positive + [0] * (n - positive)
        y_pred += [1] * selected + [0] * (n - selected)
        sex += [s] * n
        eth += [e] * n
    return np.array(y_true), np.array(y_pred), pd.DataFrame({"sex": sex, "eth": eth})


def component_text(component) -> str:
    """All text inside a Dash component tree (what a reader of the rendered page would see)."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(component_text(c) for c in component)
    return component_text(getattr(component, "children", None))


def listings(n: int = 600, seed: int = 0, share_a: float | None = None):
    """Listing prices where the neighbourhood (which differs by group) lowers the price; ``band`` cuts the price
    into three classes. Group ``a`` lives only in neighbourhoods x and y."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    groups = rng.choice(["a", "b"], n, p=None if share_a is None else [share_a, 1 - share_a])
    frame = pd.DataFrame({"group": groups, "hood": rng.choice(["x", "y", "z"], n),
                          "size": rng.normal(50, 10, n).round(1)})
    frame.loc[frame["group"] == "a", "hood"] = rng.choice(["x", "y"], int((frame["group"] == "a").sum()))
    frame["price"] = 100 + 2 * frame["size"] + np.where(frame["hood"] == "x", -20, 0) + rng.normal(0, 5, n)
    frame["band"] = pd.cut(frame["price"], [-np.inf, 180, 210, np.inf], labels=["low", "mid", "high"]).astype(str)
    return frame
