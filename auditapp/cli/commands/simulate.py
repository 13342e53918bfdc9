"""``auditapp simulate policing|lending|model-loop``: run a feedback-loop simulation for scripts.

Writes ``{"schema": "auditapp.simulate/1", "scenario": ..., ...}`` with ``--json OUT`` and, with
``--figure OUT.html``, the scenario's main chart as a standalone HTML page.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from auditapp.cli.commands.audit import add_missing_argument
from auditapp.core.errors import AuditInputError

SCHEMA = "auditapp.simulate/1"


def register(subparsers) -> None:
    """Add the ``simulate`` sub-command with one sub-parser per scenario."""
    parser = subparsers.add_parser(
        "simulate", help="run a feedback-loop simulation (policing, lending, model-loop)",
        description="Simulate how a model's decisions feed back into the data it sees next.",
    )
    scenarios = parser.add_subparsers(dest="scenario", required=True, parser_class=type(parser))
    policing = scenarios.add_parser("policing", help="predictive-policing urn (Ensign et al. 2018)")
    policing.add_argument("--rates", default="3.69,2.82", metavar="R1,R2[,...]",
                          help="true daily incident rate per region (default 3.69,2.82)")
    policing.add_argument("--steps", type=int, default=20_000, metavar="N", help="days per run")
    policing.add_argument("--runs", type=int, default=100, metavar="N", help="independent runs")
    policing.add_argument("--reported-share", type=float, default=0.0, metavar="F",
                          help="share of incidents reported whatever the patrols do (0-1)")
    policing.add_argument("--corrected", action="store_true", help="apply the authors' correction")
    policing.add_argument("--initial-counts", metavar="C1,C2[,...]",
                          help="recorded incidents per region before day 1 (default 1 each)")

    lending = scenarios.add_parser("lending", help="lending with delayed impact (Liu et al. 2018)")
    lending.add_argument("--policy", default="max_profit",
                         choices=("max_profit", "demographic_parity", "equal_opportunity"))
    lending.add_argument("--fico", metavar="DIR|download",
                         help="the FICO/TransRisk tables of Liu et al.: a folder with the CSVs, or 'download' "
                              "(fetched once, checksum verified, cached; AUDITAPP_FICO_DIR for a local copy)")
    lending.add_argument("--groups", metavar="G1,G2[,...]", help="FICO groups to keep (default all)")
    lending.add_argument("--repay-change", type=float, default=75.0, metavar="POINTS")
    lending.add_argument("--default-change", type=float, default=-150.0, metavar="POINTS")
    lending.add_argument("--utility-repaid", type=float, default=1.0, metavar="U")
    lending.add_argument("--utility-default", type=float, default=-4.0, metavar="U")
    lending.add_argument("--steps", type=int, default=10, metavar="N", help="rounds of lending")

    loop = scenarios.add_parser("model-loop", help="your model retrained on its own selections")
    loop.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet applicant table")
    add_missing_argument(loop)
    loop.add_argument("--model", metavar="FILE",
                      help="model file (.skops, .onnx; pickle only if trusted); default learner if omitted")
    loop.add_argument("--target", required=True, metavar="COL")
    loop.add_argument("--favorable", default="1", metavar="VALUE", help="favourable target value")
    loop.add_argument("--sensitive", required=True, metavar="COL")
    loop.add_argument("--features", metavar="COL[,COL...]",
                      help="model features (default: the model's, else every other column)")
    loop.add_argument("--rounds", type=int, default=20, metavar="N")
    loop.add_argument("--pool-size", type=int, default=200, metavar="N")
    loop.add_argument("--selection-rate", type=float, default=0.3, metavar="F")
    loop.add_argument("--exploration", type=float, default=0.0, metavar="F")
    loop.add_argument("--raise-feature", metavar="COL", help="a success raises this numeric feature")
    loop.add_argument("--raise-amount", type=float, default=0.0, metavar="X")
    loop.add_argument("--trust-pickle", action="store_true",
                      help="allow pickle/joblib models (they run code when loaded: only your own files)")
    for sub in (policing, lending, loop):
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--json", metavar="OUT", help="write the result as JSON")
        sub.add_argument("--figure", metavar="OUT.html", help="write the main chart as HTML")
        sub.set_defaults(func=run)


def _numbers(text: str, option: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise AuditInputError(
            f"{option} expects numbers separated by commas, e.g. 3.69,2.82, but got '{text}'."
        ) from exc


def _policing_params(args):
    from auditapp.feedback.policing import PolicingParams

    counts = None if args.initial_counts is None else _numbers(args.initial_counts, "--initial-counts")
    return PolicingParams(rates=_numbers(args.rates, "--rates"), steps=args.steps, runs=args.runs,
                          reported_share=args.reported_share, corrected=args.corrected,
                          initial_counts=counts)


def _lending_params(args):
    from auditapp.feedback.lending import LendingParams
    from auditapp.feedback.scores import read_fico_tables

    model = None
    if args.fico:
        groups = None if not args.groups else tuple(g.strip() for g in args.groups.split(",") if g.strip())
        directory = args.fico
        if directory == "download":
            from auditapp.service.webroot import scenario_module

            directory = scenario_module("public").fico_directory()
        model = read_fico_tables(directory, groups=groups)
    elif args.groups:
        raise AuditInputError("--groups picks FICO groups, so it needs --fico DIR as well.")
    return LendingParams(policy=args.policy, score_model=model, repay_change=args.repay_change,
                         default_change=args.default_change, utility_repaid=args.utility_repaid,
                         utility_default=args.utility_default, steps=args.steps)


def _model_loop_params(args):
    from auditapp.feedback.model_loop import ModelLoopParams
    from auditapp.inputs.intake import read_table

    frame = read_table(args.data, missing_values=args.missing_values).frame
    estimator, note = None, None
    features = None
    if args.model:
        from auditapp.cli.commands.audit_inputs import trust_pickle
        from auditapp.inputs.models import load_model

        model = load_model(args.model, trust_pickle=trust_pickle(args))
        model.check_columns(frame)
        features = tuple(model.feature_names)
        if model.refittable:
            estimator = model.learner
        else:
            note = (f"{model.name} cannot be retrained ({model.format}), so the default learner "
                    "takes its place, trained on the dataset.")
    if args.features:
        features = tuple(c.strip() for c in args.features.split(",") if c.strip())
    if features is None:
        features = tuple(str(c) for c in frame.columns if str(c) not in (args.target, args.sensitive))
    params = ModelLoopParams(
        frame=frame, feature_columns=features, target=args.target, sensitive=args.sensitive,
        favorable=args.favorable, estimator=estimator, rounds=args.rounds, pool_size=args.pool_size,
        selection_rate=args.selection_rate, exploration=args.exploration,
        dynamics_feature=args.raise_feature, dynamics_amount=args.raise_amount,
    )
    return params, note


def run(args: argparse.Namespace) -> int:
    """Run the chosen scenario, print its narrative, and write the JSON/figure files asked for."""
    from auditapp.feedback import lending, model_loop, policing
    from auditapp.feedback.runner import run_simulation, to_plain

    note = None
    if args.scenario == "policing":
        params, to_json = _policing_params(args), policing.policing_json
    elif args.scenario == "lending":
        params, to_json = _lending_params(args), lending.lending_json
    else:
        (params, note), to_json = _model_loop_params(args), model_loop.model_loop_json
    result = run_simulation(args.scenario, params, seed=args.seed)
    narrative = ([note] if note else []) + list(result.narrative)
    print("\n".join(narrative))
    if args.json:
        payload = {"schema": SCHEMA, "scenario": result.scenario, "seed": result.seed,
                   "params": to_plain(result.params), **to_plain(to_json(result)),
                   "summary": to_plain({k: v for k, v in result.summary.items() if k != "rounds"}),
                   "narrative": narrative}
        _write_atomic(args.json, json.dumps(payload, indent=1, allow_nan=False))
        print(f"Wrote {args.json}")
    if args.figure:
        from auditapp.figures.feedback import feedback_figure

        _write_atomic(args.figure, feedback_figure(result).to_html(include_plotlyjs=True, full_html=True))
        print(f"Wrote {args.figure}")
    return 0


def _write_atomic(path: str, text: str) -> None:
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
