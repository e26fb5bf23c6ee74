"""A labeling webapp inside DSS: the core of the labeling webapps' ``backend.py``.

DSS pre-binds a Flask ``app``; this adds the labeling API to it, over the DSS datasets named in
the webapp's params. The journal is a SQLite file of the user's by default (``journal_url``; it
is rebuilt from the labels and metadata datasets when missing, reviews included), or any
SQLAlchemy URL shared by a team. The labels and metadata datasets are rewritten in the
background, about a second after a change (large ones at most a tenth of the time: see
``DebouncedWriter``), whichever way DSS runs the backend.

DSS runs a backend single-threaded by default, multi-threaded, or forking a process per request
("nbProcesses": 1, 0 or more; DSS 9.0.5 source, python/dataiku/webapps/backend.py, via werkzeug's
``make_server``), and ends it without running ``atexit`` (``os._exit`` when its stdin closes,
or SIGKILL). So the datasets never wait for an exit: the process that started the backend
follows the journal and writes them within about a second, also for answers recorded by forked
children. SIGTERM flushes them at once. After a SIGKILL, the next start writes what was missing.
"""
from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
from pathlib import Path

from labelloop.dss.mesh_embedding import MeshEmbedding
from labelloop.dss.mesh_prelabel import MeshServedLlm
from labelloop.dss.platform import DSSPlatform
from labelloop.errors import LabelloopError
from labelloop.labeling.app import Settings, Webapp, create_app, freeze_long_lived, webapp_of
from labelloop.labeling.rules_book import RulesBook
from labelloop.labeling.service import LabelingConfig
from labelloop.learning.media_features import EXTRACTORS, folder_features
from labelloop.parameters.tables import WEBAPPS
from labelloop.rules.dataset import DatasetRules
from labelloop.rules.llm_voter import stored_llm_votes
from labelloop.store.item_sources import items_for_type
from labelloop.store.journal import Journal
from labelloop.store.llm_answers import LlmAnswers
from labelloop.store.materialize import Outputs
from labelloop.store.private_folders import cache_folder, data_folder, slug
from labelloop.store.restore import restore_journal
from labelloop.store.text import embedded_columns

log = logging.getLogger(__name__)


def categories_from_dss(pairs) -> list:
    """DSS's KEY_VALUE_LIST ``[{from, to}]`` as ``[{key, caption}]``; empty or repeated keys refused."""
    categories, seen = [], set()
    for pair in pairs or []:
        key = str(pair.get("from") or "").strip()
        if not key or key in seen:
            raise LabelloopError(f"Categories must have distinct, non-empty keys (problem with '{key}').")
        seen.add(key)
        categories.append({"key": key, "caption": str(pair.get("to") or key)})
    if len(categories) < 2:
        raise LabelloopError("Give at least two categories in the settings.")
    return categories


class DSSTeam:
    """Who is asking, as DSS says from the browser's session, and whether they may review.

    The ``reviewers`` param names DSS logins or groups. A request's groups come with its
    identity, so they are remembered per login when the request is identified, just before the
    service asks whether that login may review. With no reviewers named, nobody may: a DSS
    webapp is shared by nature (the stricter choice).
    """

    def __init__(self, platform, reviewers: str | None):
        self.platform = platform
        self.reviewers = {name.strip() for name in (reviewers or "").split(",") if name.strip()}
        self._groups = {}

    def identify(self, request) -> str:
        login, groups = self.platform.identity(request.headers)
        self._groups[login] = set(groups)
        return login

    def may_review(self, user: str) -> bool:
        return user in self.reviewers or bool(self._groups.get(user, set()) & self.reviewers)


class DatasetSuspects:
    """The suspected label errors the labeling-metrics step wrote to a dataset, re-read at most
    every ``REFRESH_SECONDS`` (a scenario rewrites it after each training)."""

    REFRESH_SECONDS = 30.0

    def __init__(self, platform, dataset: str):
        self.platform, self.dataset = platform, dataset
        self._found, self._read_at = None, -float("inf")

    def current(self):
        if time.monotonic() - self._read_at >= self.REFRESH_SECONDS:
            self._read_at = time.monotonic()
            try:
                if self.platform.dataset_exists(self.dataset):
                    frame = self.platform.read_dataset(self.dataset)
                    self._found = [{"item_id": str(r["item_id"]), "label": str(r["label"]),
                                    "suggested": str(r["suggested"]), "score": float(r["score"])}
                                   for r in frame.to_dict("records")]
            except Exception:  # noqa: BLE001 - the Review view keeps serving disagreements
                log.warning("Could not read the suspected errors dataset '%s'.", self.dataset, exc_info=True)
        return self._found


