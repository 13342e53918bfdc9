"""The command line's text summary of a regression or multiclass audit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

_REG = ("mean_error", "mean_absolute_error", "root_mean_squared_error", "r2")


def _n(value: float) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.4g}"


def _ci(row: pd.Series, m: str) -> str:
    return f"{_n(row[m])} [{_n(row[f'{m}_low'])}, {_n(row[f'{m}_high'])}]"


def format_task_summary(audit: Any, notices: Sequence[str] = ()) -> str:
    """Per grouping and group: the main metrics with intervals, then the grouping's criteria."""
    result = audit.result
    lines = [f"{audit.task.capitalize()} audit of {result.n_rows:,} rows ({audit.choice.reason}); "
             f"{result.confidence:.0%} intervals; predictions from {audit.source}."]
    lines += [f"Note: {n}" for n in (*notices, *audit.notices[1:])]
    for grouping in result.groupings:
        lines += ["", f"== {grouping.name} (reference: {grouping.reference}) =="]
        for label, row in grouping.groups.iterrows():
            head = f"{str(label)[:27]:<28}{int(row['count']):>9}  "
            if audit.task == "regression":
                cells = [f"{m}={_ci(row, m)}" for m in _REG]
                cells.append(f"SMD={_n(row['standardized_mean_difference'])}")
            else:
                cells = [f"accuracy={_ci(row, 'accuracy')}", f"macro TPR={_n(row['macro_tpr'])}"]
                cells += [f"{c}: rate {_n(row[f'class_rate:{c}'])} (impact {_n(row[f'impact_ratio:{c}'])})"
                          for c in grouping.classes]
            flags = ",".join(row["flags"]) + (" (reference)" if row["is_reference"] else "")
            lines.append(head + "  ".join(cells) + (f"  {flags}" if flags else ""))
        lines.append("  " + "; ".join(f"{name.replace('_', ' ')} {_n(r['value'])}"
                                      for name, r in grouping.criteria.iterrows()))
    return "\n".join(lines)
