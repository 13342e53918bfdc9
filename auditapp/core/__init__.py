"""Compute: the audit specification, group rates, metrics and intervals, scores and threshold indexes, one audit end to end, its narrative; regression and multiclass tasks."""
