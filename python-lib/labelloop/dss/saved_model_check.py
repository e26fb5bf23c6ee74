"""Whether this code env can score with a DSS saved model, decided before the model is unpickled.

Scoring with ``dataiku.Model(...).get_predictor()`` unpickles the model in the plugin's code env,
and the developer guide lists what that cannot do (concepts-and-examples/ml, "Using a Saved Model
in a Python recipe or notebook"): "It does not apply the model's preparation script", "It is not
compatible with Partitioned models", in-memory (Python) models only. A model pickled by another
scikit-learn may not load at all (tree models pickled before 1.3 fail in 1.3, scikit-learn issue
26798), and XGBoost or LightGBM models need their package. Each of these becomes one sentence
saying what to do instead, rather than a vague error or, for a script that rewrites a column in
place, silently wrong probabilities.

The way that works with any model and any engine needs no unpickling: run DSS's Score recipe and
give its output (``proba_<class>`` columns) to the sampler as its input.
"""
from __future__ import annotations

import importlib.util
import pickletools
from dataclasses import dataclass

SCORE_RECIPE = ("score the pool with DSS's Score recipe and give its output to the sampler instead of the saved model")

# DSS's names of visual ML algorithms that need a package besides scikit-learn (dataikuapi
# dss/ml.py, the algorithm metas: "XGBOOST_CLASSIFICATION", "LIGHTGBM_CLASSIFICATION", ...).
_PACKAGES = {"XGBOOST": "xgboost", "LIGHTGBM": "lightgbm"}
# What DSS's Python predictor loads: a pickled scikit-learn estimator; MLlib and Keras models
# are not (developer guide, same section: "It only supports models trained with the in-memory engine").
_NOT_PICKLED = ("MLLIB", "SPARKLING", "KERAS", "DEEP_LEARNING")


@dataclass(frozen=True)
class ModelNeeds:
    """What a saved model version needs to score in this process; None where DSS did not say."""

    algorithm: str | None = None
    sklearn_version: str | None = None  # the scikit-learn that pickled it
    partitioned: bool = False
    script_steps: int = 0  # steps of the preparation script of the analysis it came from


def refusal(model: str, needs: ModelNeeds, sklearn_version: str | None = None) -> str | None:
    """One sentence saying why ``model`` cannot score here and what to do, or None when it can."""
    algorithm = (needs.algorithm or "").upper()
    if needs.partitioned:
        return f"The saved model '{model}' is partitioned, which DSS's Python predictor cannot score: {SCORE_RECIPE}."
    if needs.script_steps:
        return (f"The saved model '{model}' comes with a preparation script ({needs.script_steps} steps), which DSS's "
                f"Python predictor does not apply: {SCORE_RECIPE}.")
    if any(word in algorithm for word in _NOT_PICKLED):
        return f"The saved model '{model}' ({needs.algorithm}) is not a Python in-memory model: {SCORE_RECIPE}."
    for word, package in _PACKAGES.items():
        if word in algorithm and importlib.util.find_spec(package) is None:
            return (f"The saved model '{model}' is a {package} model and the plugin's code env has no {package}: "
                    f"{SCORE_RECIPE}, or add {package} to the code env.")
    installed = sklearn_version or _installed_sklearn()
    if needs.sklearn_version and _minor(needs.sklearn_version) != _minor(installed):
        return (f"The saved model '{model}' was trained with scikit-learn {needs.sklearn_version} and the plugin's "
                f"code env has {installed}, which may not load it: {SCORE_RECIPE}, or use a code env with "
                f"scikit-learn {'.'.join(_minor(needs.sklearn_version))}.")
    return None


def pickled_sklearn_version(data: bytes) -> str | None:
    """The scikit-learn version recorded in a pickled estimator, read without unpickling it.

    scikit-learn's ``BaseEstimator.__getstate__`` stores ``_sklearn_version`` in each estimator's
    state (what its InconsistentVersionWarning compares on load); the pickle's opcodes carry the
    key and then its value as strings, which ``pickletools`` lists without running any code.
    """
    strings = (arg for op, arg, _ in _opcodes(data) if isinstance(arg, str))
    for value in strings:
        if value == "_sklearn_version":
            return next(strings, None)
    return None


def _opcodes(data: bytes):
    try:
        yield from pickletools.genops(data)
    except Exception:  # noqa: BLE001 - a truncated or unusual pickle: what was read so far is kept
        return


def _installed_sklearn() -> str:
    from sklearn import __version__

    return __version__


def _minor(version: str) -> tuple:
    return tuple(version.split(".")[:2])
