"""Trusted pickles that run code inside the model process, to probe the sandbox as an attacker would.

With pickle trust on, a pickle runs any code it likes when loaded: exactly the position of an attacker
who found a hole in the allow-list. These builders put such code at load time (``model_reporting``) or
in the model's own predict path (``pipeline_calling``).
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer


class Code:
    """Unpickles as the object ``f`` that ``source`` defines (the code runs wherever it is unpickled)."""

    def __init__(self, source: str):
        self.source = source

    def __reduce__(self):
        return (eval, (f"(lambda ns: (exec({self.source!r}, ns), ns['f'])[1])({{}})",))


def model_reporting(source: str) -> bytes:
    """A pickle whose loading runs ``source`` (which sets ``report``, a list of short texts) and returns
    a fitted model whose column names are that report: the model's description carries it out."""
    code = (source + "\nimport pandas, sklearn.linear_model\n"
            "f = sklearn.linear_model.LogisticRegression().fit("
            "pandas.DataFrame({r: [0.0, 1.0] for r in report}), [0, 1])\n")
    return pickle.dumps(Code(code))


def pipeline_calling(source: str) -> tuple[bytes, pd.DataFrame]:
    """A fitted pipeline whose first step runs ``f(X)`` from ``source`` on every prediction."""
    frame = pd.DataFrame({"x": np.linspace(-1, 1, 40)})
    pipeline = make_pipeline(FunctionTransformer(np.tanh), LogisticRegression()).fit(frame, np.arange(40) % 2)
    pipeline.steps[0][1].func = Code(source)
    return pickle.dumps(pipeline), frame
