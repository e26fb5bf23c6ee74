"""The sampler's rules bonus: annotators are sent where the labeling rules are no help."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from test_cli import run

from labelloop.learning.query_sampler import SamplerSettings
from labelloop.standalone.label_import import import_labels
from labelloop.standalone.labeling_rules import replace_rules
from labelloop.standalone.loop import sample
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.training import train

RULES = [{"name": "refund", "label": "complaint", "column": "text", "keywords": ["refund"]},
         {"name": "thanks", "label": "praise", "column": "text", "keywords": ["thanks"]},
         {"name": "off", "label": "praise", "column": "text", "keywords": ["parcel"], "enabled": False}]


def complaints_and_praise(tmp_path) -> Project:
    """Fifteen complaints (0-14), fifteen praises (15-29), five of both (30-34) and fifteen parcel
    questions (35-49), three of each kind labeled by ada."""
    texts = ([f"refund for order {i}" for i in range(15)] + [f"thanks for order {i}" for i in range(15)]
             + [f"refund, thanks anyway {i}" for i in range(5)] + [f"where is parcel {i}" for i in range(15)])
    pd.DataFrame({"n": range(len(texts)), "text": texts}).to_csv(tmp_path / "texts.csv", index=False)
    init_project(tmp_path / "proj", tmp_path / "texts.csv", "text", [{"key": "complaint"}, {"key": "praise"}],
                 id_column="n", text_column="text")
    opened = Project.open(tmp_path / "proj")
    gold = pd.DataFrame({"n": [0, 1, 2, 15, 16, 17], "label": ["complaint"] * 3 + ["praise"] * 3})
    gold.to_csv(tmp_path / "gold.csv", index=False)
    import_labels(opened, tmp_path / "gold.csv", "ada")
    return opened


@pytest.fixture
def project(tmp_path):
    opened = complaints_and_praise(tmp_path)
    replace_rules(opened, json.dumps(RULES))
    train(opened)
    yield opened
    opened.close()


def test_items_the_rules_cannot_label_come_first_and_say_why(project):
    sample(project, SamplerSettings(random_share=0.0, rules_bonus=5.0))
    queries = project.platform.read_dataset("queries")
    texts = queries["text"].tolist()
    helpless = [t.startswith("where is parcel") or t.startswith("refund, thanks") for t in texts]
    assert helpless == [True] * 20 + [False] * (len(texts) - 20)  # no rule votes, or the two disagree
    assert set(queries["strategy"][:20]) == {"margin+rules"} and set(queries["strategy"][20:]) == {"margin"}
    assert (queries["uncertainty"][:20] >= 5).all()

    sample(project, SamplerSettings(random_share=0.0))  # without a bonus the rules change nothing
    assert set(project.platform.read_dataset("queries")["strategy"]) == {"margin"}


def test_a_bonus_out_of_range_is_refused(project):
    refused = run("sample", project.root, "--rules-bonus", "11", ok=False)
    assert refused.returncode == 2 and "rules_bonus must be a number from 0 to 10" in refused.stderr
