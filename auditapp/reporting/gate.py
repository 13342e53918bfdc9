"""A policy as a release gate: verdicts, findings, the record and the report, and the exit status.

``auditapp audit --policy P --report OUT.html --json OUT.json`` exits 0 when the policy passes (or no
policy is given), 1 when it fails, 3 when it is inconclusive; bad input exits 2 before this runs.
"""

from __future__ import annotations

from typing import Any

from auditapp.core.audit import Audit
from auditapp.core.exit_codes import EXIT_CODES, EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_PASS
from auditapp.core.outcome import PolicyOutcome, assess, outcome_sentence
from auditapp.policy.criteria import Policy
from auditapp.reporting.outputs import write_json
from auditapp.reporting.report import build_report, write_report

__all__ = ["EXIT_CODES", "EXIT_FAIL", "EXIT_INCONCLUSIVE", "EXIT_PASS", "PolicyOutcome", "assess", "gate",
           "outcome_sentence", "write_outputs"]


def write_outputs(outcome: PolicyOutcome, audit: Audit, *, report_path: str | None = None,
                  json_path: str | None = None, extra_html: tuple[str, ...] = ()) -> int:
    """Write the JSON record and/or the HTML report (each atomically); return the exit code.

    ``extra_html``: more report sections, already escaped (e.g. the EU AI Act evidence).
    """
    if json_path:
        write_json(json_path, outcome.record)
    if report_path:
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
        From ``auditapp.policy.criteria.load_policy``.
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
