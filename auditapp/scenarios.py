"""Built-in scenarios installed into the artifact store so every session can load them offline."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from auditapp.store import ArtifactStore

SCENARIOS = {"hiring": "Hiring with a proxy feature (the résumé story)"}


def install_scenario(store: ArtifactStore, name: str) -> dict[str, str]:
    """Generate the scenario's files once (seeded) and register them; return their artifact ids."""
    if name not in SCENARIOS:
        from auditapp.errors import AuditInputError

        raise AuditInputError(f"Unknown scenario '{name}'. Available: {', '.join(SCENARIOS)}.")
    from datasets import hiring

    folder = store.root / "scenarios" / name
    data, model = folder / hiring.DATA_FILE, folder / hiring.MODEL_FILE
    if not (data.exists() and model.exists()):
        # Several worker processes may start at once: each writes into its own temporary folder and
        # links the files into place only if no other process got there first.
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{name}-"))
        try:
            paths = hiring.write_demo(tmp)
            for source, dest in ((paths["data"], data), (paths["model"], model)):
                with contextlib.suppress(FileExistsError):
                    os.link(source, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "dataset": store.register_builtin(name, data, kind="dataset", name=data.name),
        "model": store.register_builtin(f"{name}-model", model, kind="model", name=model.name),
    }


def scenario_state(store: ArtifactStore, name: str) -> dict:
    """The initial browser state for a scenario: its data, model and recommended settings."""
    from datasets import hiring

    ids = install_scenario(store, name)
    scenario = hiring.SCENARIO
    from auditapp.spec import AuditSpec

    spec = AuditSpec(target=scenario.target, favorable=scenario.favorable, sensitive=scenario.sensitive,
                     reference=dict(scenario.reference))
    from auditapp.policy import preset

    return {"dataset": ids["dataset"], "model": ids["model"], "spec": spec.to_dict(), "scenario": name,
            "policy": preset("four-fifths").to_dict()}
