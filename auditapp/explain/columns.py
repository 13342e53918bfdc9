"""Map the columns a pipeline's preprocessing produces back to the dataset columns they came from.

Users never see ``education_phd`` or ``onehot__x3_5``: attributions of encoded columns are summed
back to their source column. A ColumnTransformer tells which input columns feed each transformer
and which output columns it produced; a one-input transformer maps all its outputs to that input;
a transformer whose outputs keep its inputs' names (scaler, imputer, passthrough) maps them one
to one;
a one-hot encoder's outputs are matched to inputs by the ``<input>_<category>`` name it gives them.
When none of that applies (e.g. PCA mixes columns) there is no mapping and the caller explains the
whole pipeline as a function of the raw columns instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def source_matrix(preprocess: Any, feature_names: tuple[str, ...]) -> np.ndarray | None:
    """A 0/1 matrix (encoded columns × dataset columns), or None when no exact mapping exists.

    Parameters
    ----------
    preprocess : transformer or Pipeline
        The fitted steps before the final estimator.
    feature_names : tuple of str
        The dataset columns the pipeline takes, in order.
    """
    steps = [s for _, s in preprocess.steps] if hasattr(preprocess, "steps") else [preprocess]
    sources = list(range(len(feature_names)))
    names = list(feature_names)
    for step in steps:
        if step is None or step == "passthrough":
            continue
        local = _step_sources(step, names)
        if local is None:
            return None
        sources = [sources[i] for i in local]
        names = _output_names(step, names, len(local))
    matrix = np.zeros((len(sources), len(feature_names)))
    matrix[np.arange(len(sources)), sources] = 1.0
    return matrix


def _output_names(step: Any, names: list[str], count: int) -> list[str]:
    try:
        out = [str(n) for n in step.get_feature_names_out(names)]
    except (AttributeError, ValueError, TypeError):
        out = []
    return out if len(out) == count else [f"x{i}" for i in range(count)]


def _step_sources(step: Any, names: list[str]) -> list[int] | None:
    """For each output column of ``step``, the index of its input column (None if not exact)."""
    if hasattr(step, "output_indices_") and hasattr(step, "transformers_"):
        return _column_transformer_sources(step, names)
    return _transformer_sources(step, names, list(range(len(names))))


def _column_transformer_sources(ct: Any, names: list[str]) -> list[int] | None:
    inputs = getattr(ct, "_transformer_to_input_indices", None)
    total = max((s.stop for s in ct.output_indices_.values()), default=0)
    out: list[int | None] = [None] * total
    for name, transformer, _columns in ct.transformers_:
        span = ct.output_indices_.get(name, slice(0, 0))
        if span.stop <= span.start or transformer == "drop":
            continue
        if inputs is None or name not in inputs:
            return None
        columns = list(inputs[name])
        sub = (list(range(len(columns))) if transformer == "passthrough"
               else _transformer_sources(transformer, [names[i] for i in columns],
                                         list(range(len(columns)))))
        if sub is None or len(sub) != span.stop - span.start:
            return None
        for offset, local in enumerate(sub):
            out[span.start + offset] = columns[local]
    if any(o is None for o in out):
        return None
    return [int(o) for o in out if o is not None]


def _transformer_sources(transformer: Any, names: list[str], indices: list[int]) -> list[int] | None:
    if hasattr(transformer, "steps"):
        current = indices
        current_names = names
        for _, step in transformer.steps:
            if step is None or step == "passthrough":
                continue
            local = _step_sources(step, current_names)
            if local is None:
                return None
            current = [current[i] for i in local]
            current_names = _output_names(step, current_names, len(local))
        return current
    try:
        outputs = [str(n) for n in transformer.get_feature_names_out(names)]
    except (AttributeError, ValueError, TypeError):
        outputs = None
    if len(names) == 1:
        count = len(outputs) if outputs is not None else None
        return None if count is None else [indices[0]] * count
    if outputs is None:
        return None
    if outputs == list(names):
        # One-to-one transformers (scalers, imputers, passthrough) keep their input names;
        # column mixers (PCA, splines) name their outputs anew and are not traced.
        return list(indices)
    return _match_prefixes(outputs, names, indices)


def _match_prefixes(outputs: list[str], names: list[str], indices: list[int]) -> list[int] | None:
    """Match ``<input>_<category>`` output names to the longest input name they start with."""
    by_length = sorted(range(len(names)), key=lambda i: -len(names[i]))
    out = []
    for output in outputs:
        hit = next((i for i in by_length if output.startswith(f"{names[i]}_")), None)
        if hit is None:
            return None
        out.append(indices[hit])
    return out
