"""``labelloop rules`` and ``labelloop weak``: a project's labeling rules, and the weak labels they give.

The rules live in ``DIR/rules.json``, replaced atomically once the whole file is checked. ``weak``
applies them to the pool against the labels people gave (the project's final labels) and writes
the ``weak_labels`` dataset (rules/weak.py).
"""
from __future__ import annotations

from pathlib import Path

from labelloop.errors import LabelloopError, NotFound
from labelloop.labeling.rules_book import RulesBook
from labelloop.platform.local import write_json_atomic
from labelloop.rules.llm_voter import LlmVotes, stored_llm_votes
from labelloop.rules.spec import parse_rules
from labelloop.rules.weak import Weak, label_pool, weak_frame
from labelloop.standalone.llm_prelabel import human_labels
from labelloop.standalone.project import Project
from labelloop.store.llm_answers import LlmAnswers, last_voter

RULES_FILE = "rules.json"
WEAK_LABELS = "weak_labels"
MAX_RULES_BYTES = 1024 * 1024


class FileRules:
    """The project's ``rules.json``: no file holds no rules; it is replaced atomically."""

    def __init__(self, project: Project):
        self.path = project.root / RULES_FILE

    def read(self):
        return self.path.read_text(encoding="utf-8") if self.path.is_file() else []

    def write(self, rules: list) -> None:
        write_json_atomic(self.path, [rule.as_json() for rule in rules])


def rules_book(project: Project) -> RulesBook:
    """The project's rules over its pool and journal: the Rules panel's, the commands'."""
    return RulesBook(FileRules(project), project.journal, project.source, [c["key"] for c in project.settings.categories],
                     lambda ids, categories: project_llm_votes(project, ids, categories))


def load_rules(project: Project) -> list:
    """The project's rules, checked again (the data may have changed since); none without the file."""
    return rules_book(project).load()


def replace_rules(project: Project, text: str) -> list:
    """Check every rule in ``text`` (JSON), then replace the project's rules with them."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RULES_BYTES:
        raise LabelloopError(f"The rules file is larger than {MAX_RULES_BYTES // 1024:,} KB.")
    book = rules_book(project)
    rules = parse_rules(text, project.source.snapshot()[1].dtypes, book.categories)
    book.store.write(rules)
    return rules


def read_rules_file(path) -> str:
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file.")
    if path.stat().st_size > MAX_RULES_BYTES:
        raise LabelloopError(f"{path.name} is larger than {MAX_RULES_BYTES // 1024:,} KB.")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise LabelloopError(f"{path.name} is not UTF-8 text.") from error


def apply_rules(project: Project) -> Weak:
    """Apply the project's rules to its pool, against its human labels (``rules.weak.label_pool``);
    the LLM's latest answers, if any, vote beside them."""
    if project.settings.multi_label:
        raise LabelloopError("Labeling rules work on single-label projects: each rule votes for one category.")
    book = rules_book(project)
    ids, frame = project.source.snapshot()
    rules = book.load(frame)
    llm = project_llm_votes(project, ids, book.categories)
    if not rules and llm is None:
        raise LabelloopError(f"The project has no rules yet: write them in a JSON file and run 'labelloop rules "
                             f"{project.root} --file FILE'.")
    return label_pool(rules, frame, book.categories, book.gold_codes(ids), llm)


def project_llm_votes(project: Project, ids, categories: list) -> LlmVotes | None:
    """The votes of the LLM's latest answers (``stored_llm_votes``); None when it has not answered yet."""
    return stored_llm_votes(LlmAnswers(project.journal).frame(), human_labels(project), ids, categories)


def latest_llm_answers(project: Project, answers=None) -> dict:
    """``{item_id: answer or None}`` of the model and prompt version that answered last (``last_voter``)."""
    return last_voter(LlmAnswers(project.journal).frame() if answers is None else answers)[1]


def has_enabled_rules(project: Project) -> bool:
    return any(rule.enabled for rule in load_rules(project))


def weak_labels(project: Project) -> dict:
    """``labelloop weak``: apply the rules and write the ``weak_labels`` dataset; returns the report."""
    weak = apply_rules(project)  # a CLI command: its pool does not grow meanwhile
    ids, frame = project.source.snapshot()
    project.platform.write_dataset(WEAK_LABELS, weak_frame(frame, ids, weak))
    return weak.report
