"""The sampler's ``llm_disagreement`` bonus: annotators are sent where the model and the LLM part ways."""
from __future__ import annotations

import pandas as pd
import pytest
from test_cli import run
from test_rules_sampling import complaints_and_praise

from labelloop.standalone.project import Project
from labelloop.standalone.training import train
from labelloop.store.llm_answers import LlmAnswers


@pytest.fixture
def project(tmp_path):
    """Complaints and praise, six labeled and a model trained; the LLM calls the praise complaints,
    agrees on the complaints, abstains on five parcel questions and was not asked the rest."""
    opened = complaints_and_praise(tmp_path)
    train(opened)
    answers = [(str(n), "complaint") for n in range(30)] + [(str(n), None) for n in range(35, 40)]
    LlmAnswers(opened.journal).record_many(answers, "p1", "tiny-model")
    opened.close()
    return tmp_path / "proj"


def queries(folder, *options) -> pd.DataFrame:
    run("sample", folder, "--random-share", "0", "--diversity", "none", *options)
    project = Project.open(folder)
    try:
        return project.platform.read_dataset("queries")
    finally:
        project.close()


def test_items_where_the_llm_disagrees_or_abstains_come_first(project):
    plain = queries(project)
    assert (plain["uncertainty"] <= 1).all()

    favoured = queries(project, "--llm-disagreement", "5")
    texts = favoured["text"].tolist()
    expected = {f"thanks for order {i}" for i in range(3, 15)} | {f"where is parcel {i}" for i in range(5)}
    assert set(texts[:len(expected)]) == expected  # the model says praise, the LLM complaint; or it abstained
    assert (favoured["uncertainty"][:len(expected)] >= 5).all() and (favoured["uncertainty"][len(expected):] <= 1).all()
    rest = favoured.iloc[len(expected):].set_index("item_id")["uncertainty"]
    assert rest.to_dict() == pytest.approx(plain.set_index("item_id")["uncertainty"][rest.index].to_dict())


def test_a_bonus_out_of_range_is_refused(project):
    refused = run("sample", project, "--llm-disagreement", "11", ok=False)
    assert refused.returncode == 2 and "llm_disagreement must be a number from 0 to 10" in refused.stderr
