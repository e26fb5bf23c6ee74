"""The standalone retrain loop: label, retrain, re-rank, repeat (what a DSS scenario does in DSS).

A thread in ``labelloop serve`` watches the webapp's label counts. When the retrain rule fires (``--retrain-every
N`` LABELED answers in the current session, see ``retrain_rule``) or someone asks to "train now",
it runs one round in a separate process: train the next model version, compute the stopping
metrics, run the sampler, which moves the project to the next session. The webapp notices the new
session within a few seconds and serves the new queries; no restart.

The round runs in a child process so that training never takes the server's GIL: labeling is
not blocked or slowed meanwhile. A fresh process per round costs a second or two of imports; in
exchange it can be terminated cleanly when the server stops. A failed round is logged, shown in ``/stats`` under ``loop``,
and tried again when the rule next fires (after ``RETRY_MINUTES``) or on "train now".
"""
from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import threading
import time
from dataclasses import replace

from labelloop.errors import LabelloopError, shown_to_annotators
from labelloop.learning.query_sampler import Pool, SamplerSettings, run_sampler
from labelloop.learning.retrain_rule import due
from labelloop.learning.stopping import compute_metrics
from labelloop.parameters.numbers import whole_number
from labelloop.platform.locks import Lock
from labelloop.platform.processes import killed_with_parent_thread, start_background_worker
from labelloop.sampling import DEFAULT_DIVERSITY
from labelloop.standalone.labeling_rules import latest_llm_answers, load_rules
from labelloop.standalone.options import DEFAULT_RETRAIN_EVERY
from labelloop.standalone.project import MODEL, UNLABELED, Project
from labelloop.standalone.training import train
from labelloop.store.materialize import metadata_frame
from labelloop.store.sessions import current_session

log = logging.getLogger(__name__)

RETRY_MINUTES = 1.0
POLL_SECONDS = 0.5


def sample(project: Project, settings: SamplerSettings | None = None) -> dict:
    """Score the unanswered items with the latest model and write the next session's queries."""
    pool, queries, held, settings = _sampling(project, settings)
    return run_sampler(project.platform, MODEL, pool, queries, held, settings)


def sample_on_spark(project: Project, settings: SamplerSettings, master: str) -> dict:
    """``sample`` as a Spark job (``learning/spark_sampler.py``): the same queries, for a Parquet pool."""
    from labelloop.learning.spark_sampler import ModelScorer, local_session, parquet_pool, run_spark_sampler

    pool, queries, held, settings = _sampling(project, settings)
    path = project.platform.dataset_path(UNLABELED)
    if UNLABELED in project.platform.tables or path.suffix != ".parquet":
        raise LabelloopError(f"The Spark engine reads a Parquet pool; this project's pool is {path.name}: "
                             "use the pandas engine, or convert the pool to Parquet.")
    version = project.platform.active_version(MODEL)
    scorer = ModelScorer(project.platform.registry(MODEL).load(version), version)
    spark = local_session(master)
    return run_spark_sampler(spark, project.platform, pool, parquet_pool(spark, str(path)), queries, held, settings,
                             scorer, MODEL)


def _sampling(project: Project, settings: SamplerSettings | None) -> tuple:
    """``(pool, queries dataset, items held back, settings)`` of the project's next session."""
    pool = Pool(UNLABELED, project.items)
    queries = project.settings.outputs["queries"]
    held = project.journal.unavailable_items(current_session(project.platform, queries) + 1)  # the next session's
    settings = settings or SamplerSettings()
    if settings.rules_bonus > 0 and not settings.rules:
        settings = replace(settings, rules=tuple(load_rules(project)))  # the project's enabled rules
    if settings.llm_disagreement > 0 and not settings.llm_answers:
        settings = replace(settings, llm_answers=latest_llm_answers(project))
    return pool, queries, held, settings


def train_and_measure(project: Project, weak: bool | None = None) -> tuple:
    """Train the next version, then its stopping metrics: (the version's metadata, every version's metrics).

    ``weak``: offer the rules' weak labels to the trainer; None (the loop): when the project has enabled rules."""
    model = train(project, weak=weak)
    measured = {k: model.get(k) for k in ("cvAccuracy", "cvMajority", "cvMajorityLabel")}
    metrics = compute_metrics(project.platform, MODEL, project.source, metadata_frame(project.journal.current_frame()),
                              measured=measured)
    return model, metrics


def queries_per_round(every: int) -> int:
    """How many queries a round keeps: ten rounds' worth of labels, at least 1,000.

    Annotators label about ``every`` items before the next round re-ranks the pool, so ranking
    all of a million rows would write, and make the webapp load, a million queries for nothing.
    """
    return max(1_000, 10 * every)


