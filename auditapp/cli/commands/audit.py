"""``auditapp audit``: group metrics with confidence intervals for a dataset and a prediction source."""

from __future__ import annotations

import argparse

from auditapp.cli.commands.audit_inputs import (
    _log_progress,
    load_inputs,
    load_model_arg,
    note_deprecated_bootstrap,
    resolve_engine,
    sampled_dataset,
    spec_from_args,
)
from auditapp.reporting.outputs import dataset_info, model_info, write_json

__all__ = ["dataset_info", "load_inputs", "load_model_arg", "model_info", "note_deprecated_bootstrap", "register",
           "resolve_engine", "run", "sampled_dataset", "spec_from_args", "write_json"]

SUMMARY_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy")


def register(subparsers) -> None:
    """Add the ``audit`` sub-command."""
    parser = subparsers.add_parser(
        "audit", help="audit predictions or a model for group disparities",
        description="Compute per-group metrics, disparities against a reference group, tests and "
                    "confidence intervals, for binary, multiclass and regression models (--task). Exit "
                    "status 2 on bad input.",
    )
    add_audit_arguments(parser)
    from auditapp.cli.commands.audit_task import add_task_arguments

    add_task_arguments(parser)
    parser.add_argument("--json", metavar="OUT", help="write the full result as JSON")
    parser.add_argument("--policy", metavar="PRESET_OR_FILE",
                        help="check a policy (four-fifths, ratio-band, equalized-odds, strict, or a "
                             ".yaml/.json file); exit 0 pass, 1 fail, 3 inconclusive")
    parser.add_argument("--report", metavar="OUT.html", help="write the self-contained HTML report")
    parser.add_argument("--sign", metavar="KEY", help="sign the JSON record with this Ed25519 key (auditapp keygen)")
    parser.add_argument("--eu-ai-act", action="store_true",
                        help="add the EU AI Act evidence section (Art. 10, 15, Annex IV 2(g)) to the report")
    parser.add_argument("--no-work-limit", action="store_true",
                        help="run an audit larger than a shared server allows (AUDITAPP_MAX_INTERSECTIONS, "
                             "AUDITAPP_MAX_ROW_GROUPINGS, at most 6 sensitive features): it runs on this "
                             "machine")
    parser.set_defaults(func=run)


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that describe an audit (shared by ``audit`` and other sub-commands)."""
    parser.add_argument("--data", required=True, metavar="SOURCE",
                        help="CSV or Parquet file, a glob of them ('logs/*.parquet', quoted) or "
                             "duckdb:FILE.duckdb?table=NAME")
    add_missing_argument(parser)
    add_engine_arguments(parser)
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


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """``--engine``, ``--spark-master`` and ``--score-bins``: where the rows are counted."""
    from auditapp.core.defaults import DEFAULT_BINS

    parser.add_argument("--engine", default="auto", choices=("auto", "pandas", "duckdb", "spark"),
                        help="where the rows are counted: pandas (in memory), duckdb (out of core), spark (a "
                             "cluster); auto: pandas for one file that fits in memory, else duckdb")
    parser.add_argument("--spark-master", metavar="URL",
                        help="Spark master (local[*], spark://host:7077, yarn, k8s://...) or Spark Connect URL "
                             "(sc://host:15002); default: AUDITAPP_SPARK_MASTER, else local[*]")
    parser.add_argument("--score-bins", type=int, default=DEFAULT_BINS, metavar="N",
                        help=f"score histogram bins per group and outcome with duckdb/spark (default {DEFAULT_BINS:,}): "
                             "thresholds, ROC and calibration are exact at the bin edges")


def add_sample_argument(parser: argparse.ArgumentParser) -> None:
    """``--sample``: rows the engine draws for work that needs rows (explanations, mitigations)."""
    parser.add_argument("--sample", type=int, default=50_000, metavar="N",
                        help="with duckdb/spark (a source too large for memory): work on about N rows drawn by the "
                             "engine, stratified by group x outcome (default 50,000)")


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


def run(args) -> int:
    """Run the audit, print the summary (and the policy verdicts), write the record and report."""
    from auditapp.core.audit import run_audit
    from auditapp.core.workload import CLI_REMEDY, WorkLimits
    from auditapp.policy.criteria import load_policy
    from auditapp.reporting.gate import assess, write_outputs

    dataset, model = None, None
    if getattr(args, "task", "binary") != "binary":
        from auditapp.cli.commands.audit_task import prepare_task, run_task

        choice, dataset, model = prepare_task(args)
        if choice.task != "binary":
            return run_task(args, choice, dataset, model)
    note_deprecated_bootstrap(args)
    spec = spec_from_args(args)
    policy = load_policy(args.policy) if args.policy else None
    key = None
    if getattr(args, "sign", None):
        from auditapp.compliance.signing import load_private_key

        key = load_private_key(args.sign)
    limits = None if args.no_work_limit else WorkLimits.configured()
    source, engine = resolve_engine(args)
    if engine == "pandas":
        if dataset is None:  # not read yet to decide the task
            dataset, model = load_inputs(args)
        audit = run_audit(dataset.frame, spec, model, limits=limits, remedy=CLI_REMEDY)
        info, notices = dataset_info(dataset), dataset.notices
    else:
        from auditapp.engines.run import audit_source

        model = load_model_arg(args)
        done = audit_source(source, spec, model, engine=engine, master=args.spark_master, bins=args.score_bins,
                            limits=limits, remedy=CLI_REMEDY, progress=_log_progress)
        audit, info, notices = done.audit, done.dataset_info, ()
    print(format_summary(audit, notices))
    outcome = assess(audit, policy, dataset_info=info, model_info=model_info(model))
    if outcome.text:
        print("\n" + outcome.text)
    extra: tuple = ()
    if key is not None:
        import dataclasses

        from auditapp.compliance.signing import sign_record

        outcome = dataclasses.replace(outcome, record=sign_record(outcome.record, key))
    if getattr(args, "eu_ai_act", False):
        from auditapp.compliance.eu_ai_act import eu_ai_act_evidence, evidence_section

        extra = (evidence_section(eu_ai_act_evidence(outcome.record,
                                                      frame=None if dataset is None else dataset.frame)),)
    code = write_outputs(outcome, audit, report_path=args.report, json_path=args.json, extra_html=extra)
    for path in (args.json, args.report):
        if path:
            print(f"\nWrote {path}")
    return code


def _pct(value) -> str:
    return "   n/a" if value != value else f"{100 * value:5.1f}%"


def format_summary(audit, notices=()) -> str:
    """A readable text table: per grouping, per group, the main rates with CIs and flags."""
    result = audit.result
    lines = [f"Audit of {result.n_rows:,} rows; {int(result.confidence * 100)}% CIs from counts (Wilson per "
             f"group, Miettinen-Nurminen for gaps); predictions from {audit.data.source}."]
    if audit.engine is not None:
        lines.append(f"Rows counted by the {audit.engine} engine; only the counts per group and outcome were kept.")
    if audit.score_grid is not None:
        lines.append(audit.score_grid.sentence())
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

