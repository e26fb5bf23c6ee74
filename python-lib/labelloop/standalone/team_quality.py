"""``labelloop quality``: the team's agreement and the labels that are probably wrong; and the
suspected errors a served project's Review view shows."""
from __future__ import annotations

import logging
import threading
import time

from labelloop.errors import LabelloopError
from labelloop.learning.suspected_errors import find_suspects
from labelloop.llm.agreement import llm_agreement
from labelloop.platform.locks import Lock
from labelloop.quality.agreement import team_agreement
from labelloop.quality.suggestion_pull import suggestion_pull
from labelloop.standalone.labeling_rules import latest_llm_answers
from labelloop.standalone.llm_prelabel import human_labels
from labelloop.standalone.project import Project
from labelloop.standalone.training import training_data, training_embeddings
from labelloop.store.items import FOLDER_TYPES
from labelloop.store.llm_answers import LlmAnswers

log = logging.getLogger(__name__)
PREVIEW_COLUMNS = 3  # a table row's first columns, as the page shows them first
PREVIEW_CHARS = 80


def quality_report(project: Project) -> dict:
    """``{agreement, suggestionPull, suspects}``, and ``llm`` once an LLM answered (its model, prompt
    version and agreement with the final labels); ``suspects`` is None, with ``suspectsUnavailable``
    saying why, when they cannot be computed (multi-label, or too few labels)."""
    report = {"agreement": team_agreement(project.journal),
              "suggestionPull": suggestion_pull(project.journal.current_frame())}
    answers = LlmAnswers(project.journal).frame()
    if not answers.empty:
        last = answers.iloc[-1]
        report["llm"] = {"model": str(last["model"]), "promptVersion": str(last["prompt_version"]),
                         "agreement": llm_agreement(latest_llm_answers(project, answers), human_labels(project),
                                                    [c["key"] for c in project.settings.categories])}
    try:
        report["suspects"] = suspected_errors(project)
    except LabelloopError as error:
        report["suspects"], report["suspectsUnavailable"] = None, str(error)
    return report


def suspected_errors(project: Project) -> list:
    """The labeled items whose label the built-in model, cross-validated, finds least likely, each with
    a ``preview`` of the item (an id alone, often a hash, says nothing to whoever checks it)."""
    item_ids, rows, labels = training_data(project)
    settings = project.settings
    found = find_suspects(settings.type, item_ids, rows, labels, text_column=settings.text_column,
                          folder=project.media_folder, embeddings=training_embeddings(project))
    position = {item: n for n, item in enumerate(item_ids)}
    return [{**suspect, "preview": item_preview(project, rows.iloc[position[suspect["item_id"]]])} for suspect in found]


def item_preview(project: Project, row) -> str:
    """The item in one short line: a text's words, a file's path, or a table row's first columns."""
    settings = project.settings
    if settings.type in FOLDER_TYPES:
        return str(row["path"])
    if settings.type == "text":
        shown = " ".join(str(row[settings.text_column]).split())
    else:
        first = [c for c in settings.columns_first if c in row.index]
        columns = first + [c for c in row.index if c not in first]
        shown = ", ".join(f"{c} {_cell(row[c])}" for c in columns[:PREVIEW_COLUMNS])
    return shown if len(shown) <= PREVIEW_CHARS else shown[:PREVIEW_CHARS - 1] + "\u2026"


def _cell(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "-" if value is None or value != value else str(value)


class BackgroundSuspects:
    """The suspected errors of a served project, found again in a thread when labels changed.

    Cross-validating the model takes seconds to a minute on a large project, so a reviewer never
    waits for it: ``current()`` answers the last list found (None before the first) and, when
    the journal changed since and no search runs, starts one, at most every ``REFRESH_SECONDS``.
    """

    REFRESH_SECONDS = 30.0

    def __init__(self, project: Project):
        self.project = project
        self._lock = Lock()
        self._found, self._found_at = None, None  # the list, and the journal change it was found at
        self._running, self._started = False, -float("inf")

    def current(self):
        change = self.project.journal.last_change_id()
        with self._lock:
            due = time.monotonic() - self._started >= self.REFRESH_SECONDS
            if change != self._found_at and not self._running and due:
                self._running, self._started = True, time.monotonic()
                threading.Thread(target=self._find, args=(change,), name="labelloop-suspects", daemon=True).start()
            return self._found

    def _find(self, change: int) -> None:
        found = self._found
        try:
            found = suspected_errors(self.project)
        except LabelloopError:
            found = []  # too few labels, or multi-label: nothing to suspect yet
        except Exception:  # noqa: BLE001 - the Review view keeps serving disagreements
            log.exception("Finding suspected label errors failed; will retry.")
        finally:
            with self._lock:
                self._found, self._found_at, self._running = found, change, False
