"""Limits of the candidates' options: the constraints and objectives post-processing accepts, GridSearch's
largest grid.

Kept apart from :mod:`.post` (which imports scikit-learn and fairlearn) so that planning a comparison,
e.g. in an auditapp process whose candidates all train in a model's sandbox, imports neither.
"""

from __future__ import annotations

THRESHOLD_CONSTRAINTS = ("demographic_parity", "equalized_odds", "true_positive_rate_parity")
OBJECTIVES = ("accuracy_score", "balanced_accuracy_score")
# How ExponentiatedGradient and GridSearch refit a logistic regression (:mod:`.warm`): solved to its optimum
# from the nearest earlier refit, or with its own solver and tolerance as fairlearn does.
INNER_FITS = ("converged", "as_given")
MAX_GRID_POINTS = 128  # 2**7: one model fit per point; larger grids take minutes on a shared machine
