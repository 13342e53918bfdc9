"""``auditapp fair-lending``: approval/denial adverse impact ratios, standardized mean differences and
segmented ratios against a control group, with intervals; group labels or BISG probabilities."""

from __future__ import annotations

from auditapp.core.errors import AuditInputError


def register(subparsers) -> None:
    """Add the ``fair-lending`` sub-command."""
    parser = subparsers.add_parser(
        "fair-lending", help="adverse impact ratios and standardized mean differences (ECOA / Reg B practice)",
        description="AIR of approvals and denials against a control group, SMD of a price or score (0.30: a "
                    "practice convention), per segment; with intervals. Groups from a column, or weighted by "
                    "the probabilities `auditapp infer-race` adds (--probabilities).")
    parser.add_argument("--data", required=True, metavar="FILE")
    parser.add_argument("--approved", required=True, metavar="COL", help="1 = approved")
    parser.add_argument("--approved-value", metavar="VALUE", help="the value of --approved that means approved")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--group", metavar="COL", help="each applicant's group")
    who.add_argument("--probabilities", action="store_true",
                     help="use the p_hispanic … p_multiple columns written by auditapp infer-race")
    parser.add_argument("--control", required=True, metavar="GROUP", help="the control group (e.g. White)")
    parser.add_argument("--value", metavar="COL", help="price or score for the standardized mean difference")
    parser.add_argument("--segment", metavar="COL", help="repeat the ratios within each value (product, region)")
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="replicates with --probabilities")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--missing-values", metavar="WORDS", help="comma-separated words read as missing cells")
    parser.add_argument("--json", metavar="OUT", help="write the tables as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from auditapp.cli.commands.adverse_impact import selected_flags
    from auditapp.compliance.fair_lending import fair_lending
    from auditapp.compliance.forms import membership_from
    from auditapp.inputs.intake import read_table
    from auditapp.reporting.outputs import dataset_info, write_json

    dataset = read_table(args.data, missing_values=args.missing_values)
    frame = dataset.frame
    for column in (args.approved, args.group, args.value, args.segment):
        if column is not None and column not in frame.columns:
            raise AuditInputError(f"The column '{column}' is not in {dataset.name}.")
    result = fair_lending(
        selected_flags(frame[args.approved], args.approved_value), control=args.control,
        groups=frame[args.group] if args.group else None,
        membership=membership_from(frame) if args.probabilities else None,
        values=frame[args.value] if args.value else None, segments=frame[args.segment] if args.segment else None,
        confidence=args.confidence, n_boot=args.bootstrap, seed=args.seed)
    print(f"Control group: {result.control}. Intervals ({result.confidence:.0%}): {result.interval_method}.")
    if result.rows_left_out:
        print(f"{result.rows_left_out:,} rows had no group probabilities and were left out.")
    columns = ["segment", "group", "n", "approval_rate", "air", "air_low", "air_high", "denial_rate", "denial_air"]
    print(result.air[columns].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if not result.smd.empty:
        print(f"\nStandardized mean difference (|SMD| >= {result.smd_line:g}: practically significant by convention)")
        print(result.smd[["segment", "group", "n", "mean", "smd", "smd_low", "smd_high"]].to_string(
            index=False, float_format=lambda v: f"{v:.3f}"))
    if args.json:
        import json

        payload = {"schema": "auditapp.fair-lending/1", "dataset": dataset_info(dataset), "control": result.control,
                   "confidence": result.confidence, "interval_method": result.interval_method,
                   "smd_line": result.smd_line, "rows_left_out": result.rows_left_out,
                   "air": json.loads(result.air.to_json(orient="records")),
                   "smd": json.loads(result.smd.to_json(orient="records")) if not result.smd.empty else []}
        write_json(args.json, payload)
        print(f"Wrote {args.json}")
    return 0
