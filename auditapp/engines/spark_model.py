"""A model file on Spark executors: shipped, checked, loaded as auditapp loads any model file.

What is guaranteed on an executor:

- the file is the one checked on the driver: it travels by ``SparkContext.addFile`` (Spark Connect:
  ``addArtifacts``) and its sha256 is compared before it is opened;
- it is opened by ``auditapp.inputs.models.load_model`` on the executor, so the same rules apply there: pickle
  and joblib are refused unless the audit was started with ``--trust-pickle``; a skops file is checked
  name by name against the same exact allow-list before any process starts; ONNX runs in onnxruntime;
- it runs in the same bubblewrap sandbox (no network, read-only view of Python and auditapp, memory and
  CPU limits) **where the executor can run bubblewrap**. An executor that cannot refuses the model (the
  task fails with auditapp's message) unless the executors' environment sets
  ``AUDITAPP_ALLOW_WEAK_SANDBOX=1`` (e.g. ``spark.executorEnv.AUDITAPP_ALLOW_WEAK_SANDBOX``), which the
  operator chooses knowingly;
- executors need the same auditapp (and Python packages) as the driver: the batch function imports it.

Each executor process keeps one model process per model file while it works (``executor_model``); only
grouped counts leave ``mapInPandas``.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

from auditapp.core.errors import AuditInputError
from auditapp.engines.batches import RAW_KEYS, alias, model_batch, sensitive_aliases
from auditapp.engines.plan import Plan

_SUFFIX = {"skops": ".skops", "onnx": ".onnx", "pickle": ".pkl"}


def model_file(model: Any) -> tuple[str, str, bool]:
    """A local copy of the model's file named by its hash: ``(path, sha256, trust_pickle)``."""
    runner = getattr(model, "runner", None)
    ref = getattr(runner, "ref", None)
    folder = os.path.join(tempfile.gettempdir(), "auditapp-spark-models")
    os.makedirs(folder, exist_ok=True)
    if ref is not None:
        path = os.path.join(folder, f"auditapp-model-{ref.sha256}{_SUFFIX.get(ref.format, '')}")
        if not os.path.exists(path):
            partial = f"{path}.{os.getpid()}.tmp"
            with open(partial, "wb") as handle:
                handle.write(ref.read())
            os.replace(partial, path)
        return path, ref.sha256, bool(ref.trust_pickle)
    if getattr(model, "estimator", None) is not None:
        from auditapp.inputs.intake import sha256_file
        from auditapp.inputs.models import save_skops

        partial = os.path.join(folder, f"auditapp-model-{os.getpid()}.skops")
        save_skops(model.estimator, partial)
        sha = sha256_file(partial)
        path = os.path.join(folder, f"auditapp-model-{sha}.skops")
        shutil.move(partial, path)
        return path, sha, False
    raise AuditInputError(f"The model {model.name} cannot be shipped to Spark executors: give it as a .skops or "
                          ".onnx file.")


def ship(spark: Any, path: str) -> None:
    """Make ``path`` available to the executors (``SparkFiles.get(basename)``)."""
    if hasattr(spark, "sparkContext") and not type(spark).__module__.startswith("pyspark.sql.connect"):
        try:
            spark.sparkContext.addFile(path)
        except Exception as exc:  # already shipped under this name: same hash, same bytes
            if "already" not in str(exc).lower():
                raise
        return
    spark.addArtifacts(path, file=True)


@functools.lru_cache(maxsize=4)
def executor_model(file_name: str, sha256: str, trust_pickle: bool) -> Any:
    """On an executor: the shipped model, checked and loaded (sandboxed) once per process."""
    from pyspark import SparkFiles

    from auditapp.core.limits import RuntimeLimits, configure
    from auditapp.inputs.models import load_model

    # An executor's Python worker is a process auditapp did not start: it reads its own limits (e.g.
    # AUDITAPP_ALLOW_WEAK_SANDBOX from spark.executorEnv), once, as any entry point does.
    configure(RuntimeLimits.from_environ(os.environ))
    model = load_model(SparkFiles.get(file_name), trust_pickle=trust_pickle)
    if model.sha256 != sha256:
        raise AuditInputError(f"The model file that reached this executor (sha256 {model.sha256}) is not the one "
                              f"checked on the driver ({sha256}); nothing was predicted.")
    return model


def through_model(engine: Any, plan: Plan, model: Any, keyed: list[Any]) -> Any:
    """Grouped raw counts of every row's prediction, computed on the executors."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    path, sha, trust = model_file(model)
    ship(engine.spark, path)
    name = os.path.basename(path)
    features = [F.col(f"`{f}`") for f in model.feature_names]
    frame = engine.df.select(*features, *keyed)
    names = [*sensitive_aliases(plan), alias("t")]
    schema = StructType([*(StructField(n, frame.schema[n].dataType) for n in names),
                         StructField(alias("d"), LongType()), StructField(alias("b"), LongType()),
                         StructField("n", LongType()), StructField("ssum", DoubleType())])
    short = [f"s{i}" for i in range(len(plan.spec.sensitive))]
    renames = {k: alias(k) for k in [*short, *RAW_KEYS]}

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        loaded = executor_model(name, sha, trust)
        for batch in batches:
            yield model_batch(batch, plan, loaded).rename(columns=renames)[[f.name for f in schema.fields]]

    return frame.mapInPandas(run, schema).groupBy(*names, alias("d"), alias("b")).agg(
        F.sum("n").alias("n"), F.sum("ssum").alias("ssum"))
