"""``auditapp ll144``: the NYC Local Law 144 bias audit (6 RCNY §5-301) of a selection or scoring tool."""

from __future__ import annotations

from auditapp.core.errors import AuditInputError


def register(subparsers) -> None:
    """Add the ``ll144`` sub-command."""
    parser = subparsers.add_parser(
        "ll144", help="NYC Local Law 144 bias audit: selection/scoring rates and impact ratios",
        description="Compute the bias-audit tables NYC Local Law 144 requires (sex, race/ethnicity and "
                    "their intersections: n, selection or scoring rate, impact ratio) and the summary. "
                    "The rule sets no pass/fail threshold. Exit status 0, or 2 on bad input.")
    parser.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet, one row per person assessed")
    outcome = parser.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--selected", metavar="COL", help="the tool's decision (selected or not), or its class")
    outcome.add_argument("--score", metavar="COL", help="the tool's score (scoring rate: share above the median)")
    parser.add_argument("--sex", required=True, metavar="COL", help="column with sex")
    parser.add_argument("--race", required=True, metavar="COL", help="column with race/ethnicity (EEO-1 categories)")
    parser.add_argument("--mapping", metavar="FILE", help="YAML: {sex: {value: category}, race_ethnicity: {value: category}}")
    parser.add_argument("--unmapped", choices=("error", "unknown"), default="error",
                        help="values no mapping covers: stop with a list (default), or count them as unknown")
    parser.add_argument("--selected-value", metavar="VALUE", help="the value of --selected that means selected")
    parser.add_argument("--classify", action="store_true", help="the tool classifies into groups: tables per class")
    parser.add_argument("--ties", choices=("not_above", "above"), default="not_above",
                        help="scores equal to the median count as not above it (default) or above it")
    parser.add_argument("--median-sample", choices=("all", "known"), default="all",
                        help="median of all rows (default, the rule's full sample) or of rows with known categories")
    parser.add_argument("--exclude-under", type=float, metavar="SHARE",
                        help="exclude categories under this share of the data (e.g. 0.02) from the impact ratios")
    parser.add_argument("--audit-date", metavar="YYYY-MM-DD", help="the audit's date (default today)")
    parser.add_argument("--data-source", metavar="TEXT",
                        help="source and explanation of the data: historical, or test data and why (required by the rule)")
    parser.add_argument("--distribution-date", metavar="YYYY-MM-DD", help="the date the tool was distributed")
    parser.add_argument("--missing-values", metavar="WORDS", help="comma-separated words read as missing cells")
    parser.add_argument("--json", required=True, metavar="OUT", help="write the record (schema auditapp.ll144/1)")
    parser.add_argument("--csv", metavar="OUT.csv", help="write every table as one CSV, ready to publish")
    parser.add_argument("--report", metavar="OUT.html", help="write the summary of results as HTML")
    parser.add_argument("--sign", metavar="KEY", help="sign the JSON record with this Ed25519 key (auditapp keygen)")
    parser.set_defaults(func=run)


def _date(value: str | None, option: str) -> str | None:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise AuditInputError(f"{option} must be a date as YYYY-MM-DD, not '{value}'.") from exc


def run(args) -> int:
    """Compute the tables, print the summary, write the record (signed if asked), CSV and HTML."""
    from auditapp.compliance.categories import read_mapping
    from auditapp.compliance.ll144 import ll144_audit
    from auditapp.compliance.ll144_outputs import (
        ll144_csv,
        ll144_record,
        summary_html,
        summary_text,
    )
    from auditapp.inputs.intake import read_table
    from auditapp.reporting.outputs import dataset_info, write_json
    from auditapp.reporting.report import write_report

    key = None
    if args.sign:
        from auditapp.compliance.signing import load_private_key

        key = load_private_key(args.sign)
    mapping = read_mapping(args.mapping) if args.mapping else None
    dataset = read_table(args.data, missing_values=args.missing_values)
    result = ll144_audit(
        dataset.frame, sex=args.sex, race=args.race, selected=args.selected, score=args.score, mapping=mapping,
        unmapped=args.unmapped, selected_value=args.selected_value, classify=args.classify, ties=args.ties,
        median_sample=args.median_sample, exclude_under=args.exclude_under,
        audit_date=_date(args.audit_date, "--audit-date"), data_source=args.data_source,
        distribution_date=_date(args.distribution_date, "--distribution-date"))
    info = dataset_info(dataset)
    record = ll144_record(result, dataset=info)
    if key is not None:
        from auditapp.compliance.signing import sign_record

        record = sign_record(record, key)
    write_json(args.json, record)
    if args.csv:
        write_report(args.csv, ll144_csv(result).to_csv(index=False))
    if args.report:
        write_report(args.report, summary_html(result, dataset=info))
    for notice in dataset.notices:
        print(f"Note: {notice}")
    print(summary_text(result))
    print(f"\nWrote {args.json}" + (" (signed)" if key is not None else ""))
    for path in (args.csv, args.report):
        if path:
            print(f"Wrote {path}")
    return 0
