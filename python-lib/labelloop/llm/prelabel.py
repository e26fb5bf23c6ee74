"""Pre-labeling a list of items with an LLM, off the request path (DESIGN.md section 14).

Requests go out from a few threads, no faster than a rate limit; a 429, a timeout, a 5xx or a
garbled reply is retried after a growing pause (a 429's ``Retry-After`` when it gives one). Each
answer is recorded the moment it comes back, so a run killed with SIGKILL loses at most the
requests in flight, and a rerun skips the items already answered for the prompt's version.

When the endpoint keeps failing (``give_up_after`` items in a row get no answer even after their
retries, or it refuses the key) the run stops sending and says why in one sentence: the answers
it has are kept.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

from labelloop.errors import LabelloopError
from labelloop.llm.client import ChatClient, EndpointError
from labelloop.llm.prompt import ANSWER_TOKENS, Prompt, parse_answer
from labelloop.platform.locks import Lock
from labelloop.store.llm_answers import LlmAnswers


@dataclass(frozen=True)
class Pace:
    """How hard a run may press the endpoint."""

    concurrency: int = 4  # requests in flight
    rate: float = 0.0  # requests per second at most (0: no limit)
    retries: int = 2  # after the first attempt of an item
    backoff: float = 0.5  # seconds before the first retry, doubled at each next one
    give_up_after: int = 3  # items in a row without an answer: the endpoint is down, stop

    def __post_init__(self):
        if not 1 <= self.concurrency <= 64:
            raise LabelloopError("--concurrency must be 1 to 64.")
        if not 0 <= self.rate < float("inf"):
            raise LabelloopError("--rate must be a number of requests per second, 0 (no limit) or more.")


@dataclass
class RunResult:
    """What one run did: answers (a category) and abstentions recorded, items left without an answer,
    and why it stopped early (None when it went through)."""

    answered: int = 0
    abstained: int = 0
    errors: int = 0
    stopped: str | None = None


def estimate(prompt: Prompt, texts: list) -> dict:
    """Items and tokens a run over ``texts`` would cost, without calling anything."""
    sent = sum(prompt.estimated_tokens(text) for text in texts)
    return {"items": len(texts), "prompt_tokens": sent, "answer_tokens": ANSWER_TOKENS * len(texts),
            "tokens": sent + ANSWER_TOKENS * len(texts)}


class _RateLimit:
    """Spaces request starts ``1 / rate`` seconds apart, across threads."""

    def __init__(self, rate: float):
        self.gap = 1.0 / rate if rate > 0 else 0.0
        self.next = 0.0
        self.lock = Lock()

    def wait(self) -> None:
        if not self.gap:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + self.gap
        time.sleep(start - now)


class Prelabeler:
    """Asks ``client`` for the category of items with ``prompt``; records answers in ``store``."""

    def __init__(self, client: ChatClient, prompt: Prompt, store: LlmAnswers, pace: Pace | None = None):
        self.client, self.prompt, self.store, self.pace = client, prompt, store, pace or Pace()
        self.keys = [c["key"] for c in prompt.categories]
        self._rate = _RateLimit(self.pace.rate)
        self._stop = threading.Event()  # set when the run gives up: requests in flight are not retried
        self._failures_in_a_row = 0

    def run(self, items: list, progress=None) -> RunResult:
        """Answer ``[(item_id, text)]``; ``progress(done, total)`` after each item."""
        result, pending, todo = RunResult(), set(), iter(items)
        with ThreadPoolExecutor(self.pace.concurrency, thread_name_prefix="labelloop-llm") as pool:
            while True:
                while result.stopped is None and len(pending) < 2 * self.pace.concurrency:  # a short backlog
                    item = next(todo, None)
                    if item is None:
                        break
                    pending.add(pool.submit(self._ask, *item))
                if not pending:
                    return result
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    self._take(result, *future.result())
                    if progress:
                        progress(result.answered + result.abstained + result.errors, len(items))
                if result.stopped is not None:  # items not started yet stay unanswered: a rerun takes them
                    pending = {future for future in pending if not future.cancel()}

    def _take(self, result: RunResult, item_id: str, answer: str | None, error: EndpointError | None) -> None:
        """Record an answer, or count a failure and stop the run when the endpoint seems down."""
        if error is None:
            self.store.record(item_id, answer, self.prompt.version, self.client.model)
            result.answered += answer is not None
            result.abstained += answer is None
            self._failures_in_a_row = 0
            return
        result.errors += 1
        self._failures_in_a_row += 1
        if result.stopped is None and (not error.retry or self._failures_in_a_row >= self.pace.give_up_after):
            result.stopped = str(error)
            self._stop.set()

    def _ask(self, item_id: str, text: str) -> tuple:
        """``(item_id, category or None, None)``, or ``(item_id, None, error)`` once the retries are spent."""
        attempt = 0
        while True:
            self._rate.wait()
            try:
                return item_id, parse_answer(self.client.complete(self.prompt.messages(text)), self.keys), None
            except EndpointError as error:
                if not error.retry or attempt >= self.pace.retries or self._stop.is_set():
                    return item_id, None, error
                pause = self.pace.backoff * 2 ** attempt
                self._stop.wait(min(error.retry_after, 60.0) if error.retry_after is not None else pause)
                attempt += 1
