"""``auditapp verify RECORD --data FILE [--model FILE]``: recompute an audit record and compare.

The audit is recomputed with the record's spec, settings and seed (and its policy, when it has one),
then every field is compared: hashes of the dataset and model, counts exactly, other numbers to within
1e-9, text exactly. Exit status 0 when everything matches, 1 when anything differs, 2 on bad input.
The timestamp and library versions are not compared; a version that differs is mentioned, because it
can explain a difference.

Records written before intervals were computed from counts (schema ``auditapp.audit/1``: percentile
bootstrap intervals, pooled z / Fisher tests) are still read: their hashes, settings, counts and point
values are compared, and the numbers those replaced methods produced (intervals, p- and q-values, the
policy verdicts and findings) are listed as not compared, with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from auditapp.core.errors import AuditInputError
from auditapp.reporting.record_compare import MAX_SHOWN, compare_records

# Fields added to the record since its first version: left out of the comparison when an older record lacks them.
ADDED_FIELDS = (("settings", "decision_rule"),)


def register(subparsers) -> None:
    """Add the ``verify`` sub-command."""
    parser = subparsers.add_parser(
        "verify", help="recompute an audit record and report any difference",
        description="Recompute the audit of RECORD (a JSON file written by `auditapp audit --json`) "
                    "from the data (and model) and compare hashes and every number. Exit status 0 "
                    "when identical, 1 when different, 2 on bad input.",
    )
    parser.add_argument("record", metavar="RECORD", help="audit record JSON")
    parser.add_argument("--data", required=True, metavar="SOURCE",
                        help="the dataset the record was made from (a file, a glob or duckdb:FILE?table=NAME)")
    parser.add_argument("--model", metavar="FILE", help="the model file, if the record used one")
    parser.add_argument("--spark-master", metavar="URL",
                        help="for a record of a Spark audit: the Spark master (default AUDITAPP_SPARK_MASTER, local[*])")
    parser.add_argument("--missing-values", metavar="WORDS",
                        help="words read as missing (default: those the record names, else only empty cells)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow pickle/joblib models (they run code when loaded: only your own files)")
    parser.add_argument("--public-key", metavar="FILE",
                        help="the signer's public key (auditapp keygen's KEY.pub): the record must be signed by it")
    parser.set_defaults(func=run)


def read_record(path: str | Path) -> dict[str, Any]:
    """Read and check an audit record file.

    Raises
    ------
    AuditInputError
        If the file is not JSON or not an audit record.
    """
    from auditapp.reporting.record import READABLE_SCHEMAS, SCHEMA

    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AuditInputError(
            f"The record '{Path(path).name}' is not valid JSON ({exc.msg} at line {exc.lineno}). "
            "Give the file written by `auditapp audit --json`."
        ) from exc
    except UnicodeDecodeError as exc:
        raise AuditInputError(f"The record '{Path(path).name}' is not UTF-8 text.") from exc
    if not isinstance(record, dict) or record.get("schema") not in READABLE_SCHEMAS:
        found = record.get("schema") if isinstance(record, dict) else type(record).__name__
        raise AuditInputError(
            f"'{Path(path).name}' is not an audit record: its schema is {found!r}, expected "
            f"'{SCHEMA}'. Give the file written by `auditapp audit --json`."
        )
    missing = [k for k in ("spec", "dataset", "groups") if k not in record]
    if missing:
        raise AuditInputError(f"The record '{Path(path).name}' lacks {', '.join(missing)}; it cannot be "
                              "recomputed.")
    return record


def reproduce_task(record: dict[str, Any], dataset, model) -> dict[str, Any]:
    """A regression or multiclass record recomputed: the same task, settings, replicates and seed."""
    from auditapp.core.spec import AuditSpec
    from auditapp.core.task_audit import run_task_audit, task_record
    from auditapp.core.tasks import TaskChoice
    from auditapp.policy.task_policy import evaluate_task_policy, load_task_policy_dict
    from auditapp.reporting.outputs import dataset_info, model_info

    settings = record.get("settings") or {}
    spec = AuditSpec.from_dict(record["spec"])
    choice = TaskChoice(record["task"], str(settings.get("task_reason") or "the task of the record"))
    audit = run_task_audit(dataset.frame, spec, model, task=record["task"], n_boot=int(settings.get("n_boot") or 1000),
                           choice=choice)
    fresh = task_record(audit, dataset=dataset_info(dataset), model=model_info(model),
                        timestamp=record.get("timestamp"))
    if "proxies" in record:  # records written before proxies were scored for tasks have none
        from auditapp.explain.proxies import proxy_record, task_proxies

        fresh.update(proxy_record(task_proxies(dataset.frame, spec, model)))
    policy = load_task_policy_dict(record["policy"], audit.task) if record.get("policy") else None
    verdicts = evaluate_task_policy(audit.result, policy) if policy is not None else None
    fresh["policy"] = None if verdicts is None else verdicts["policy"]
    fresh["verdicts"] = None if verdicts is None else {"overall": verdicts["overall"], "checks": verdicts["checks"]}
    for key in ("policy", "verdicts"):
        if key not in record:
            fresh.pop(key, None)
    return fresh


def reproduce(record: dict[str, Any], dataset, model) -> dict[str, Any]:
    """The record recomputed from ``dataset`` (an intake ``Dataset``) and ``model`` (or None)."""
    if record.get("task") in ("regression", "multiclass"):
        return reproduce_task(record, dataset, model)
    from auditapp.core.audit import run_audit
    from auditapp.core.spec import AuditSpec
    from auditapp.policy.criteria import policy_from_dict
    from auditapp.reporting.gate import assess
    from auditapp.reporting.outputs import dataset_info, model_info

    spec = AuditSpec.from_dict(record["spec"])
    if isinstance(dataset, SourceInputs):  # a record of an engine's audit: the same engine counts again
        from auditapp.core.defaults import DEFAULT_BINS
        from auditapp.engines.run import audit_source

        bins = (record["settings"].get("score_histograms") or {}).get("bins") or DEFAULT_BINS
        done = audit_source(dataset.source, spec, model, engine=dataset.engine, master=dataset.master, bins=bins)
        audit, info = done.audit, done.dataset_info
    else:
        audit, info = run_audit(dataset.frame, spec, model), dataset_info(dataset)
    policy = policy_from_dict(record["policy"]) if record.get("policy") else None
    outcome = assess(audit, policy, dataset_info=info, model_info=model_info(model),
                     timestamp=record.get("timestamp"))
    fresh = outcome.record
    for section, key in ADDED_FIELDS:
        if isinstance(record.get(section), dict) and key not in record[section]:
            fresh.get(section, {}).pop(key, None)
    if "policy" not in record:  # a record written without the gate has no policy fields
        for key in ("policy", "verdicts", "findings"):
            fresh.pop(key, None)
    return fresh


class SourceInputs:
    """A source to recount with the engine a record names (its ``sha256`` hashes the files)."""

    def __init__(self, text: str, engine: str, master: str | None):
        from auditapp.engines.sources import parse_source

        self.source = parse_source(text, allow_remote=engine == "spark")
        self.engine, self.master = engine, master
        self.sha256 = None if self.source.remote else self.source.sha256()


def _recorded_missing_values(record: dict[str, Any]) -> list[str] | None:
    """The words the record's dataset was read with as missing (None for records without them)."""
    words = (record.get("dataset") or {}).get("missing_values") if isinstance(record.get("dataset"), dict) else None
    if words is None:
        return None
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise AuditInputError("The record's dataset.missing_values is not a list of words; fix or remove it.")
    return words


