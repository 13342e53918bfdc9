"""``auditapp explain``: SHAP importance overall and by group, gap attribution and proxy features."""

from __future__ import annotations

import argparse

from auditapp.cli.commands.audit import (
    add_engine_arguments,
    add_group_arguments,
    add_missing_argument,
    add_sample_argument,
    dataset_info,
    load_inputs,
    model_info,
    spec_from_args,
    write_json,
)
from auditapp.cli.commands.audit_task import TASK_CHOICES
from auditapp.core.defaults import MIN_GROUP_SIZE
from auditapp.core.errors import AuditInputError


def register(subparsers) -> None:
    """Add the ``explain`` sub-command."""
    parser = subparsers.add_parser(
        "explain", help="explain a model: what drives it, the gap between groups, proxy features",
        description="Explain a model with SHAP in the dataset's own columns: importance overall and "
                    "per group (on a seeded sample of at most N rows per group, with bootstrap "
                    "intervals), which features make up the gap between each group and its "
                    "reference, and which features act as proxies for a sensitive attribute. "
                    "Exit status 2 on bad input.",
    )
    parser.add_argument("--data", required=True, metavar="SOURCE",
                        help="CSV or Parquet file, a glob of them ('logs/*.parquet', quoted) or "
                             "duckdb:FILE.duckdb?table=NAME (large sources are sampled, see --sample)")
    add_missing_argument(parser)
    add_engine_arguments(parser)
    add_sample_argument(parser)
    parser.add_argument("--model", required=True, metavar="FILE",
                        help="model file (.skops, .onnx; pickle only if trusted)")
    parser.add_argument("--target", required=True, metavar="COL", help="column with the true outcome")
    parser.add_argument("--sensitive", required=True, metavar="COL[,COL...]", help="sensitive feature(s)")
    add_group_arguments(parser)
    parser.add_argument("--rows-per-group", type=int, default=1000, metavar="N",
                        help="explain at most N rows of each intersectional group (default 1000)")
    parser.add_argument("--bootstrap", type=int, default=200, metavar="N",
                        help="bootstrap replicates for the sampling intervals (default 200)")
    parser.add_argument("--proxy-threshold", type=float, default=0.7, metavar="AUC",
                        help="flag a feature as a proxy from this AUC on (default 0.7)")
    parser.add_argument("--row", type=int, metavar="ID", help="row to explain on its own (default: first sampled)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--json", metavar="OUT", help="write the explanation as JSON")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow pickle/joblib models (they run code when loaded: only your own files)")
    parser.add_argument("--task", default="auto", choices=TASK_CHOICES,
                        help="what the model predicts: binary (yes/no: its favourable class's output is "
                             "explained), regression (its predicted amount) or multiclass (one class's "
                             "probability, see --class); auto decides from the target and the model, and asks "
                             "when unsure")
    parser.add_argument("--class", dest="target_class", metavar="C",
                        help="multiclass only: the class whose probability is explained (required there)")
    parser.set_defaults(func=run, prediction=None, score=None, threshold=None, min_group_size=MIN_GROUP_SIZE)


def run(args: argparse.Namespace) -> int:
    """Explain the model, print a summary and write the JSON."""
    from auditapp.explain import explain_model, explanation_record
    from auditapp.reporting.record import library_versions

    task = None
    if args.task != "binary":
        from auditapp.cli.commands.audit_task import prepare_task

        choice, dataset, model = prepare_task(args)
        task = choice.task
        if dataset is None:  # a large source counted by an engine: its explanations are binary, on a sample
            dataset, model = load_inputs(args)
    else:
        dataset, model = load_inputs(args)
    spec = spec_from_args(args)
    if task in ("regression", "multiclass"):
        from auditapp.explain.task_explain import explain_task_model

        explanation = explain_task_model(dataset.frame, spec, model, task=task, target_class=args.target_class,
                                         rows_per_group=args.rows_per_group, seed=args.seed, n_boot=args.bootstrap,
                                         proxy_threshold=args.proxy_threshold, row=args.row)
    else:
        if args.target_class is not None:
            raise AuditInputError("--class is for multiclass models; a yes/no model's favourable class is "
                                  "--favorable (and --model-favorable).")
        explanation = explain_model(dataset.frame, spec, model, rows_per_group=args.rows_per_group,
                                    seed=args.seed, n_boot=args.bootstrap,
                                    proxy_threshold=args.proxy_threshold, row=args.row)
    print(format_summary(explanation, dataset.notices))
    if args.json:
        record = explanation_record(explanation)
        record.update(task=task or "binary", dataset=dataset_info(dataset), model=model_info(model),
                      spec=spec.to_dict(), versions=library_versions())
        if task == "multiclass":
            record["class"] = str(args.target_class)
        write_json(args.json, record)
        print(f"\nWrote {args.json}")
    return 0


def format_summary(explanation, notices=()) -> str:
    """Readable text: importance with intervals, the largest gap contributions, flagged proxies."""
    shap_values = explanation.shap
    sample = explanation.sample
    attributions = explanation.attributions
    level = int(round(attributions.confidence * 100))
    lines = [f"Explained {sample.n_rows:,} of {int(sample.cell_sizes.sum()):,} rows (at most "
             f"{sample.rows_per_group:,} per group, seed {sample.seed}) with the {shap_values.method} "
             f"explainer, in the {shap_values.output_label}; {level}% bootstrap intervals."]
    lines += [f"Note: {n}" for n in (*notices, *explanation.notices)]
    lines += ["", "Importance (mean |SHAP|):"]
    for feature, row in attributions.importance.iterrows():
        lines.append(f"  {str(feature)[:30]:<32}{row['mean_abs_shap']:9.4f}  "
                     f"[{row['low']:.4f}, {row['high']:.4f}]")
    for gap in attributions.gaps:
        if len(gap.grouping) > 1:
            continue
        lines += ["", f"Gap {gap.group} − {gap.reference} ({' × '.join(gap.grouping)}): "
                      f"{gap.total:+.4f} [{gap.total_low:+.4f}, {gap.total_high:+.4f}]; largest parts:"]
        for feature, row in gap.contributions.head(5).iterrows():
            lines.append(f"  {str(feature)[:30]:<32}{row['value']:+9.4f}  "
                         f"[{row['low']:+.4f}, {row['high']:+.4f}]")
    proxies = explanation.proxies
    flagged = [*proxies.features.loc[proxies.features["flagged"], "sentence"],
               *proxies.combined.loc[proxies.combined["flagged"], "sentence"]]
    lines += ["", f"Proxies (AUC ≥ {proxies.threshold:.2f}):"]
    lines += [f"  - {s}" for s in flagged] or ["  none found"]
    return "\n".join(lines)
