"""The DSS recipe *Pre-label with an LLM* (custom-recipes/llm-prelabel/): a pool's items answered by
an LLM Mesh completion model, written as a dataset of answers (DESIGN.md section 14).

The prompt is ``labelloop llm``'s (llm/prompt.py): the task sentence, the categories and a few
examples from the optional labels dataset. Answers are kept as they come back in a SQLite file of
the DSS user's (per project and output dataset, ``store/private_folders.py``): a run stopped half-way,
killed included, keeps them, and the next run asks only about items without an answer for the
prompt's version. The output dataset then holds each item's latest answer for that version.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from labelloop.dss.mesh_completion import MeshCompleter
from labelloop.dss.mesh_prelabel import item_texts
from labelloop.dss.platform import DSSPlatform
from labelloop.dss.rules_recipe import human_labels
from labelloop.dss.webapp_backend import categories_from_dss
from labelloop.errors import LabelloopError
from labelloop.llm.agreement import measure
from labelloop.llm.prelabel import Pace, Prelabeler
from labelloop.llm.prompt import Prompt, choose_examples
from labelloop.parameters.tables import LLM_PRELABEL
from labelloop.platform.base import Platform
from labelloop.store.item_sources import Rows
from labelloop.store.journal import Journal
from labelloop.store.llm_answers import ANSWER_COLUMNS, LlmAnswers, llm_answers
from labelloop.store.private_folders import data_folder, slug


def run_recipe() -> dict:
    """What the recipe's ``recipe.py`` does: read its roles and params, pre-label; returns the report."""
    from dataiku.customrecipe import get_input_names_for_role, get_output_names_for_role, get_recipe_config

    config = LLM_PRELABEL.read(get_recipe_config())
    if not config["llm"]:
        raise LabelloopError("Choose the LLM (a completion model of the LLM Mesh) in the recipe settings.")
    categories = categories_from_dss(config["categories"])
    platform = DSSPlatform()
    labels = get_input_names_for_role("labels")
    return llm_prelabel_recipe(
        platform, MeshCompleter(platform, config["llm"]), get_input_names_for_role("data")[0],
        get_output_names_for_role("answers")[0], categories, task=config["task"] or "",
        id_column=config["id_column"] or None, text_column=config["text_column"] or None,
        labels=labels[0] if labels else None, label_column=config["label_col_name"] or "label",
        sample=config["sample"], pace=Pace(concurrency=config["concurrency"], rate=config["rate"]))


def llm_prelabel_recipe(platform: Platform, completer, pool: str, answers: str, categories: list, task: str = "",
                        id_column: str | None = None, text_column: str | None = None, labels: str | None = None,
                        label_column: str = "label", sample: int | None = None, pace: Pace | None = None) -> dict:
    """Ask ``completer`` about the items of ``pool`` (or a fixed sample of them), write ``answers``; the report."""
    source = Rows(id_column).load(platform, pool)
    ids, frame = source.snapshot()
    if text_column and text_column not in frame.columns:
        raise LabelloopError(f"The data has no column '{text_column}': choose the text column among its columns.")
    texts = dict(zip(ids, item_texts(frame, text_column, left_out=(id_column,))))
    keys = [c["key"] for c in categories]
    human = human_labels(platform, labels, label_column) if labels else {}
    labeled = [(texts[i], label) for i, label in human.items() if i in texts and label in keys]
    prompt = Prompt(task, tuple(categories), choose_examples(labeled, keys))
    store = LlmAnswers(Journal(_cache_url(platform, answers)))
    done = store.latest(prompt.version)
    scope = _sample(ids, sample)
    result = Prelabeler(completer, prompt, store, pace).run([(i, texts[i]) for i in scope if i not in done])
    found = _answers_of(store, prompt.version, set(scope))
    platform.write_dataset(answers, found)
    if result.stopped:
        raise LabelloopError(f"Stopped: {result.stopped.rstrip('.')}; the {len(found):,} answers so far are written: "
                             "run the recipe again to go on.")
    examples = {text for text, _ in prompt.examples}
    gold = {i: label for i, label in human.items() if i in texts and texts[i] not in examples}
    report = measure(dict(zip(found["item_id"], found["answer"].where(found["answer"].notna(), None))), gold, keys)
    return {**report, "errors": result.errors, "prompt_version": prompt.version}


def _sample(ids: list, sample: int | None) -> list:
    """Every id, or the first ``sample`` of a fixed shuffle (as ``labelloop llm --sample``): a larger
    sample holds a smaller one, so its answers are reused."""
    if sample is None:
        return list(ids)
    return [ids[n] for n in np.random.default_rng(0).permutation(len(ids))[:sample]]


def _cache_url(platform: Platform, answers: str) -> str:
    """The user's SQLite file of this output's answers, where the next run finds them again."""
    return f"sqlite:///{data_folder(platform.project_key(), 'llm-answers') / (slug(answers) + '.sqlite')}"


def _answers_of(store: LlmAnswers, version: str, scope: set) -> pd.DataFrame:
    """Each item of ``scope``'s latest answer for ``version``, one row per item, oldest first."""
    query = (sa.select(*(llm_answers.c[c] for c in ANSWER_COLUMNS))
             .where(llm_answers.c.prompt_version == version).order_by(llm_answers.c.id))
    with store.journal.reading() as conn:
        rows = pd.DataFrame(conn.execute(query).fetchall(), columns=list(ANSWER_COLUMNS))
    rows = rows[rows["item_id"].isin(scope)].drop_duplicates("item_id", keep="last")
    return rows.astype({"item_id": str, "answer": object, "prompt_version": str, "model": str}).reset_index(drop=True)
