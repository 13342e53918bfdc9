"""The layers hold: compute below service below the CLI, no Dash in auditapp, no import cycles, types check."""

import configparser
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PACKAGES = {"auditapp", *(f"auditapp.{p.name}" for p in (ROOT / "auditapp").iterdir() if (p / "__init__.py").is_file())}


def _modules() -> set[str]:
    out = set()
    for path in (ROOT / "auditapp").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _listed(section: str, key: str) -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return set(config[f"importlinter:contract:{section}"][key].split())


def test_import_contracts_hold():
    done = subprocess.run([str(BIN / "lint-imports"), "--no-cache", "--config", str(ROOT / ".importlinter")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "3 kept, 0 broken" in done.stdout


def test_every_module_is_in_exactly_one_layer():
    """A module's layer is its package under ``auditapp``: each package is listed in exactly one layer."""
    compute = _listed("compute-below-service", "source_modules")
    service = _listed("service-below-cli", "source_modules")
    cli = _listed("service-below-cli", "forbidden_modules")
    assert not (compute & service) and not (compute & cli) and not (service & cli)
    top = {".".join(m.split(".")[:2]) for m in _modules() if m != "auditapp"}
    unlisted = sorted(top - compute - service - cli)
    gone = sorted((compute | service | cli) - top)
    assert not unlisted, f"Add these packages (or modules) to one layer in .importlinter: {unlisted}"
    assert not gone, f"These entries in .importlinter no longer exist: {gone}"
    flat = sorted(m for m in top if not (ROOT / m.replace(".", "/")).is_dir() and m != "auditapp.api")
    assert not flat, f"Put these modules in a package (core, inputs, policy, reporting, service, cli): {flat}"



def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(module):
        index[module] = low[module] = counter[0]
        counter[0] += 1
        stack.append(module)
        on_stack.add(module)
        for other in graph.find_modules_directly_imported_by(module):
            if not other.startswith("auditapp"):
                continue
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    for module in sorted(graph.modules):
        if module.startswith("auditapp") and module not in index:
            visit(module)
    return found


def test_no_import_cycles_in_auditapp():
    graph = grimp.build_graph("auditapp", cache_dir=None)
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_planted_cycle():
    graph = grimp.ImportGraph()
    for a, b in (("auditapp.a", "auditapp.b"), ("auditapp.b", "auditapp.c"), ("auditapp.c", "auditapp.a"),
                 ("auditapp.c", "auditapp.d")):
        graph.add_import(importer=a, imported=b)
    assert _cycles(graph) == [["auditapp.a", "auditapp.b", "auditapp.c"]]


def test_types_check():
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-6000:]


def test_every_compute_package_is_held_to_the_strict_flags_and_nothing_is_skipped():
    """The type check above covers every module (no ``ignore_errors``), and each compute package is listed
    whole in the override that carries mypy's strict flags."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    overrides = config["tool"]["mypy"].get("overrides", [])
    assert not [o for o in overrides if o.get("ignore_errors")]
    strict = next(o for o in overrides if o.get("disallow_untyped_defs"))
    assert strict["disallow_any_generics"] and strict["check_untyped_defs"] and strict["warn_return_any"]
    compute = {name.split(".")[1] for name in _listed("compute-below-service", "source_modules")
               if name.count(".") == 1 and (ROOT / "auditapp" / name.split(".")[1]).is_dir()}
    assert compute and {f"auditapp.{package}.*" for package in compute} <= set(strict["module"])
