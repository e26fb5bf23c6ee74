"""``labelloop llm``: a project's items pre-labeled by an LLM, measured against its people (DESIGN.md section 14).

The prompt is built from the project (its task sentence, categories and a few human labels,
llm/prompt.py); the items still without an answer for that prompt's version are sent
(llm/prelabel.py) and the answers kept in the journal's database (store/llm_answers.py). The
report says how often the LLM agrees with the final human labels, per category, leaving out
the items the prompt may have shown to it as examples (``shown_as_examples``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError
from labelloop.llm.agreement import measure
from labelloop.llm.client import DEFAULT_KEY_ENV, DEFAULT_TIMEOUT, ChatClient
from labelloop.llm.prelabel import Pace, Prelabeler, estimate
from labelloop.llm.prompt import Prompt, choose_examples, shown_as_examples
from labelloop.standalone.project import Project
from labelloop.store.llm_answers import LlmAnswers
from labelloop.store.materialize import final_labels


def prelabel_project(project: Project, sample: int | None = None, dry_run: bool = False, pace: Pace | None = None,
                     timeout: float = DEFAULT_TIMEOUT, progress=None) -> dict:
    """Pre-label the pool (or the first ``sample`` items of a fixed shuffle of it) and report;
    with ``dry_run``, only the items and tokens it would cost."""
    client = llm_client(project, timeout)
    labeled = _labeled(project)
    prompt = project_prompt(project, labeled)
    store = LlmAnswers(project.journal)
    done = store.latest(prompt.version)
    items = [(i, text) for i, text in _scope(project, sample) if i not in done]
    if dry_run:
        return {"prompt_version": prompt.version, "model": client.model, **estimate(prompt, [t for _, t in items])}
    result = Prelabeler(client, prompt, store, pace or Pace()).run(items, progress)
    if result.stopped:
        kept = result.answered + result.abstained
        said = f"the {kept:,} answers of this run are kept" if kept else "no answer came back"
        raise LabelloopError(f"Stopped: {result.stopped.rstrip('.')}; {said}: run 'labelloop llm' again to go on.")
    answers, categories = store.latest(prompt.version), [c["key"] for c in project.settings.categories]
    shown = shown_as_examples([(i, label) for i, _, label in labeled], categories)
    found = measure(answers, {i: label for i, _, label in labeled if i not in shown}, categories)
    answered = sum(a is not None for a in answers.values())
    return {"answered": answered, "abstained": len(answers) - answered, "errors": result.errors,
            "prompt_version": prompt.version, **found}


def llm_client(project: Project, timeout: float = DEFAULT_TIMEOUT) -> ChatClient:
    """The project's LLM, refused in one sentence when it has none (``Settings`` refuses one it cannot use)."""
    settings = project.settings
    if not settings.llm_url or not settings.llm_model:
        raise LabelloopError(f"{project.root} has no LLM yet: give --llm-url and --llm-model (they are kept in "
                             "the project; the key stays in an environment variable).")
    return ChatClient(settings.llm_url, settings.llm_model, settings.llm_key_env or DEFAULT_KEY_ENV, timeout)


def project_prompt(project: Project, labeled: list | None = None) -> Prompt:
    """The project's prompt: task, categories, and examples from its human labels in labeling order."""
    labeled = _labeled(project) if labeled is None else labeled
    examples = choose_examples([(text, label) for _, text, label in labeled],
                               [c["key"] for c in project.settings.categories])
    return Prompt(project.settings.llm_task or "", tuple(project.settings.categories), examples)


def human_labels(project: Project) -> list:
    """``[(item_id, final human label)]`` of the pool's labeled items, in the order they were labeled."""
    final = final_labels(project.journal.current_frame(), project.journal.reviews_frame())
    return [(str(i), str(label)) for i, label in zip(final["item_id"], final["label"]) if str(i) in project.source]


def _labeled(project: Project) -> list:
    """``[(item_id, text, final human label)]`` of the pool's labeled items, in the order they were labeled."""
    gold = human_labels(project)
    texts = texts_of(project, [i for i, _ in gold])
    return [(i, text, label) for (i, label), text in zip(gold, texts)]


def _scope(project: Project, sample: int | None) -> list:
    """``[(item_id, text)]`` of the pool, or of the first ``sample`` items of a fixed shuffle of it:
    a larger sample later holds a smaller one, so its answers are reused."""
    ids = list(project.source.ids)
    if sample is not None:
        ids = [ids[n] for n in np.random.default_rng(0).permutation(len(ids))[:sample]]
    return list(zip(ids, texts_of(project, ids)))


def texts_of(project: Project, item_ids: list) -> list:
    """What the LLM reads of each item: its text, or a table row as ``column: value`` lines."""
    rows = project.source.rows(item_ids)
    if project.settings.type == "text":
        return rows[project.settings.text_column].fillna("").astype(str).tolist()
    first = [c for c in project.settings.columns_first if c in rows.columns]
    columns = first + [c for c in rows.columns if c not in first]
    return ["\n".join(f"{c}: {_shown(row[c])}" for c in columns) for _, row in rows.iterrows()]


def _shown(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
