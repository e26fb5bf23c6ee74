"""The LLM beside a labeling webapp: it pre-labels the items about to be served, in the background.

``ServedLlm`` is the thread and its bookkeeping, the same in both hosts; a host says where the
prompt, the items' texts and the human labels come from (``standalone/served_llm.py``: a project
folder; ``dss/mesh_prelabel.py``: the LLM Mesh and the webapp's journal).

Labeling never waits for it: a thread asks the LLM about the next items of the queue that have
no answer for the current prompt version, a few at a time, and records the answers as
``labelloop llm`` does. When the endpoint fails, ``/stats`` says why in one sentence and the
thread tries again a while later.

Its answers are suggestions (``suggestions``) once they beat always answering the most frequent
category on the items people labeled, its examples aside: the same rule as the model's
(DESIGN.md section 15); until then ``/stats``'s ``llm.suggestions`` says why.
"""
from __future__ import annotations

import logging
import threading

from labelloop.errors import LabelloopError, shown_to_annotators
from labelloop.labeling.suggestion_gate import Verdict, judge
from labelloop.llm.agreement import llm_agreement
from labelloop.llm.prelabel import Pace, Prelabeler
from labelloop.llm.prompt import Prompt
from labelloop.store.llm_answers import LlmAnswers

log = logging.getLogger(__name__)
AHEAD = 20  # items of the queue answered ahead of the annotators
PAUSE = 5.0  # seconds between looks at the queue
PAUSE_AFTER_FAILURE = 30.0
TIMEOUT = 20.0  # seconds per request: an answer slower than that is of no use ahead of the annotators
STOP_WAIT = 5.0  # seconds the server's stop waits for a round to end
PACE = Pace(concurrency=2, give_up_after=1)  # beside a server: gentle, and quick to say it fails


class ServedLlm:
    """Pre-labels ``upcoming(n)``'s items (``start``); ``status()`` is ``/stats``'s ``llm`` part."""

    def __init__(self, client, store: LlmAnswers):
        """A thread asking ``client`` (anything with ``model`` and ``complete``) and keeping answers in ``store``."""
        self.client = client
        self.store = store
        self.problem = None  # the last round's failure, in one sentence
        self.version = None
        self.verdict = UNMEASURED
        self.agreement = None  # with people, ``llm/agreement.py``
        self._stop = threading.Event()
        self._thread = None

    def start(self, upcoming) -> None:
        self._thread = threading.Thread(target=self._run, args=(upcoming,), name="labelloop-llm", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop asking; a request still waiting on the endpoint is left to end with the process (its answer
        is not recorded: the next run asks again)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT)

    def status(self) -> dict:
        answers = self.store.count(self.version) if self.version else 0
        return {"model": self.client.model, "promptVersion": self.version, "answers": answers, "problem": self.problem,
                "suggestions": self.verdict.as_json(), "agreement": self.agreement}

    def suggestions(self, item_ids: list) -> dict:
        """``{item: category}``: the LLM's answers on ``item_ids`` for the current prompt, once it has earned its place."""
        if self.version is None or not self.verdict.shown:
            return {}
        return {i: answer for i, answer in self.store.of(item_ids, self.version).items() if answer is not None}

    def _run(self, upcoming) -> None:
        while not self._stop.is_set():
            try:
                self._round(upcoming)
            except LabelloopError as error:  # the journal unreachable, say: the next round tries again
                self.problem = shown_to_annotators(error)
            except Exception:  # noqa: BLE001 - a bug: logged, and labeling goes on without the LLM
                log.exception("LLM pre-labeling failed")
                self.problem = "The LLM's pre-labeling failed (the server's log says why)."
            self._stop.wait(PAUSE_AFTER_FAILURE if self.problem else PAUSE)

    def _round(self, upcoming) -> None:
        prompt = self.prompt()
        done = self.store.latest(prompt.version)
        self.agreement = llm_agreement(done, self.human_labels(), [c["key"] for c in prompt.categories])
        self.verdict = verdict(self.agreement)
        self.version = prompt.version
        ids = [i for i in upcoming(AHEAD) if i not in done]
        result = Prelabeler(self.client, prompt, self.store, PACE).run(list(zip(ids, self.texts(ids))))
        self.problem = result.stopped

    def prompt(self) -> Prompt:
        """The prompt of this round (the human labels' examples change as labels come)."""
        raise NotImplementedError

    def texts(self, item_ids: list) -> list:
        """What the LLM reads of each item."""
        raise NotImplementedError

    def human_labels(self) -> list:
        """``[(item_id, final human label)]`` in the order they were given: the LLM's gold."""
        raise NotImplementedError


UNMEASURED = Verdict(False, "No LLM suggestions yet: its answers have not been compared with human labels.")
NO_GOLD = Verdict(False, "No LLM suggestions yet: it has answered none of the items people labeled (but its examples).")


def verdict(agreement: dict) -> Verdict:
    """Whether the LLM's suggestions are shown: once it beats always answering the most frequent
    label on the items people labeled (``llm_agreement``), as the model must (DESIGN.md section 15)."""
    if not agreement["items"]:
        return NO_GOLD
    return judge(agreement["accuracy"], agreement["majority"], agreement["items"], agreement["majorityLabel"],
                 "human labels", "the LLM")
