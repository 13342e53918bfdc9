"""auditapp: audit trained classifiers for unfair treatment of groups of people.

The engine is importable without Dash. Heavy libraries (fairlearn, shap) are imported only
inside the functions that need them.
"""

__version__ = "0.1.0"
