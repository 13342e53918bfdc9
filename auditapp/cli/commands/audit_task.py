"""``auditapp audit --task``: regression and multiclass audits (the binary audit stays in ``audit.run``).

``--task auto`` (the default) reads the target (and the model) and runs the binary audit for two outcomes,
exactly as before; a numeric target with many or fractional values, a regressor, or a text target / a
classifier with more than two classes runs the regression or multiclass audit; an ambiguous target stops
with a message asking for ``--task``.
"""

from __future__ import annotations

import sys

from auditapp.core.errors import AuditInputError

TASK_CHOICES = ("auto", "binary", "multiclass", "regression")


def add_task_arguments(parser) -> None:
    """``--task`` and ``--replicates`` (only ``audit`` takes them)."""
    parser.add_argument("--task", default="auto", choices=TASK_CHOICES,
                        help="what the model predicts: binary (two outcomes), multiclass (several classes) or "
                             "regression (amounts); auto decides from the target and the model, and asks when "
                             "unsure")
    parser.add_argument("--replicates", type=int, default=1000, metavar="N",
                        help="regression only: bootstrap replicates for the intervals (default 1000)")


def _target(args, dataset):
    if args.target not in dataset.frame.columns:
        return None
    return dataset.frame[args.target]


def prepare_task(args, *, model_processes: int = 1):
    """``(choice, dataset, model)``: the task of this audit (a ``TaskChoice``), with the inputs read to decide it (None, None when
    they were not read: a source for the duckdb/spark engines, whose audits are binary). The caller goes on with
    them for a yes/no audit too (they are read once); ``model_processes``: model processes started together."""
    from auditapp.cli.commands.audit_inputs import load_inputs, resolve_engine
    from auditapp.core.tasks import TaskChoice, detect_task

    source, engine = resolve_engine(args)
    if engine != "pandas":
        if args.task in ("multiclass", "regression"):
            dataset, model = _projected_inputs(args, source, engine)
            return detect_task(dataset.frame[args.target], model=model, requested=args.task), dataset, model
        return TaskChoice("binary", f"the {engine} engine"), None, None
    dataset, model = load_inputs(args, model_processes=model_processes)
    target = _target(args, dataset)
    if target is None:  # the binary path names the missing column, as it always has
        return TaskChoice("binary", "no target column"), dataset, model
    return detect_task(target, model=model, requested=args.task), dataset, model


def _projected_inputs(args, source, engine):
    """The columns a regression/multiclass audit needs, every row of a large source (``engines.projected``)."""
    from auditapp.cli.commands.audit_inputs import load_model_arg
    from auditapp.engines.projected import projected_frame
    from auditapp.inputs.intake import Dataset

    model = load_model_arg(args)
    sensitive = [s.strip() for s in args.sensitive.split(",") if s.strip()]
    inputs = list(model.feature_names) if model is not None else []
    predictions = [args.prediction] if getattr(args, "prediction", None) else []
    columns = [args.target, *predictions, *sensitive, *inputs]
    frame = projected_frame(source, columns, engine=engine, task=args.task,
                            master=getattr(args, "spark_master", None))
    note = (f"Read the {len(set(columns))} columns the audit needs from every row of {source.name} through "
            f"{'Spark' if engine == 'spark' else 'DuckDB'} ({len(frame):,} rows).")
    return Dataset(frame=frame, name=source.name, sha256=source.sha256(),
                   format=f"{engine} columns", notices=(note,)), model


def run_task(args, choice, dataset, model) -> int:
    """Run a regression or multiclass audit from parsed options; print, write the record and report."""
    from auditapp.cli.commands.audit_inputs import note_deprecated_bootstrap, spec_from_args
    from auditapp.core.task_audit import run_task_audit, task_record
    from auditapp.core.task_summary import format_task_summary
    from auditapp.explain.proxies import proxy_record, proxy_sentence, task_proxies
    from auditapp.policy.task_policy import evaluate_task_policy, format_verdicts, load_task_policy
    from auditapp.reporting.gate import EXIT_CODES
    from auditapp.reporting.outputs import dataset_info, model_info, write_json
    from auditapp.reporting.report import write_report

    note_deprecated_bootstrap(args)
    key = None
    if getattr(args, "sign", None):  # read the key first: a bad key stops before any work
        from auditapp.compliance.signing import load_private_key

        key = load_private_key(args.sign)
    if not 100 <= args.replicates <= 100_000:
        raise AuditInputError(f"--replicates must be between 100 and 100,000, got {args.replicates}.")
    spec = spec_from_args(args)
    audit = run_task_audit(dataset.frame, spec, model, task=args.task, n_boot=args.replicates, choice=choice)
    policy = load_task_policy(args.policy, audit.task) if args.policy else None
    print(format_task_summary(audit, dataset.notices))
    proxies = task_proxies(dataset.frame, spec, model)
    print("\nProxies: " + proxy_sentence(proxies))
    record = task_record(audit, dataset=dataset_info(dataset), model=model_info(model))
    record.update(proxy_record(proxies))
    verdicts = evaluate_task_policy(audit.result, policy) if policy is not None else None
    record["policy"] = None if verdicts is None else verdicts["policy"]
    record["verdicts"] = None if verdicts is None else {"overall": verdicts["overall"], "checks": verdicts["checks"]}
    if verdicts is not None:
        print("\n" + format_verdicts(verdicts))
    if key is not None:
        from auditapp.compliance.signing import sign_record

        record = sign_record(record, key)
    if args.json:
        write_json(args.json, record)
    if args.report:
        from auditapp.reporting.task_report import build_task_report

        extra: tuple[str, ...] = ()
        if getattr(args, "eu_ai_act", False):
            from auditapp.compliance.eu_ai_act import eu_ai_act_evidence, evidence_section

            extra = (evidence_section(eu_ai_act_evidence(record, frame=dataset.frame)),)
        write_report(args.report, build_task_report(audit, record=record, verdicts=verdicts, proxies=proxies,
                                                    extra_html=extra))
    for path in (args.json, args.report):
        if path:
            print(f"\nWrote {path}")
    sys.stdout.flush()
    return 0 if verdicts is None else EXIT_CODES[verdicts["overall"]]
