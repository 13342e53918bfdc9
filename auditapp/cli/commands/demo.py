"""``auditapp demo``: write a built-in scenario's data and model, and say how to audit them."""

from __future__ import annotations

import shlex
from pathlib import Path

SCENARIOS = ("hiring",)


def register(subparsers) -> None:
    """Add the ``demo`` sub-command."""
    parser = subparsers.add_parser(
        "demo", help="write a built-in scenario (data + model) to try the audit on",
        description="Write a built-in scenario's audit data (CSV), the training part its model was "
                    "trained on (CSV) and the trained model (skops) into a folder, and print the "
                    "'auditapp audit' command that audits the model on the rows it never saw.",
    )
    parser.add_argument("scenario", choices=SCENARIOS, help="which scenario to write")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    parser.add_argument("--seed", type=int, default=0, help="seed for data and model (default 0)")
    parser.add_argument("--rows", type=int, default=5000, metavar="N",
                        help="number of rows to audit (default 5000)")
    parser.add_argument("--train-rows", type=int, default=5000, metavar="N",
                        help="number of other rows the model is trained on (default 5000)")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Write the scenario's files and print what was written and what to run next."""
    # Imported here: scikit-learn costs about a second, and every other command would pay it.
    from auditapp.inputs.intake import sha256_file
    from auditapp.service.webroot import scenario_module

    hiring = scenario_module("hiring")
    SCENARIO, write_demo = hiring.SCENARIO, hiring.write_demo

    paths = write_demo(args.out, seed=args.seed, n_rows=args.rows, train_rows=args.train_rows)
    print(f"{SCENARIO.title}\n")
    print(SCENARIO.summary + "\n")
    print(f"Wrote {paths['data']} ({args.rows:,} rows to audit, seed {args.seed})")
    print(f"Wrote {paths['train']} ({args.train_rows:,} other rows: the model was trained on these only)")
    print(f"Wrote {paths['model']} (sha256 {sha256_file(paths['model'])})\n")
    print("Audit it with:")
    print("  " + audit_command(paths["data"], paths["model"]) + "\n")
    print("Things to try:")
    for tip in SCENARIO.what_to_try:
        print(f"  - {tip}")
    return 0


def audit_command(data: Path, model: Path) -> str:
    """Return the ``auditapp audit`` command line for the hiring scenario's files."""
    from auditapp.service.webroot import scenario_module

    SCENARIO = scenario_module("hiring").SCENARIO
    words = ["auditapp", "audit", "--data", str(data), "--model", str(model),
             "--target", SCENARIO.target, "--sensitive", ",".join(SCENARIO.sensitive)]
    for column, group in SCENARIO.reference.items():
        words += ["--reference", f"{column}={group}"]
    return shlex.join(words)
