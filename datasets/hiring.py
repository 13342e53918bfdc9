"""The hiring scenario: historical hiring decisions biased against women, and a proxy feature.

The story follows the résumé-screening model Amazon scrapped in 2018: trained on past hiring
decisions, it learned to penalise résumés that mention "women's" (as in "women's chess club
captain"). Here the past decisions (the target ``hired``) carry a penalty that recruiters applied
to women. The model never sees ``sex``, but ``womens_club`` is common among women and rare among
men, so the model learns to penalise it and reproduces the bias. ``performed_well`` is how each
applicant would have done in the job: it depends on merit only (in this simulated world it is known
for everyone; in a real one only for the people hired), which is what the "model in the loop"
simulation reveals, round by round, for the people the model selects.

The demo is honest about data: the model is trained on one part of the applicants (the training
part, ``hiring_train.csv``) and audited on applicants it never saw (``hiring.csv``).

Everything is seeded: the same ``seed`` gives the same rows and the same fitted model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError

EDUCATION_LEVELS = ("high school", "bachelor", "master", "phd")
ETHNICITIES = ("white", "black", "hispanic", "asian")
HIRING_FEATURES = ("years_experience", "education", "skills_test", "referrals",
                   "womens_club", "commute_km", "typing_speed")
NUMERIC_FEATURES = tuple(name for name in HIRING_FEATURES if name != "education")
LEGITIMATE_FEATURES = ("years_experience", "education", "skills_test", "referrals")
PROXY_FEATURE = "womens_club"
NOISE_FEATURES = ("commute_km", "typing_speed")
DATA_FILE = "hiring.csv"
TRAIN_FILE = "hiring_train.csv"
MODEL_FILE = "hiring_model.skops"
PERFORMANCE = "performed_well"
MIN_ROWS = 100
# Bumped whenever the generated files change, so a server never mixes files of two versions.
DEMO_VERSION = 2

# Generator settings. The legitimate features are drawn the same way for women and men, so any
# gap the model shows between them comes from the biased labels, through the proxy.
_P_FEMALE = 0.45
_P_ETHNICITY = (0.55, 0.22, 0.15, 0.08)
_P_EDUCATION = (0.25, 0.45, 0.22, 0.08)
_P_CLUB_FEMALE = 0.60
_P_CLUB_MALE = 0.03
_HISTORICAL_PENALTY = 2.0  # log-odds past recruiters took off for a woman


@dataclass(frozen=True)
class Scenario:
    """A built-in scenario: the narrative text and the audit settings that go with its data."""

    name: str
    title: str
    summary: str
    what_to_try: tuple[str, ...]
    target: str
    favorable: int
    sensitive: tuple[str, ...]
    reference: dict[str, str] = field(default_factory=dict)
    features: tuple[str, ...] = ()
    data_file: str = DATA_FILE
    model_file: str = MODEL_FILE
    train_file: str = TRAIN_FILE
    loop_outcome: str | None = None


SCENARIO = Scenario(
    name="hiring",
    title="Hiring: a résumé screen that learned to penalise women",
    summary=(
        "A company trained a model on ten years of its own hiring decisions, and those decisions "
        "were unfair to women. The model is never told an applicant's sex, but it sees whether the "
        "résumé mentions a women's club or college, which mostly women do. "
        "So the model learns to mark those résumés down and repeats the old unfairness. "
        "The model was trained on one group of past applicants; the audit looks at other applicants it "
        "never saw."
    ),
    what_to_try=(
        "Compare the selection rate of women and men: the model picks women far less often, "
        "although it never saw the sex column.",
        "Open the explanations: 'womens_club' pushes scores down, and it is flagged as a proxy "
        "for sex.",
        "Check 'commute_km' and 'typing_speed': they are pure noise, so they should matter little "
        "and show no link to sex.",
        "Look at ethnicity: no unfairness was planted there, so gaps are chance; see how wide the "
        "interval is for the smallest group.",
        "Try a mitigation and see how much of the gap closes and what it costs in accuracy against "
        "the same learner refitted on the same rows.",
        "Put the model in the loop (Feedback loops): it learns how people performed only when it "
        "selected them, so it never learns that it misjudges women.",
    ),
    target="hired",
    favorable=1,
    sensitive=("sex", "ethnicity"),
    reference={"sex": "male"},
    features=HIRING_FEATURES,
    loop_outcome=PERFORMANCE,
)


def generate_hiring(n_rows: int = 5000, *, seed: int = 0) -> pd.DataFrame:
    """Generate job applicants whose historical hiring decisions were biased against women.

    Parameters
    ----------
    n_rows : int, default 5000
        Number of applicants, at least 100.
    seed : int, default 0
        Seed for ``np.random.default_rng``; the same seed gives the same frame.

    Returns
    -------
    pandas.DataFrame
        One row per applicant with ``applicant_id``, the sensitive columns ``sex`` and
        ``ethnicity``, ``age``, the legitimate features (``years_experience``, ``education``,
        ``skills_test``, ``referrals``), the proxy ``womens_club``, the noise features
        ``commute_km`` and ``typing_speed``, the target ``hired`` (1 = hired by the past,
        biased recruiters) and ``performed_well`` (1 = would do well in the job; merit only).

    Raises
    ------
    AuditInputError
        If ``n_rows`` is not an integer of at least 100.
    """
    n_rows = _checked_rows(n_rows)
    rng = np.random.default_rng(seed)
    female = rng.random(n_rows) < _P_FEMALE
    ethnicity = rng.choice(np.array(ETHNICITIES, dtype=object), size=n_rows, p=_P_ETHNICITY)
    age = np.clip(np.rint(rng.normal(38.0, 10.0, n_rows)), 21, 65).astype(np.int64)
    years_experience = np.round((age - 21) * rng.uniform(0.2, 0.9, n_rows), 1)
    education_level = rng.choice(len(EDUCATION_LEVELS), size=n_rows, p=_P_EDUCATION)
    skills_test = np.clip(
        np.rint(rng.normal(55.0 + 5.0 * education_level, 14.0)), 0, 100
    ).astype(np.int64)
    referrals = rng.poisson(0.8, n_rows).astype(np.int64)
    womens_club = (rng.random(n_rows) < np.where(female, _P_CLUB_FEMALE, _P_CLUB_MALE))
    commute_km = np.round(rng.gamma(2.0, 8.0, n_rows), 1)
    typing_speed = np.clip(np.rint(rng.normal(55.0, 12.0, n_rows)), 15, 120).astype(np.int64)

    # Merit depends on the legitimate features only; the past recruiters' decision adds a
    # penalty for women. Neither the proxy nor the noise features enter the label.
    merit = (
        -4.9
        + 0.09 * years_experience
        + 0.45 * education_level
        + 0.05 * skills_test
        + 0.4 * referrals
    )
    log_odds = merit - _HISTORICAL_PENALTY * female
    hired = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-log_odds))).astype(np.int64)
    # Drawn last, so the other columns are the same as before this column existed.
    performed_well = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-merit))).astype(np.int64)

    return pd.DataFrame(
        {
            "applicant_id": np.arange(1, n_rows + 1, dtype=np.int64),
            "sex": np.where(female, "female", "male"),
            "ethnicity": ethnicity.astype(str),
            "age": age,
            "years_experience": years_experience,
            "education": np.array(EDUCATION_LEVELS)[education_level],
            "skills_test": skills_test,
            "referrals": referrals,
            "womens_club": womens_club.astype(np.int64),
            "commute_km": commute_km,
            "typing_speed": typing_speed,
            "hired": hired,
            PERFORMANCE: performed_well,
        }
    )


def demo_parts(n_rows: int = 5000, *, train_rows: int = 5000,
               seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The applicants the demo model is trained on, and the held-out applicants it is audited on.

    Both parts come from one seeded draw of ``train_rows + n_rows`` applicants: the first
    ``train_rows`` (``applicant_id`` 1 to ``train_rows``) train the model, the others are audited.

    Raises
    ------
    AuditInputError
        If either part has fewer than 100 rows.
    """
    n_rows, train_rows = _checked_rows(n_rows), _checked_rows(train_rows, what="training part")
    frame = generate_hiring(n_rows + train_rows, seed=seed)
    return frame.iloc[:train_rows].reset_index(drop=True), frame.iloc[train_rows:].reset_index(drop=True)


