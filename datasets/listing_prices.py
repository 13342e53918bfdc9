"""The listing-price scenario (educators): a price model that under-estimates one group's listings.

Synthetic and generated (seeded, offline). Hosts belong to group ``A`` or ``B`` (standing for the host's
ethnicity, which the model never sees). Group B hosts live mostly in neighbourhoods ``east`` and ``harbour``,
so ``neighbourhood`` stands in for the host's group. The model is a linear regression trained on *last
year's* prices, when listings of group B hosts were discounted by about 15% (hosts of group B had to
under-price to get bookings); it learns the discount through the neighbourhood. Audited against *this year's*
prices (``price``), which carry no discount, it under-estimates group B's listings: a negative mean error,
a larger mean absolute error and a standardized mean difference of predictions well below 0.

Columns: ``host_group`` (sensitive), ``neighbourhood``, ``bedrooms``, ``rating``, ``reviews``, ``price`` (this
year's nightly price, the outcome) and ``predicted_price`` (the model's prediction).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

VERSION = 1
DATA_FILE = "listing_prices.csv"
NEIGHBOURHOODS = ("central", "north", "east", "harbour")
TARGET, PREDICTION, SENSITIVE = "price", "predicted_price", ("host_group",)
HISTORICAL_DISCOUNT = 0.15


def _listings(rng: np.random.Generator, n: int) -> pd.DataFrame:
    group = np.where(rng.random(n) < 0.35, "B", "A")
    p_hood = {"A": [0.4, 0.4, 0.1, 0.1], "B": [0.1, 0.1, 0.4, 0.4]}
    hood = np.array([rng.choice(NEIGHBOURHOODS, p=p_hood[g]) for g in group])
    bedrooms = rng.integers(1, 5, n)
    rating = np.round(np.clip(rng.normal(4.5, 0.3, n), 3.0, 5.0), 2)
    reviews = rng.poisson(40, n)
    base = {"central": 60.0, "north": 45.0, "east": 45.0, "harbour": 55.0}
    price = (np.array([base[h] for h in hood]) + 32.0 * bedrooms + 25.0 * (rating - 4.5) + 0.1 * reviews
             + rng.normal(0, 15, n))
    return pd.DataFrame({"host_group": group, "neighbourhood": hood, "bedrooms": bedrooms, "rating": rating,
                         "reviews": reviews, "price": np.round(np.maximum(price, 20.0), 2)})


def _features(frame: pd.DataFrame) -> np.ndarray:
    hoods = np.column_stack([(frame["neighbourhood"] == h).to_numpy(float) for h in NEIGHBOURHOODS[1:]])
    return np.column_stack([np.ones(len(frame)), frame[["bedrooms", "rating", "reviews"]].to_numpy(float), hoods])


def model_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns: the numeric ones and the neighbourhood one-hot (central is the baseline)."""
    return pd.DataFrame(_features(frame)[:, 1:], columns=["bedrooms", "rating", "reviews",
                                                          *(f"in_{h}" for h in NEIGHBOURHOODS[1:])])


def histories(*, n_rows: int = 4000, seed: int = 16) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Last year's listings (``price`` discounted for group B: what the model learns from) and this year's."""
    rng = np.random.default_rng(seed)
    past = _listings(rng, n_rows)
    past["price"] = past["price"].to_numpy() * np.where(past["host_group"] == "B", 1 - HISTORICAL_DISCOUNT, 1.0)
    return past, _listings(rng, n_rows)


def generate(*, n_rows: int = 4000, seed: int = 16) -> pd.DataFrame:
    """The audit table: this year's listings with the model's predicted prices (seeded)."""
    past, now = histories(n_rows=n_rows, seed=seed)
    coef, *_ = np.linalg.lstsq(_features(past), past["price"].to_numpy(), rcond=None)  # ordinary least squares
    now["predicted_price"] = np.round(_features(now) @ coef, 2)
    return now


def compare_mitigations(*, seed: int = 16, n_boot: int = 300):
    """What each mitigation does to the price model, on this year's listings (a ``RegressionMitigationComparison``)."""
    from sklearn.linear_model import LinearRegression

    from auditapp.mitigation.regression import compare_regression_mitigations

    past, now = histories(seed=seed)
    return compare_regression_mitigations(LinearRegression(), model_inputs(past), past["price"], past["host_group"],
                                          model_inputs(now), now["price"], now["host_group"], seed=seed,
                                          n_boot=n_boot)


def write(folder: Path) -> Path:
    """Write the scenario's CSV into ``folder`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DATA_FILE
    generate().to_csv(path, index=False)
    return path


SCENARIO = "listing-prices"
CHOICES = {"task": "regression", "target": "price", "prediction": "predicted_price", "sensitive": ["host_group"]}


def install_listing_prices(store) -> str:
    """Generate the scenario's CSV once per generator version and register it; return its artifact id."""
    folder = store.root / "scenarios" / SCENARIO / f"v{VERSION}"
    target = folder / DATA_FILE
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{SCENARIO}-"))
        try:
            written = write(tmp)
            with contextlib.suppress(FileExistsError):  # another process got there first
                os.link(written, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return store.register_builtin(SCENARIO, target, kind="dataset", name=target.name)
