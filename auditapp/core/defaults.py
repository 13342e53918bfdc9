"""One home for the audit's defaults: every module, form and command reads them from here."""

from __future__ import annotations

MIN_GROUP_SIZE = 30  # groups with fewer rows are flagged as small (rates too uncertain to trust)
N_BOOT = 1000  # bootstrap replicates, where an interval has no closed form
