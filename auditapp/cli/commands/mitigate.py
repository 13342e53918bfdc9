"""``auditapp mitigate``: compare bias mitigations on the same held-out rows and write a JSON record."""

from __future__ import annotations

import logging

from auditapp.cli.commands.audit import (
    add_audit_arguments,
    add_sample_argument,
    load_inputs,
    note_deprecated_bootstrap,
    spec_from_args,
    write_json,
)
from auditapp.cli.commands.audit_task import TASK_CHOICES
from auditapp.core.errors import AuditInputError
from auditapp.mitigation.constraints import INNER_FITS

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    """Add the ``mitigate`` sub-command."""
    parser = subparsers.add_parser(
        "mitigate", help="compare pre-, in- and post-processing mitigations",
        description="Split the data once (seeded, stratified by group x label), train every candidate on "
                    "the training part and audit each on the same test part, with confidence intervals.",
    )
    add_audit_arguments(parser)
    add_sample_argument(parser)
    parser.add_argument("--constraint", default="demographic_parity",
                        choices=("demographic_parity", "equalized_odds", "true_positive_rate_parity",
                                 "error_rate_parity"))
    parser.add_argument("--candidates", metavar="LIST",
                        help="comma-separated: baseline, baseline_refit, reweighing, correlation_remover, "
                             "exponentiated_gradient, grid_search, threshold_optimizer (default: all that apply)")
    parser.add_argument("--grouping", metavar="LIST",
                        help="comma-separated sensitive features whose groups are made fair (default: the first "
                             "--sensitive feature alone; several give their intersection, with smaller groups)")
    parser.add_argument("--test-size", type=float, default=0.3, help="held-out share (default 0.3)")
    parser.add_argument("--test-data", metavar="FILE", help="your own test file instead of a split")
    parser.add_argument("--objective", default="accuracy_score",
                        choices=("accuracy_score", "balanced_accuracy_score"), help="ThresholdOptimizer objective")
    parser.add_argument("--row-key", metavar="COL",
                        help="column identifying each person: randomised candidates decide each row by a seeded "
                             "hash of it (default: of the row's content)")
    parser.add_argument("--grid-size", type=int, default=20, metavar="N",
                        help="GridSearch's smallest grid (it gets at least the 2^dimensions fairlearn recommends)")
    parser.add_argument("--inner-fits", default="converged", choices=INNER_FITS,
                        help="how exponentiated_gradient and grid_search refit a logistic regression: converged "
                             "(default: solved to its optimum, from the nearest earlier refit; faster) or as_given (its "
                             "own solver and tolerance, as fairlearn does)")
    parser.add_argument("--jobs", type=int, default=1, help="candidates run side by side (at most 2)")
    parser.add_argument("--export", metavar="DIR",
                        help="write every candidate's model (skops) and test predictions (CSV) here")
    parser.add_argument("--json", required=True, metavar="OUT", help="write the comparison as JSON")
    parser.add_argument("--task", default="auto", choices=TASK_CHOICES,
                        help="what the model predicts: binary (yes/no), regression (amounts: candidates "
                             "unmitigated, reweighing, correlation_remover, bounded_group_loss, grid_search) or "
                             "multiclass "
                             "(unmitigated, reweighing, correlation_remover); auto decides from the target and "
                             "the model, and asks when unsure")
    parser.add_argument("--loss", default="square", choices=("square", "absolute"),
                        help="regression: the loss bounded_group_loss bounds per group (default square)")
    parser.add_argument("--upper-bound", type=float, metavar="X",
                        help="regression: each group's loss at most X (default: the unmitigated model's overall "
                             "training loss)")
    parser.set_defaults(func=run, model_processes=model_processes)


def model_processes(args) -> int:
    """Model processes this comparison works with: one per slot (``--jobs``, at most 2)."""
    return min(max(int(args.jobs), 1), 2)


def run(args) -> int:
    """Run the comparison, print a table, write the JSON and (optionally) the exports."""
    from auditapp.inputs.intake import read_table
    from auditapp.mitigation.compare import compare_mitigations
    from auditapp.mitigation.export import export_candidate, mitigation_record

    note_deprecated_bootstrap(args)
    # Two model processes for a comparison's two slots (the command line started them before this ran).
    processes = model_processes(args)
    dataset = model = None
    if args.task != "binary":
        from auditapp.cli.commands.audit_task import prepare_task

        choice, dataset, model = prepare_task(args, model_processes=processes)
        if choice.task in ("regression", "multiclass"):
            return run_task(args, choice.task, dataset, model)
    spec = spec_from_args(args)
    if dataset is None:  # --task binary, or a source an engine samples: read here (once)
        dataset, model = load_inputs(args, model_processes=processes)
    test_frame = read_table(args.test_data, missing_values=args.missing_values).frame if args.test_data else None
    candidates = None
    if args.candidates:
        candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
    comparison = compare_mitigations(
        dataset.frame, spec, model, constraint=args.constraint, candidates=candidates,
        test_size=args.test_size, test_frame=test_frame, objective=args.objective, n_jobs=args.jobs,
        row_key=args.row_key, grid_size=args.grid_size, inner_fits=args.inner_fits,
        grouping=[g.strip() for g in args.grouping.split(",") if g.strip()] if args.grouping else None,
        on_progress=lambda name, status, _result: log.info("%s: %s", name, status),
    )
    print(format_table(comparison))
    record = mitigation_record(comparison)
    if args.export:
        exported = {}
        for result in comparison.candidates:
            try:
                files = export_candidate(comparison, result.name, args.export)
            except AuditInputError as exc:
                exported[result.name] = {"error": str(exc)}
                continue
            exported[result.name] = {"model": str(files.model_path), "predictions": str(files.predictions_path),
                                     "manifest": str(files.manifest_path), "model_sha256": files.model_sha256}
        record["exports"] = exported
    write_json(args.json, record)
    print(f"\nWrote {args.json}")
    return 0