def train_hiring_model(frame: pd.DataFrame, *, seed: int = 0):
    """Fit the scenario's screening model on the features in ``HIRING_FEATURES``.

    The model sees the legitimate features, the proxy and the noise features, never ``sex``,
    ``ethnicity``, ``age`` or ``applicant_id``. It is fitted on a DataFrame, so
    ``feature_names_in_`` records the columns it needs.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows from :func:`generate_hiring` (or the same columns), including ``hired``.
    seed : int, default 0
        ``random_state`` of the gradient-boosting classifier.

    Returns
    -------
    sklearn.pipeline.Pipeline
        One-hot encoding of ``education`` (numeric columns pass through) followed by a
        ``HistGradientBoostingClassifier`` with 100 iterations.

    Raises
    ------
    AuditInputError
        If a feature or the target column is missing, or the target is not 0/1 with both values.
    """
    missing = [name for name in (*HIRING_FEATURES, SCENARIO.target) if name not in frame.columns]
    if missing:
        raise AuditInputError(
            f"The hiring data lacks the column(s) {', '.join(missing)}; found "
            f"{', '.join(map(str, frame.columns))}. Generate it with generate_hiring()."
        )
    target = frame[SCENARIO.target]
    values = sorted(pd.unique(target).tolist())
    if values != [0, 1]:
        raise AuditInputError(
            f"The column '{SCENARIO.target}' must hold both 0 and 1, but holds {values}. "
            "Map hired to 1 and not hired to 0."
        )
    # scikit-learn is imported here, not at module level, so the app can start without it.
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder
    from threadpoolctl import threadpool_limits

    model = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [
                        (
                            "education",
                            OneHotEncoder(
                                categories=[list(EDUCATION_LEVELS)],
                                handle_unknown="ignore",
                                sparse_output=False,
                            ),
                            ["education"],
                        ),
                        ("numeric", "passthrough", list(NUMERIC_FEATURES)),
                    ],
                    verbose_feature_names_out=False,
                ),
            ),
            (
                "classify",
                HistGradientBoostingClassifier(
                    max_iter=100, early_stopping=False, random_state=seed
                ),
            ),
        ]
    )
    # One thread: on a shared machine OpenMP threads make the fit far slower, not faster.
    with threadpool_limits(limits=1):
        model.fit(frame.loc[:, list(HIRING_FEATURES)], target.to_numpy())
    return model


