"""Thin Dash callbacks, one module per page: read ids → load from the store → call auditapp → figures."""

from callbacks import data, metrics, shell, thresholds  # noqa: F401