def run_task(args, task: str, dataset, model) -> int:
    """``--task regression|multiclass``: the candidates that apply, compared on the same held-out rows."""
    from auditapp.inputs.intake import read_table
    from auditapp.mitigation.task_compare import (
        compare_task_mitigations,
        export_task_candidate,
        task_mitigation_record,
    )
    from auditapp.reporting.outputs import dataset_info, model_info

    if args.row_key:
        raise AuditInputError(f"--row-key keys the random decisions of yes/no candidates; drop it for a {task} "
                              "comparison.")
    if args.constraint != "demographic_parity" or args.objective != "accuracy_score":
        raise AuditInputError(f"--constraint and --objective are fairlearn's yes/no settings; a {task} comparison "
                              "takes --loss and --upper-bound (regression).")
    spec = spec_from_args(args)
    candidates = [c.strip() for c in args.candidates.split(",") if c.strip()] if args.candidates else None
    test_frame = read_table(args.test_data, missing_values=args.missing_values).frame if args.test_data else None
    comparison = compare_task_mitigations(
        dataset.frame, spec, model, task=task, candidates=candidates, test_size=args.test_size, loss=args.loss,
        upper_bound=args.upper_bound, test_frame=test_frame, export=bool(args.export), grid_size=args.grid_size,
        grouping=[g.strip() for g in args.grouping.split(",") if g.strip()] if args.grouping else None)
    print(format_task_table(comparison))
    record = task_mitigation_record(comparison)
    record.update(dataset=dataset_info(dataset), model=model_info(model), spec=spec.to_dict())
    if args.export:
        exported = {}
        for name in [*comparison.predictions, *comparison.errors]:
            try:
                exported[name] = export_task_candidate(comparison, name, args.export)
            except AuditInputError as exc:
                exported[name] = {"error": str(exc)}
        record["exports"] = exported
    write_json(args.json, record)
    print(f"\nWrote {args.json}")
    return 0


def format_task_table(comparison) -> str:
    """One line per candidate: the task's error and disparity measures with intervals where given."""
    table = comparison.table
    shown = ("mae", "rmse", "mae_gap", "max_abs_smd") if comparison.task == "regression" else (
        "accuracy", "max_class_rate_gap", "min_impact_ratio")
    held_out = (f"{comparison.test_rows:,} held-out rows ({comparison.train_rows:,} training rows, seed "
                f"{comparison.seed})" if comparison.test_source == "split" else
                f"the {comparison.test_rows:,} rows of the test table (trained on all {comparison.train_rows:,} rows)")
    lines = [f"{comparison.task.capitalize()} mitigations on {held_out}; groups of {comparison.grouping}.",
             f"{'candidate':<22}" + "".join(f"{name:<28}" for name in shown)]
    for name, row in table.iterrows():
        cells = []
        for column in shown:
            low, high = row.get(f"{column}_low"), row.get(f"{column}_high")
            cells.append(f"{row[column]:.4g}" + (f" [{low:.4g}, {high:.4g}]" if low is not None else ""))
        lines.append(f"{str(name):<22}" + "".join(f"{c:<28}" for c in cells))
    lines += [f"{name:<22}FAILED: {error}" for name, error in comparison.errors.items()]
    lines += [f"Note: {n}" for n in comparison.notes]
    return "\n".join(lines)


def _ci(estimate, pct: bool) -> str:
    if estimate is None:
        return "n/a"
    fmt = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.3f}")
    return f"{fmt(estimate.value)} [{fmt(estimate.low)}, {fmt(estimate.high)}]"


def format_table(comparison) -> str:
    """One line per candidate: accuracy and the chosen disparity with CIs, fit time, flags."""
    split = comparison.split
    from auditapp.mitigation.describe import grouping_sentence

    lines = [f"{split.train_rows:,} training rows, {split.test_rows:,} test rows ({split.source}, seed "
             f"{split.seed}); disparity: {comparison.disparity_metric}.", grouping_sentence(comparison),
             f"{'candidate':<24}{'family':<9}{'accuracy':<26}{'disparity':<26}{'fit s':>7}  notes"]
    for r in comparison.candidates:
        marks = (["pareto"] if r.name in comparison.pareto else []) + \
                (["needs sensitive at predict"] if r.needs_sensitive_at_predict else [])
        if r.error:
            marks = [f"FAILED: {r.error}"]
        lines.append(f"{r.name:<24}{r.family:<9}{_ci(r.accuracy, True):<26}{_ci(r.disparity, False):<26}"
                     f"{r.fit_seconds:7.2f}  {'; '.join(marks)}")
        if r.draws is not None and not r.error:
            d = r.draws
            low, high = (int(round(100 * q)) for q in d.quantiles)
            accuracy, disparity = d.accuracy, d.criteria[r.disparity_metric]
            lines.append(f"{'':<24}expectation over random decisions; single draws ({d.draws}, {low}th-{high}th "
                         f"percentile): accuracy {100 * accuracy[0]:.1f}%-{100 * accuracy[1]:.1f}%, "
                         f"disparity {disparity[0]:.3f}-{disparity[1]:.3f}")
        lines += [f"{'':<24}warning: {w}" for w in r.warnings]
    lines += [f"Note: {n}" for n in comparison.notes]
    if comparison.cancelled:
        lines.append(f"Cancelled: {', '.join(comparison.cancelled)}")
    return "\n".join(lines)
