"""The LLM beside ``labelloop serve``: the background pre-labeling (``labeling/llm_prelabeling.py``)
of a project folder, with the endpoint, task and categories of its ``labelloop.json``."""
from __future__ import annotations

from labelloop.labeling.llm_prelabeling import TIMEOUT, ServedLlm
from labelloop.llm.prompt import Prompt
from labelloop.standalone.llm_prelabel import human_labels, llm_client, project_prompt, texts_of
from labelloop.standalone.project import Project
from labelloop.store.llm_answers import LlmAnswers


class ProjectLlm(ServedLlm):
    """``ServedLlm`` over a project: its OpenAI-compatible endpoint, its journal and its items."""

    def __init__(self, project: Project):
        self.project = project
        super().__init__(llm_client(project, TIMEOUT), LlmAnswers(project.journal))

    def prompt(self) -> Prompt:
        return project_prompt(self.project)

    def texts(self, item_ids: list) -> list:
        return texts_of(self.project, item_ids)

    def human_labels(self) -> list:
        return human_labels(self.project)