OLD_METHOD_KEYS = ("ci", "p_value", "q_value", "test")


def as_schema_1(fresh: dict[str, Any]) -> dict[str, Any]:
    """A new record in the shape of a schema-1 record (what such a record can be compared with).

    Drops what schema 1 did not have: the average odds difference rows, denominators, the criteria's
    p-values and methods, the interval methods and the denominator floor.
    """
    from auditapp.core.gaps import AVERAGE_ODDS

    out = json.loads(json.dumps(fresh))
    out["schema"] = "auditapp.audit/1"
    out["disparities"] = [d for d in out.get("disparities", []) if d.get("metric") != AVERAGE_ODDS]
    for key in ("interval_methods", "min_denominator"):
        out.get("settings", {}).pop(key, None)
    for group in out.get("groups", []):
        for metric in group.get("metrics", {}).values():
            metric.pop("denominator", None)
    for criterion in out.get("criteria", []):
        criterion.pop("p_value", None)
        criterion.pop("method", None)
    return out


def _old_method_fields(record: Any, path: str = "") -> int:
    """How many fields of a schema-1 record came from methods since replaced."""
    if isinstance(record, dict):
        return sum(1 if k in OLD_METHOD_KEYS else _old_method_fields(v, f"{path}.{k}")
                   for k, v in record.items() if not (not path and k in ("verdicts", "findings")))
    if isinstance(record, list):
        return sum(_old_method_fields(v, path) for v in record)
    return 0


