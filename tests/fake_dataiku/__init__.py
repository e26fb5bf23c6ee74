"""The DSS test double: ``dataiku/`` is a strict stand-in for DSS's package; ``harness`` runs
unchanged entry files (recipe.py, trigger.py, step.py, backend.py) inside it."""
