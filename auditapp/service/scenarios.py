"""Built-in scenarios installed into the artifact store so every session can load them offline."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from auditapp.service.store import ArtifactStore
from auditapp.service.webroot import scenario_module

SCENARIOS = {"hiring": "Hiring with a proxy feature (the résumé story)"}


def scenario_folder(store: ArtifactStore, name: str) -> Path:
    """Where a scenario's generated files live (one folder per version of the generator)."""
    hiring = scenario_module("hiring")

    return store.root / "scenarios" / name / f"v{hiring.DEMO_VERSION}"


def install_scenario(store: ArtifactStore, name: str) -> dict[str, str]:
    """Generate the scenario's files once (seeded) and register them; return their artifact ids.

    ``dataset`` is the audit data (rows the model never saw), ``model`` the model trained on the
    separate training part, ``train`` that training part.
    """
    if name not in SCENARIOS:
        from auditapp.core.errors import AuditInputError

        raise AuditInputError(f"Unknown scenario '{name}'. Available: {', '.join(SCENARIOS)}.")
    hiring = scenario_module("hiring")

    folder = scenario_folder(store, name)
    files = {"data": folder / hiring.DATA_FILE, "train": folder / hiring.TRAIN_FILE,
             "model": folder / hiring.MODEL_FILE}
    if not all(path.exists() for path in files.values()):
        # Several worker processes may start at once: each writes into its own temporary folder and
        # links the files into place only if no other process got there first.
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}-"))
        try:
            paths = hiring.write_demo(tmp)
            for key, dest in files.items():
                with contextlib.suppress(FileExistsError):
                    os.link(paths[key], dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    data, train, model = files["data"], files["train"], files["model"]
    return {
        "dataset": store.register_builtin(name, data, kind="dataset", name=data.name),
        "model": store.register_builtin(f"{name}-model", model, kind="model", name=model.name),
        "train": store.register_builtin(f"{name}-train", train, kind="dataset", name=train.name),
    }


def scenario_state(store: ArtifactStore, name: str) -> dict:
    """The initial browser state for a scenario: its data, model and recommended settings."""
    hiring = scenario_module("hiring")

    ids = install_scenario(store, name)
    scenario = hiring.SCENARIO
    from auditapp.core.spec import AuditSpec

    spec = AuditSpec(target=scenario.target, favorable=scenario.favorable, sensitive=scenario.sensitive,
                     reference=dict(scenario.reference))
    from auditapp.policy.criteria import preset

    return {"dataset": ids["dataset"], "model": ids["model"], "spec": spec.to_dict(), "scenario": name,
            "policy": preset("four-fifths").to_dict()}


def scenario_loop(store: ArtifactStore, token: str, dataset_id: str | None):
    """The model-in-the-loop setting of a built-in scenario's data (None for any other dataset).

    For the hiring scenario: people selected reveal ``performed_well`` (merit only), and both worlds keep
    the past decisions the model was trained on (the training part, its ``hired`` column as their label).
    """
    name = str(dataset_id or "").removeprefix("builtin:")
    if not str(dataset_id or "").startswith("builtin:") or name not in SCENARIOS:
        return None
    from auditapp.service.feedback_presets import ScenarioLoop
    from auditapp.service.workspace import load_dataset
    hiring = scenario_module("hiring")

    ids = install_scenario(store, name)
    train = load_dataset(store, token, ids["train"]).frame
    outcome = hiring.SCENARIO.loop_outcome
    history = train.assign(**{outcome: train[hiring.SCENARIO.target]})
    note = (f"Both worlds start from the {len(train):,} past decisions the model was trained on ('hired', biased "
            f"against women) and then learn '{outcome}': in the loop only for the people the model selects, "
            "with full information for everyone.")
    return ScenarioLoop(outcome=outcome, history=history, note=note)