def run_round(root: str, max_queries: int | None = None, diversity: str = DEFAULT_DIVERSITY,
              rules_bonus: float = 0.0) -> dict:
    """One turn of the loop on the project in ``root``: train, measure, sample. Runs in a child."""
    project = Project.open(root)
    try:
        model, metrics = train_and_measure(project)
        sampled = sample(project, SamplerSettings(max_queries=max_queries, diversity=diversity, rules_bonus=rules_bonus))
        return {"model": model, "metrics": metrics[-1] if metrics else None, "sampler": sampled}
    finally:
        project.close()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class RetrainLoop:
    """Runs rounds in the background for a served project."""

    def __init__(self, project: Project, every: int = DEFAULT_RETRAIN_EVERY, diversity: str = DEFAULT_DIVERSITY,
                 rules_bonus: float = 0.0):
        every = whole_number(every, "--retrain-every")
        SamplerSettings(diversity=diversity, rules_bonus=rules_bonus)  # refused here, at start, not at every round
        self.project, self.every, self.diversity, self.rules_bonus = project, every, diversity, rules_bonus
        self._requested = threading.Event()
        self._stopping = threading.Event()
        self._state_lock = Lock()
        self._state = {"retrainEvery": every, "diversity": diversity, "running": False, "rounds": 0, "lastRound": None,
                       "lastError": None, "lastErrorAt": None}
        self.finished_at = None  # time.monotonic() when the latest round ended, before status() says so
        self._fired = None  # {"session", "at"} of the latest attempt, for the retry delay
        self._labeled_in_session = None  # given by start()
        self._thread = threading.Thread(target=self._run, name="labelloop-retrain", daemon=True)

    def start(self, labeled_in_session) -> RetrainLoop:
        """Watch ``labeled_in_session(session) -> int``: the webapp's own tally, kept current
        incrementally, so polling it costs nothing on a large journal."""
        self._labeled_in_session = labeled_in_session
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; a round in progress is abandoned (the registry never keeps half a version)."""
        self._stopping.set()
        self._requested.set()
        self._thread.join(timeout=15)

    def train_now(self) -> dict:
        """Ask for a round as soon as possible (one already running is not stacked).

        The answer already says ``running``: the page keeps polling ``/stats`` only while a round
        runs, and the loop thread may not have woken yet when the page asks."""
        self._requested.set()
        return self.status()

    def status(self) -> dict:
        """The loop's state; a round asked for and not yet started counts as running."""
        with self._state_lock:
            state = dict(self._state)
        state["running"] = state["running"] or (self._requested.is_set() and not self._stopping.is_set())
        return state

    def _set(self, **changes) -> None:
        with self._state_lock:
            self._state.update(changes)

    def _due(self) -> bool:
        platform = self.project.platform
        session = current_session(platform, self.project.settings.outputs["queries"])
        if not due(self._labeled_in_session(session), self.every, session, self._fired, _now(), RETRY_MINUTES):
            return False
        self._fired = {"session": session, "at": _now().isoformat()}
        return True

    def _run(self) -> None:
        while not self._stopping.is_set():
            asked = self._requested.wait(POLL_SECONDS)
            if self._stopping.is_set():
                return
            try:
                if asked or self._due():
                    self._set(running=True)  # before the request is cleared: status() never shows a gap
                    self._requested.clear()
                    self._round()
            except Exception as error:  # noqa: BLE001 - the loop must outlive any one failure
                log.exception("retrain loop")
                self._set(lastError=shown_to_annotators(error), lastErrorAt=_now().isoformat())

    def _round(self) -> None:
        started, ended = time.monotonic(), {}
        try:
            outcome, value = self._in_child(str(self.project.root))
            ended = _how_it_ended(outcome, value, time.monotonic() - started)
        finally:
            self.finished_at = time.monotonic()
            with self._state_lock:  # in one change: a status that says the round is over says how it ended
                self._state.update(running=False, **ended)
                if "lastRound" in ended:
                    self._state["rounds"] += 1

    def _in_child(self, root: str) -> tuple:
        """Run a round in a fresh process (spawned: never a fork of a threaded server).

        Returns ("ok", result), ("error", message), or (None, None) when the loop was stopped, in
        which case the child is terminated: the registry never keeps a half-written version."""
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=_child_round, name="labelloop-round", daemon=True,
                                  args=(root, sender, queries_per_round(self.every), self.diversity, self.rules_bonus))
        process.start()
        sender.close()
        try:
            return _outcome(process, receiver, self._stopping)
        finally:
            process.join(timeout=10)
            receiver.close()


def _how_it_ended(outcome, value, seconds: float) -> dict:
    """The state changes a round's outcome makes (none when the loop was stopped meanwhile)."""
    if outcome is None:
        return {}
    if outcome != "ok":
        log.warning("retraining failed: %s", value)
        return {"lastError": value, "lastErrorAt": _now().isoformat()}
    value["seconds"] = round(seconds, 2)
    log.info("retrained: model %s, session %s", value["model"]["version"], value["sampler"]["session"])
    return {"lastRound": value, "lastError": None, "lastErrorAt": None}


def _outcome(process, receiver, stopping) -> tuple:
    """What the round's process sent, waiting for it; (None, None) once ``stopping`` is set.

    A process that has ended may have sent its result just after the last poll: the pipe is
    read once more before the round is called failed.
    """
    while not receiver.poll(POLL_SECONDS):
        if stopping.is_set():
            process.terminate()
            return None, None
        if not process.is_alive():
            if receiver.poll(0):
                break
            return "error", f"The training process ended unexpectedly (exit code {process.exitcode})."
    return receiver.recv()


def _child_round(root: str, sender, max_queries: int, diversity: str, rules_bonus: float) -> None:
    """The child process's whole life: one round, its outcome sent back, below the server's priority
    (with one BLAS thread: at the server's priority on every core it slowed each request), and
    killed by the kernel if the server dies (a round is spawned by the loop's thread, which lives
    as long as the server)."""
    killed_with_parent_thread()
    start_background_worker(idle=False)
    try:
        sender.send(("ok", run_round(root, max_queries, diversity, rules_bonus)))
    except LabelloopError as error:
        log.warning("retrain round: %s", error)
        sender.send(("error", shown_to_annotators(error)))
    except Exception as error:  # noqa: BLE001 - reported to the parent, which shows it in /stats
        log.exception("retrain round")
        sender.send(("error", f"Training failed: {shown_to_annotators(error)}"))