def _stop_on_sigterm(webapp: Webapp) -> None:
    """On SIGTERM, stop the webapp's features and flush the datasets, then end as the signal would have."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set signal handlers
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN:
        return

    def terminate(signum, frame):
        webapp.stop()
        if callable(previous):
            previous(signum, frame)
        else:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, terminate)


def journal_url(platform, given: str | None, outputs: Outputs) -> str:
    """The journal's URL: the shared one given, else a SQLite file where the next start finds it again.

    A shared URL comes from a preset of the plugin's ``shared-journal`` parameter set, chosen in
    the webapp's ``journal`` param: the backend receives the preset's values, and the webapp's
    own settings, which its page can read, hold only the choice (DSS params reference: passwords
    "should typically be plugin parameters, not component parameters, so that they are set only
    once and visible only to admins"; "PRESET" params with ``parameterSetId``).

    The file is the user's, per project and metadata dataset (``store/private_folders.py``): a
    backend's working directory may not outlive it. In a container it would go with the pod
    (DSS 9.0.5 source, container/runner.py: the pod's working directory), so there a shared
    database is needed and the webapp says so at start. A journal file left in the working
    directory by an older labelloop is kept. A journal that is lost anyway is rebuilt from the
    datasets before anything is written (``restore_journal``).
    """
    if given:
        return given
    if platform.runs_in_container():
        raise LabelloopError("This webapp runs in a container, whose files go when it stops: choose a shared "
                             "journal (a database URL) in the webapp settings.")
    legacy = Path.cwd() / "labelloop-journal.sqlite"
    if legacy.is_file():
        return f"sqlite:///{legacy}"
    return f"sqlite:///{data_folder(platform.project_key(), 'journals') / (slug(outputs.metadata) + '.sqlite')}"


def _served_llm(platform, param: dict, config: LabelingConfig, journal: Journal, source):
    """The LLM Mesh model of the ``llm`` param pre-labeling the next items, or None without one."""
    if not param.get("llm"):
        return None
    if config.multi_label:
        raise LabelloopError("LLM pre-labeling works on single-label webapps: leave the LLM empty.")
    return MeshServedLlm(platform, param["llm"], param.get("llm_task") or "", config.categories, journal, source,
                         text_column=param.get("text_column"), columns_first=config.columns_first,
                         left_out=(param.get("id_column"),))


def _llm_voter(llm, journal: Journal):
    """The Rules panel's LLM voter (``RulesBook``'s ``llm``): the votes of the answers the served
    LLM kept in the journal, measured on the final human labels as standalone's are; None without an LLM."""
    if llm is None:
        return None
    store = LlmAnswers(journal)
    return lambda ids, categories: stored_llm_votes(store.frame(), llm.human_labels(), ids, categories)


def serve_webapp(app, data_type: str, params: dict) -> Webapp:
    """What a webapp's ``backend.py`` does: add the labeling API to DSS's ``app`` from its params.

    The params are read through the webapp's table (``labelloop.parameters.tables``): unset ones get their default.
    """
    param = WEBAPPS[data_type].read(params)
    platform = DSSPlatform()
    if data_type == "text" and not param["text_column"]:
        raise LabelloopError("Choose the text column in the webapp settings.")
    unlabeled = param["unlabeled"]
    items = items_for_type(data_type, param.get("id_column") or None)
    source = items.load(platform, unlabeled)
    items.check_loaded(source, param["label_col_name"] or "label")
    outputs = Outputs(param["labels_ds"], param["metadata_ds"], param["label_col_name"] or "label")
    journal = Journal(journal_url(platform, (param["journal"] or {}).get("url"), outputs))
    restore_journal(platform, journal, outputs)
    config = LabelingConfig(
        type=data_type, categories=categories_from_dss(param["categories"]), multi_label=bool(param["multi_label"]),
        queries=param["queries_ds"] or None, model=param["saved_model"] or None, text_column=param.get("text_column"),
        columns_first=[c.strip() for c in (param.get("columns_first") or "").split(",") if c.strip()],
        # Online suggestions fit in a spawned worker process, and a spawned child re-imports its
        # parent's main module. In DSS that is the launcher, dataiku.webapps.backend, which exec's
        # backend.py in its globals and starts its server only under `if __name__ == "__main__"`
        # (DSS 9.0.5 source, python/dataiku/webapps/backend.py; how DSS starts it locally is in
        # its closed Java code, inferred to be `python -m`): the child starts nothing of the webapp,
        # and the worker's functions live in python-lib, on the sys.path spawn hands the child.
        online=True,
        overlap_share=param["overlap_share"], overlap_annotators=param["overlap_annotators"],
        audit_share=param["audit_share"],
    )
    team = DSSTeam(platform, param["reviewers"])
    suspects = DatasetSuspects(platform, param["suspects_ds"]).current if param["suspects_ds"] else None
    llm = _served_llm(platform, param, config, journal, source)
    rules = None
    if param["rules_ds"]:
        if config.multi_label:
            raise LabelloopError("Labeling rules work on single-label webapps: leave the rules dataset empty.")
        rules = RulesBook(DatasetRules(platform, param["rules_ds"]), journal, source, [c["key"] for c in config.categories],
                          _llm_voter(llm, journal))
    mesh = None
    if param.get("embedding_llm"):
        columns = embedded_columns(data_type, source.frame, param.get("text_column"), param.get("id_column"))
        if not columns:
            raise LabelloopError("The dataset has no free-text column (long, mostly distinct strings) to search by "
                                 "meaning: leave the embedding model empty.")
        vectors, _ = cache_folder(platform.project_key(), "embeddings", param["embedding_llm"])
        mesh = MeshEmbedding(platform, param["embedding_llm"], source.frame, columns, folder=vectors)
    media_cache, media_problem = cache_folder(platform.project_key(), "media", unlabeled)
    settings = Settings(platform, journal, source, config, identify=team.identify, outputs=outputs, unlabeled=unlabeled,
                        check_host=False,  # DSS's proxy stands between the browser and the backend's Host
                        follow_journal=True, may_review=team.may_review,
                        media_cache=None if media_problem else media_cache, media_problem=media_problem,
                        suspects=suspects, rules=rules, embeddings=mesh, llm=llm,
                        features_of=folder_features(platform, unlabeled, data_type) if data_type in EXTRACTORS else None)
    webapp = webapp_of(create_app(settings, app))  # in Flask's app.extensions: whoever holds the app can stop it
    atexit.register(webapp.stop)
    _stop_on_sigterm(webapp)
    freeze_long_lived()
    return webapp
