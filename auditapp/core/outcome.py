"""What checking a policy on an audit produces: the record with verdicts and findings, and the exit code.

``assess`` is shared by the release gate (:mod:`auditapp.reporting.gate`), the HTML report
(:func:`auditapp.reporting.report.report_for`) and the library (:func:`auditapp.check`); it writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditapp.core.audit import Audit
from auditapp.core.exit_codes import EXIT_CODES, EXIT_PASS
from auditapp.policy.criteria import Policy
from auditapp.policy.findings import Finding, build_findings, format_findings
from auditapp.policy.verdicts import PolicyEvaluation, evaluate_policy
from auditapp.reporting.record import audit_record


@dataclass(frozen=True, repr=False)
class PolicyOutcome:
    """What checking a policy on an audit produced (``evaluation`` is None without a policy)."""

    record: dict[str, Any]
    evaluation: PolicyEvaluation | None
    findings: tuple[Finding, ...]
    exit_code: int

    @property
    def overall(self) -> str:
        """``"pass"``, ``"fail"`` or ``"inconclusive"`` (``"pass"`` without a policy: nothing to fail)."""
        return "pass" if self.evaluation is None else self.evaluation.overall

    def __repr__(self) -> str:
        name = "no policy" if self.evaluation is None else f"policy {self.evaluation.policy.name!r}"
        return f"<PolicyOutcome {name}: {self.overall} (exit code {self.exit_code}), {len(self.findings)} finding(s)>"

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
        As ``outputs.dataset_info`` / ``outputs.model_info`` return (hashes, name, rows).
    timestamp : str, optional
        ISO timestamp for the record (now when omitted).

    Returns
    -------
    PolicyOutcome
    """
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