def _strip_old_methods(record: Any, path: str = "") -> Any:
    if isinstance(record, dict):
        return {k: _strip_old_methods(v, f"{path}.{k}") for k, v in record.items()
                if k not in OLD_METHOD_KEYS and not (not path and k in ("verdicts", "findings"))}
    if isinstance(record, list):
        return [_strip_old_methods(v, path) for v in record]
    return record


def run(args) -> int:
    """Recompute the record, print the differences, return 0 (same), 1 (different)."""
    from auditapp.cli.commands.audit import load_inputs
    from auditapp.cli.commands.verify_compliance import (
        check_record_signature,
        is_compliance_record,
        verify_compliance_record,
    )

    if is_compliance_record(args.record):
        return verify_compliance_record(args)
    record = read_record(args.record)
    signature_ok = check_record_signature(record, getattr(args, "public_key", None))
    if record.get("model") and not args.model:
        raise AuditInputError(
            f"The record was made with a model ({record['model'].get('name') or 'unnamed'}, sha256 "
            f"{record['model'].get('sha256')}). Pass the model file with --model."
        )
    if args.model and not record.get("model"):
        raise AuditInputError("The record was made without a model (predictions or scores from "
                              "columns); remove --model.")
    if args.missing_values is None:
        args.missing_values = _recorded_missing_values(record)
    engine = (record.get("settings") or {}).get("engine")
    if engine:
        from auditapp.cli.commands.audit import load_model_arg

        dataset, model = SourceInputs(args.data, engine, args.spark_master), load_model_arg(args)
    else:
        dataset, model = load_inputs(args)
    differences = []
    for what, info in (("dataset", record.get("dataset")), ("model", record.get("model"))):
        current = dataset.sha256 if what == "dataset" else getattr(model, "sha256", None)
        if info and info.get("sha256") != current:
            differences.append(f"The {what} is not the one recorded: sha256 {current} instead of "
                               f"{info.get('sha256')}.")
    try:
        fresh = reproduce(record, dataset, model)
    except AuditInputError as exc:
        if not differences:
            raise
        differences.append(f"The audit could not be recomputed on these inputs: {exc}")
        fresh = None
    old = record.get("schema") == "auditapp.audit/1"
    if fresh is not None:
        expected, actual = (_strip_old_methods(record), _strip_old_methods(as_schema_1(fresh))) if old \
            else (record, fresh)
        differences += [line for line in compare_records(expected, actual)
                        if not line.startswith(("dataset.sha256:", "model.sha256:"))]
    if old:
        print("This record was written by an earlier auditapp (schema auditapp.audit/1): its intervals came "
              "from a percentile bootstrap and its tests from pooled z / Fisher tests, since replaced by "
              "intervals and score tests computed from counts. Compared: the hashes, settings, counts and "
              f"point values. Not compared: {_old_method_fields(record)} intervals, p-values, q-values and "
              "test names" + (", and the policy verdicts and findings" if record.get("verdicts") else "")
              + ". Re-run `auditapp audit --json` for a record with today's intervals.")
    if not differences and not signature_ok:
        print("The numbers match the data, but the signature check failed.")
        return 1
    if not differences:
        print(f"Verified: the dataset, {'the model, ' if model is not None else ''}the settings and "
              "every number match the record.")
        return 0
    print(f"The record does NOT match: {len(differences)} difference(s).")
    for line in differences[:MAX_SHOWN]:
        print(f"  {line}")
    if len(differences) > MAX_SHOWN:
        print(f"  ... and {len(differences) - MAX_SHOWN} more.")
    if fresh is not None:
        versions = [k for k, v in (record.get("versions") or {}).items()
                    if fresh.get("versions", {}).get(k) != v]
        if versions:
            print(f"Library versions differ from the record's ({', '.join(versions)}), which can "
                  "explain small numeric differences.")
    return 1
