"""Compute: risk-tolerance criteria, their verdicts on the audit's intervals, findings."""
