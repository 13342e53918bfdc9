"""A policy as a release gate: verdicts, findings, the record and the report, and the exit status.

``auditapp audit --policy P --report OUT.html --json OUT.json`` exits 0 when the policy passes (or no
policy is given), 1 when it fails, 3 when it is inconclusive; bad input exits 2 before this runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditapp.audit import Audit
from auditapp.findings import Finding, build_findings, format_findings
from auditapp.policy import Policy
from auditapp.verdicts import PolicyEvaluation, evaluate_policy

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_INCONCLUSIVE = 3
EXIT_CODES = {"pass": EXIT_PASS, "fail": EXIT_FAIL, "inconclusive": EXIT_INCONCLUSIVE}


@dataclass(frozen=True)
class PolicyOutcome:
    """What checking a policy on an audit produced (``evaluation`` is None without a policy)."""

    record: dict[str, Any]
    evaluation: PolicyEvaluation | None
    findings: tuple[Finding, ...]
    exit_code: int

    @property
    def text(self) -> str:
        """The verdicts and findings as plain text for the command line ("" without a policy)."""
        return "" if self.evaluation is None else format_findings(self.evaluation, self.findings)


def outcome_sentence(audit: Audit) -> str:
    """The favourable outcome in the data's terms, e.g. ``"hired = 1"``."""
    return f"{audit.spec.target} = {audit.spec.favorable}"


def assess(audit: Audit, policy: Policy | None, *, dataset_info: dict[str, Any],
           model_info: dict[str, Any] | None, timestamp: str | None = None) -> PolicyOutcome:
    """Check ``policy`` on ``audit`` and build the audit record with the policy and its verdicts.

    Parameters
    ----------
    audit : Audit
        From ``run_audit``.
    policy : Policy or None
        The policy to check; None records the audit alone (exit code 0).
    dataset_info, model_info : dict
        As ``commands.audit.dataset_info`` / ``model_info`` return (hashes, name, rows).
    timestamp : str, optional
        ISO timestamp for the record (now when omitted).

    Returns
    -------
    PolicyOutcome
    """
    from auditapp.record import audit_record

    record = audit_record(audit, dataset=dataset_info, model=model_info, timestamp=timestamp)
    if policy is None:
        record["policy"] = None
        record["verdicts"] = None
        record["findings"] = []
        return PolicyOutcome(record, None, (), EXIT_PASS)
    evaluation = evaluate_policy(audit.result, policy)
    findings = build_findings(evaluation, audit.result, outcome=outcome_sentence(audit))
    verdicts = evaluation.to_dict()
    record["policy"] = verdicts.pop("policy")
    record["verdicts"] = verdicts
    record["findings"] = [f.text for f in findings]
    return PolicyOutcome(record, evaluation, findings, EXIT_CODES[evaluation.overall])


def write_outputs(outcome: PolicyOutcome, audit: Audit, *, report_path: str | None = None,
                  json_path: str | None = None, extra_html: tuple[str, ...] = ()) -> int:
    """Write the JSON record and/or the HTML report (each atomically); return the exit code.

    ``extra_html``: more report sections, already escaped (e.g. the EU AI Act evidence).
    """
    if json_path:
        from auditapp.commands.audit import write_json

        write_json(json_path, outcome.record)
    if report_path:
        from auditapp.report import build_report, write_report

        write_report(report_path, build_report(audit, record=outcome.record,
                                               evaluation=outcome.evaluation, findings=outcome.findings,
                                               extra_html=extra_html))
    return outcome.exit_code


def gate(audit: Audit, policy: Policy | None, *, dataset_info: dict[str, Any],
         model_info: dict[str, Any] | None, report_path: str | None = None,
         json_path: str | None = None) -> int:
    """Evaluate ``policy``, write the report and the JSON record, and return the exit status.

    Prints nothing. 0: the policy passes (or there is none); 1: a required criterion fails;
    3: no required criterion fails but one is inconclusive, a required criterion could not be
    evaluated for any group, or no required check could be evaluated at all.

    Parameters
    ----------
    audit : Audit
        From ``run_audit``.
    policy : Policy or None
        From ``auditapp.policy.load_policy``.
    dataset_info, model_info : dict
        Hashes and names of the inputs, for the record.
    report_path, json_path : str, optional
        Where to write the HTML report and the JSON record.

    Returns
    -------
    int
        The exit status.
    """
    outcome = assess(audit, policy, dataset_info=dataset_info, model_info=model_info)
    return write_outputs(outcome, audit, report_path=report_path, json_path=json_path)