def write_demo(out_dir: str | Path, *, seed: int = 0, n_rows: int = 5000,
               train_rows: int = 5000) -> dict[str, Path]:
    """Write the scenario's audit data, training part and fitted model.

    The model is trained on the training part only (``hiring_train.csv``) and the audit data
    (``hiring.csv``) are other applicants, so the audit measures the model on rows it never saw.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write into; created if it does not exist.
    seed : int, default 0
        Seed for both the data and the model.
    n_rows : int, default 5000
        Number of applicants to audit (``hiring.csv``).
    train_rows : int, default 5000
        Number of applicants the model is trained on (``hiring_train.csv``).

    Returns
    -------
    dict of str to Path
        ``{"data": <csv path>, "train": <csv path>, "model": <skops path>}``.

    Raises
    ------
    AuditInputError
        If ``n_rows`` or ``train_rows`` is below 100 or ``out_dir`` exists and is not a folder.
    """
    import skops.io

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AuditInputError(
            f"The output path {out} is a file, not a folder. Pass a folder to write the demo into."
        )
    train, audit = demo_parts(n_rows, train_rows=train_rows, seed=seed)
    model = train_hiring_model(train, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"data": out / DATA_FILE, "train": out / TRAIN_FILE, "model": out / MODEL_FILE}
    audit.to_csv(paths["data"], index=False)
    train.to_csv(paths["train"], index=False)
    skops.io.dump(model, paths["model"])
    return paths


def _checked_rows(n_rows: object, *, what: str = "scenario") -> int:
    if isinstance(n_rows, bool) or not isinstance(n_rows, int | np.integer) or n_rows < MIN_ROWS:
        name = "n_rows" if what == "scenario" else "train_rows"
        raise AuditInputError(
            f"The hiring {what} needs at least {MIN_ROWS} rows, but {name} is {n_rows!s}. "
            f"Pass a whole number of {MIN_ROWS} or more."
        )
    return int(n_rows)
