"""``auditapp audit``: group metrics with confidence intervals for a dataset and a prediction source."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from auditapp.errors import AuditInputError

SUMMARY_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy")


def register(subparsers) -> None:
    """Add the ``audit`` sub-command."""
    parser = subparsers.add_parser(
        "audit", help="audit predictions or a model for group disparities",
        description="Compute per-group metrics, disparities against a reference group, tests and "
                    "confidence intervals. Exit status 2 on bad input.",
    )
    add_audit_arguments(parser)
    parser.add_argument("--json", metavar="OUT", help="write the full result as JSON")
    parser.add_argument("--policy", metavar="PRESET_OR_FILE",
                        help="check a policy (four-fifths, ratio-band, equalized-odds, strict, or a "
                             ".yaml/.json file); exit 0 pass, 1 fail, 3 inconclusive")
    parser.add_argument("--report", metavar="OUT.html", help="write the self-contained HTML report")
    parser.add_argument("--no-work-limit", action="store_true",
                        help="run an audit larger than a shared server allows (AUDITAPP_MAX_INTERSECTIONS, "
                             "AUDITAPP_MAX_ROW_GROUPINGS, at most 6 sensitive features): it runs on this "
                             "machine")
    parser.set_defaults(func=run)


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that describe an audit (shared by ``audit`` and other sub-commands)."""
    parser.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet dataset")
    add_missing_argument(parser)
    parser.add_argument("--target", required=True, metavar="COL", help="column with the true outcome")
    parser.add_argument("--sensitive", required=True, metavar="COL[,COL...]",
                        help="sensitive feature(s); several give intersections too")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prediction", metavar="COL", help="column of predicted labels")
    source.add_argument("--score", metavar="COL", help="column of scores (favourable when >= threshold)")
    source.add_argument("--model", metavar="FILE", help="model file (.skops, .onnx; pickle only if trusted)")
    parser.add_argument("--threshold", type=float, help="score threshold (default 0.5 for scores)")
    add_group_arguments(parser)
    parser.add_argument("--min-group-size", type=int, default=30, metavar="N")
    parser.add_argument("--bootstrap", type=int, metavar="N",
                        help="deprecated, changes nothing: intervals are computed from counts, not by a "
                             "bootstrap (still accepted, and recorded, so older scripts keep working)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow pickle/joblib models (they run code when loaded: only your own files)")


def add_missing_argument(parser: argparse.ArgumentParser) -> None:
    """``--missing-values``: the words that mean missing when the data file is read."""
    parser.add_argument("--missing-values", metavar="WORDS",
                        help="comma-separated words that mean missing in text columns, e.g. 'None,NA' "
                             "(default: only empty cells; 'None', 'NA', 'null'... are categories)")


def add_group_arguments(parser: argparse.ArgumentParser) -> None:
    """Favourable values, reference groups and bins (shared by every sub-command that forms groups)."""
    parser.add_argument("--favorable", default="1", metavar="VALUE", help="favourable target value (default 1)")
    parser.add_argument("--model-favorable", metavar="VALUE",
                        help="the model's class that means the favourable value, if it differs")
    parser.add_argument("--reference", action="append", default=[], metavar="COL=VALUE",
                        help="reference group: a value, 'largest' or 'best:METRIC' (repeatable)")
    parser.add_argument("--bins", action="append", default=[], metavar="COL=EDGES",
                        help="bin a numeric feature: edges '18,30,50,100' or quantiles 'q4' (repeatable)")


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
    from auditapp.spec import AuditSpec, Binning

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


def load_inputs(args):
    """Read the dataset and (optionally) the model named on the command line."""
    from auditapp.intake import read_table

    dataset = read_table(args.data, missing_values=getattr(args, "missing_values", None))
    model = None
    if getattr(args, "model", None):
        from auditapp.models import load_model

        trust = True if args.trust_pickle else None
        model = load_model(args.model, trust_pickle=trust)
    return dataset, model


def dataset_info(dataset) -> dict:
    info = {"name": dataset.name, "sha256": dataset.sha256, "rows": dataset.rows, "columns": list(dataset.columns)}
    if dataset.missing_values:  # only when asked for, so records without it keep their shape
        info["missing_values"] = list(dataset.missing_values)
    return info


def model_info(model) -> dict | None:
    if model is None:
        return None
    return {"name": model.name, "sha256": model.sha256, "format": model.format}


def run(args) -> int:
    """Run the audit, print the summary (and the policy verdicts), write the record and report."""
    from auditapp.audit import run_audit
    from auditapp.gate import assess, write_outputs
    from auditapp.policy import load_policy

    note_deprecated_bootstrap(args)
    spec = spec_from_args(args)
    policy = load_policy(args.policy) if args.policy else None
    dataset, model = load_inputs(args)
    from auditapp.workload import CLI_REMEDY, WorkLimits

    limits = None if args.no_work_limit else WorkLimits.from_env()
    audit = run_audit(dataset.frame, spec, model, limits=limits, remedy=CLI_REMEDY)
    print(format_summary(audit, dataset.notices))
    outcome = assess(audit, policy, dataset_info=dataset_info(dataset), model_info=model_info(model))
    if outcome.text:
        print("\n" + outcome.text)
    code = write_outputs(outcome, audit, report_path=args.report, json_path=args.json)
    for path in (args.json, args.report):
        if path:
            print(f"\nWrote {path}")
    return code


def write_json(path: str, payload: dict) -> None:
    """Write JSON atomically: a half-written file never replaces a good one."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(payload, indent=2, allow_nan=False), encoding="utf-8")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def _pct(value) -> str:
    return "   n/a" if value != value else f"{100 * value:5.1f}%"


def format_summary(audit, notices=()) -> str:
    """A readable text table: per grouping, per group, the main rates with CIs and flags."""
    result = audit.result
    lines = [f"Audit of {result.n_rows:,} rows; {int(result.confidence * 100)}% CIs from counts (Wilson per "
             f"group, Miettinen-Nurminen for gaps); predictions from {audit.data.source}."]
    lines += [f"Note: {n}" for n in (*notices, *audit.notices)]
    for grouping in result.groupings:
        lines.append("")
        lines.append(f"== {grouping.name} (reference: {grouping.reference}) ==")
        header = f"{'group':<28}{'n':>9}  " + "  ".join(f"{m[:22]:>24}" for m in SUMMARY_METRICS)
        lines.append(header)
        for label, row in grouping.groups.iterrows():
            cells = [f"{_pct(row[m])} [{_pct(row[f'{m}_low'])},{_pct(row[f'{m}_high'])}]"
                     for m in SUMMARY_METRICS]
            flags = ",".join(row["flags"]) + (" (reference)" if row["is_reference"] else "")
            lines.append(f"{str(label)[:27]:<28}{int(row['count']):>9}  " + "  ".join(f"{c:>24}" for c in cells)
                         + (f"  {flags}" if flags else ""))
        crit = grouping.criteria
        lines.append("  " + "; ".join(
            f"{name.replace('_', ' ')} {row['value']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"
            for name, row in crit.iterrows()))
    return "\n".join(lines)

