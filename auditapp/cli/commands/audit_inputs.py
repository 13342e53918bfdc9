"""What ``auditapp audit`` (and the commands built on it) read from the command line: the spec, the engine,
the dataset and the model. Shared by the binary audit and the regression/multiclass one."""

from __future__ import annotations

import sys

from auditapp.core.errors import AuditInputError


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise AuditInputError(f"{option} expects COL=VALUE, got '{item}'.")
        out[name.strip()] = value.strip()
    return out


def note_deprecated_bootstrap(args) -> None:
    """Say on stderr that ``--bootstrap`` no longer changes anything (when it was given)."""
    if getattr(args, "bootstrap", None) is not None:
        print(f"auditapp {args.command}: --bootstrap is deprecated and changes nothing: every interval is "
              "computed from counts (Wilson, Miettinen-Nurminen), without bootstrap replicates. Drop the "
              "option; it is still accepted so older scripts keep working.", file=sys.stderr)


def spec_from_args(args):
    """Build an ``AuditSpec`` from parsed options (``--bootstrap`` only recorded, as ``n_boot``)."""
    from auditapp.core.spec import AuditSpec, Binning

    return AuditSpec(
        target=args.target,
        sensitive=tuple(s.strip() for s in args.sensitive.split(",") if s.strip()),
        favorable=args.favorable, prediction=args.prediction, score=args.score,
        threshold=args.threshold, model_favorable=args.model_favorable,
        bins={k: Binning.parse(v) for k, v in _pairs(args.bins, "--bins").items()},
        reference=_pairs(args.reference, "--reference"), min_group_size=args.min_group_size,
        n_boot=AuditSpec.n_boot if args.bootstrap is None else args.bootstrap, confidence=args.confidence,
        seed=args.seed,
    )


def resolve_engine(args):
    """The parsed ``--data`` source and the engine that will count its rows ("pandas": the file is read into
    memory as before)."""
    from auditapp.engines.run import choose_engine
    from auditapp.engines.sources import parse_source

    requested = getattr(args, "engine", "auto") or "auto"
    source = parse_source(args.data, allow_remote=requested == "spark")
    engine = choose_engine(source, requested)
    if engine != "pandas" and getattr(args, "missing_values", None):
        raise AuditInputError(
            f"--missing-values is applied when a file is read into memory (the pandas engine); the {engine} engine "
            "reads missing values as the file stores them. Write them as empty cells/nulls, or use --engine pandas.")
    return source, engine


def _log_progress(fraction: float, text: str) -> None:
    import logging

    logging.getLogger("auditapp.engines").info("%3.0f%% %s", 100 * fraction, text)


def load_model_arg(args, *, processes: int = 1):
    """The model named by ``--model`` (None without one), with ``processes`` model processes started."""
    if not getattr(args, "model", None):
        return None
    from auditapp.inputs.models import load_model

    return load_model(args.model, trust_pickle=trust_pickle(args), processes=processes)


def trust_pickle(args) -> bool:
    """Whether to load pickle/joblib models: ``--trust-pickle``, or ``AUDITAPP_TRUST_PICKLE`` read at start-up."""
    from auditapp.service.config import Settings

    return bool(getattr(args, "trust_pickle", False)) or Settings.from_env().trust_pickle


def load_inputs(args, *, model_processes: int = 1):
    """Read the dataset and (optionally) the model named on the command line.

    A source that does not fit in memory (or ``--engine duckdb|spark``) gives a stratified sample drawn by
    that engine (``--sample`` rows, stratified by group × outcome), with a notice saying what it means.
    The model file is opened (its sandboxed process started) while the dataset is read; with
    ``model_processes`` above 1 that many model processes are started for work side by side. A problem
    with the dataset is reported before one with the model.
    """
    from concurrent.futures import ThreadPoolExecutor

    from auditapp.inputs.intake import read_table

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="auditapp-model-load") as pool:
        pending = pool.submit(load_model_arg, args, processes=model_processes) if getattr(args, "model", None) \
            else None
        source, engine = resolve_engine(args) if hasattr(args, "engine") else (None, "pandas")
        if engine == "pandas":
            dataset = read_table(args.data, missing_values=getattr(args, "missing_values", None))
        else:
            dataset = sampled_dataset(args, source, engine)
        return dataset, pending.result() if pending is not None else None


def sampled_dataset(args, source, engine):
    """A ``Dataset`` holding the engine's stratified sample of ``source``."""
    from auditapp.engines.run import sample_source
    from auditapp.inputs.intake import Dataset

    spec = spec_from_args(args)
    sample = sample_source(source, spec, size=getattr(args, "sample", 50_000), seed=args.seed, engine=engine,
                           master=getattr(args, "spark_master", None))
    sha = None if source.remote else source.sha256()
    return Dataset(frame=sample.frame, name=source.name, sha256=sha, format=f"{engine} sample",
                   notices=(sample.statement(),))
