"""``auditapp adverse-impact``: the Uniform Guidelines' adverse impact (29 CFR 1607.4(D)) per group."""

from __future__ import annotations

from auditapp.core.errors import AuditInputError


def register(subparsers) -> None:
    """Add the ``adverse-impact`` sub-command."""
    parser = subparsers.add_parser(
        "adverse-impact", help="four-fifths impact ratios with Fisher, 2-SD, flip and shortfall",
        description="Impact ratio of each group against the highest-rate group, two-tailed Fisher exact "
                    "test, two-standard-deviation (z) test, the flip counts and the shortfall.")
    parser.add_argument("--data", required=True, metavar="FILE")
    parser.add_argument("--selected", required=True, metavar="COL", help="1 = selected, 0 = not")
    parser.add_argument("--selected-value", metavar="VALUE", help="the value of --selected that means selected")
    parser.add_argument("--group", required=True, metavar="COL")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--missing-values", metavar="WORDS", help="comma-separated words read as missing cells")
    parser.add_argument("--json", metavar="OUT", help="write the table as JSON")
    parser.set_defaults(func=run)


def selected_flags(values, selected_value):
    """0/1 from a column: as is, or 1 where the value equals ``selected_value``."""
    if selected_value is None:
        return values
    text = values.astype(str).str.strip()
    if not (text == str(selected_value)).any():
        raise AuditInputError(f"No row of '{values.name}' has the value '{selected_value}'.")
    return (text == str(selected_value)).astype(int)


def format_rows(result) -> str:
    head = (f"{'group':<26}{'n':>8}{'sel':>7}{'rate':>8}{'IR':>7}{'Fisher p':>10}{'z':>8}{'z p':>9}"
            f"{'flips(F)':>9}{'flips(z)':>9}{'to 0.8':>7}{'shortfall':>10}")
    lines = [f"Compared with the highest-rate group: {result.highest}. alpha {result.alpha:g}; flips: "
             f"{result.flip_method}.", head]

    def n(v, fmt):
        return "" if v is None else format(v, fmt)

    for r in result.rows:
        lines.append(f"{r.group[:25]:<26}{r.n:>8}{r.selected:>7}{r.rate:>8.3f}{n(r.impact_ratio, '.3f'):>7}"
                     f"{n(r.fisher_p, '.4f'):>10}{n(r.z, '.2f'):>8}{n(r.z_p, '.4f'):>9}{n(r.flips_fisher, 'd'):>9}"
                     f"{n(r.flips_z, 'd'):>9}{n(r.flips_to_four_fifths, 'd'):>7}{n(r.shortfall, '.1f'):>10}")
    return "\n".join(lines)


def run(args) -> int:
    from auditapp.compliance.uniform_guidelines import adverse_impact
    from auditapp.inputs.intake import read_table
    from auditapp.reporting.outputs import dataset_info, write_json
    from auditapp.reporting.record import clean

    dataset = read_table(args.data, missing_values=args.missing_values)
    for column in (args.selected, args.group):
        if column not in dataset.frame.columns:
            raise AuditInputError(f"The column '{column}' is not in {dataset.name}.")
    flags = selected_flags(dataset.frame[args.selected], args.selected_value)
    result = adverse_impact(flags, dataset.frame[args.group], alpha=args.alpha)
    print(format_rows(result))
    if args.json:
        write_json(args.json, {"schema": "auditapp.adverse-impact/1", "dataset": dataset_info(dataset),
                               "highest": result.highest, "alpha": result.alpha, "flip_method": result.flip_method,
                               "rows": [{k: clean(v) for k, v in r.__dict__.items()} for r in result.rows]})
        print(f"Wrote {args.json}")
    return 0
