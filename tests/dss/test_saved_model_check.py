"""Saved models the plugin's code env cannot score are refused before unpickling, in one sentence.

One test pickles a tree model with scikit-learn 1.0.2 (DSS 12's visual ML, before the tree format
changed in 1.3) in a venv of its own and scores it here: the venv is built once per machine
under the temp folder; the test fails, never skips, when it cannot be built.
"""
from __future__ import annotations

import os
import pickle
import subprocess
import tempfile
import textwrap
from pathlib import Path

import flask
import pytest
from sampler_models import pool, tabular_classifier
from test_dss_webapps import CATEGORIES, WEBAPPS
from test_query_sampler_recipe import run

from labelloop.dss.saved_model_check import ModelNeeds, pickled_sklearn_version, refusal
from labelloop.errors import LabelloopError

OLD_SKLEARN = "1.0.2"
OLD_VENV = Path(tempfile.gettempdir()) / f"labelloop-sklearn-{OLD_SKLEARN}"


@pytest.fixture(scope="session")
def old_sklearn_python() -> str:
    """A Python 3.9 with scikit-learn 1.0.2 (its wheels stop at Python 3.10), built on first use."""
    python = OLD_VENV / "bin" / "python"
    if not python.exists():
        interpreter = next((p for p in ("python3.9", os.path.expanduser("~/.pyenv/versions/3.9.18/bin/python"))
                            if _runs(p)), None)
        assert interpreter, "No Python 3.9 on this machine to build the scikit-learn 1.0.2 venv."
        subprocess.run([interpreter, "-m", "venv", str(OLD_VENV)], check=True)
        subprocess.run([str(OLD_VENV / "bin" / "pip"), "install", "-q", f"scikit-learn=={OLD_SKLEARN}", "numpy<1.24",
                        "scipy<1.10"], check=True)
    return str(python)


def _runs(python: str) -> bool:
    """Whether ``python`` starts: a pyenv shim exists on the path even where its version is not the active one."""
    try:
        return subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0
    except OSError:
        return False


def pickled_in(python: str) -> bytes:
    """A random forest on two features, fitted and pickled by ``python``."""
    script = textwrap.dedent("""
        import pickle, sys
        import numpy as np
        from sklearn.ensemble import RandomForestClassifier
        features = np.random.default_rng(0).normal(size=(200, 2))
        labels = np.where(features[:, 0] > 0, "high", "low")
        sys.stdout.buffer.write(pickle.dumps(RandomForestClassifier(n_estimators=5, random_state=0).fit(features, labels)))
    """)
    return subprocess.run([python, "-c", script], check=True, capture_output=True).stdout


@pytest.fixture
def flow(dss):
    dss.add_dataset("unlabeled", pool(300))
    dss.add_dataset("queries")
    return dss


def test_a_tree_pickled_by_an_older_scikit_learn_is_refused_before_unpickling(flow, old_sklearn_python):
    pickled = pickled_in(old_sklearn_python)
    assert pickled_sklearn_version(pickled) == OLD_SKLEARN
    flow.add_pickled_model("old_forest", pickled)
    with pytest.raises(ValueError, match="incompatible dtype"):  # what the predictor's unpickling would meet
        pickle.loads(pickled)
    with pytest.raises(LabelloopError, match=r"scikit-learn 1\.0\.2 .* Score recipe .*scikit-learn 1\.0\.$") as error:
        run(flow, model="old_forest")
    assert "\n" not in str(error.value) and not flow.platform.dataset_exists("queries")
    assert flow.predictors_built == 0


def test_a_model_pickled_by_this_scikit_learn_scores(flow):
    flow.add_model("classifier", tabular_classifier(pool(300)))
    run(flow, {"max_queries": 20}, model="classifier")
    assert len(flow.platform.read_dataset("queries")) == 20 and flow.predictors_built == 1


@pytest.mark.parametrize("details, words", [
    ({"partitioned": True}, "is partitioned"),
    ({"script_steps": [{"type": "ColumnRenamer"}, {"type": "CreateColumnWithGREL"}]}, r"preparation script \(2 steps\)"),
    ({"algorithm": "XGBOOST_CLASSIFICATION"}, "xgboost model"),
    ({"algorithm": "LIGHTGBM_CLASSIFICATION"}, "lightgbm model"),
    ({"algorithm": "MLLIB_LOGISTIC_REGRESSION"}, "not a Python in-memory model"),
])
def test_what_the_predictor_cannot_do_is_refused_with_the_score_recipe_as_the_way(flow, details, words):
    flow.add_model("classifier", tabular_classifier(pool(300)), **details)
    with pytest.raises(LabelloopError, match=words) as error:
        run(flow, model="classifier")
    assert "Score recipe" in str(error.value) and flow.predictors_built == 0
    assert not flow.platform.dataset_exists("queries")


def test_the_check_reads_the_version_without_running_the_pickle():
    assert pickled_sklearn_version(b"not a pickle") is None
    current = __import__("sklearn").__version__
    assert refusal("m", ModelNeeds(sklearn_version=current)) is None
    assert refusal("m", ModelNeeds(algorithm="RANDOM_FOREST_CLASSIFICATION")) is None
    assert "scikit-learn 1.3" in refusal("m", ModelNeeds(sklearn_version="1.3.2"), sklearn_version="1.2.2")
    assert refusal("m", ModelNeeds(sklearn_version="1.3.0"), sklearn_version="1.3.2") is None


def test_a_webapp_with_a_model_it_cannot_score_labels_on_and_says_why_in_stats(flow):
    flow.add_dataset("labels")
    flow.add_dataset("metadata")
    flow.add_model("clf", tabular_classifier(pool(300)), partitioned=True)
    app = flask.Flask("backend")
    flow.run(WEBAPPS / "tabular-labeling", {"unlabeled": "unlabeled", "categories": CATEGORIES, "labels_ds": "labels",
                                            "metadata_ds": "metadata", "saved_model": "clf"}, init_globals={"app": app})
    client, ada = app.test_client(use_cookies=False), flow.login("ada")
    items = client.get("/batch?size=2", headers=ada).get_json()["items"]
    assert [item["suggestion"] for item in items] == [None, None]
    assert client.post("/label", json={"id": items[0]["id"], "label": "low"}, headers=ada).status_code == 200
    assert "is partitioned" in client.get("/stats", headers=ada).get_json()["modelProblem"]
    assert flow.predictors_built == 0
