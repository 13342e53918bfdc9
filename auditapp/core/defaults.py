"""One home for the audit's defaults: every module, form and command reads them from here."""

from __future__ import annotations

MIN_GROUP_SIZE = 30  # groups with fewer rows are flagged as small (rates too uncertain to trust)
N_BOOT = 1000  # bootstrap replicates, where an interval has no closed form
# Rows of the stratified sample of a server-side source kept for explanations and mitigations.
SOURCE_SAMPLE_ROWS = 50_000
# Score histogram bins per group and outcome when an engine counts scores out of memory (duckdb, spark).
DEFAULT_BINS = 10_000
