"""Compute: the JSON record, the HTML report, the release gate, atomic file writes."""
