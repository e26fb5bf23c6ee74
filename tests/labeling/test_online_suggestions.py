"""Suggestions that learn from every label between retrains, through the HTTP API."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
from polling import eventually
from sampler_models import CountingFeatures
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from test_webapp_api import as_user, make_client
from threadpoolctl import threadpool_info

import labelloop.labeling.project_state as project_state
from labelloop.labeling import online_model
from labelloop.store.journal import Annotation

CATEGORIES = [{"key": "cat"}, {"key": "dog"}]


def pool(rows=200):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"n": range(rows), "x": rng.normal(size=rows), "colour": rng.choice(["red", "blue"], rows)})


def truth(frame, item_id):
    return "cat" if frame.loc[int(item_id), "x"] < 0 else "dog"


def test_with_no_model_the_online_model_suggests_after_a_few_labels_and_gets_them_right(tmp_path):
    frame = pool()
    client, service = make_client(tmp_path, frame, categories=CATEGORIES)
    assert client.get("/stats").get_json()["suggesting"] == {"source": None, "labels": 0, "version": None}
    first = client.get("/batch?size=10").get_json()["items"]
    assert all(item["suggestion"] is None for item in first)  # nothing has been learned yet
    for item in first:
        client.post("/label", json={"id": item["id"], "label": truth(frame, item["id"])})
    assert eventually(lambda: client.get("/stats").get_json()["suggesting"]["labels"] == 10, timeout=10)
    assert client.get("/stats").get_json()["suggesting"] == {"source": "online", "labels": 10, "version": None}
    right = 0
    for _ in range(40):  # every label teaches it, and the next suggestion shows it
        (item,) = client.get("/batch?size=1").get_json()["items"]
        assert item["suggestion"]["source"] == "online" and set(item["suggestion"]["probabilities"]) == {"cat", "dog"}
        right += item["suggestion"]["label"] == truth(frame, item["id"])
        client.post("/label", json={"id": item["id"], "label": truth(frame, item["id"])})
    assert right >= 32  # x decides the label: an online logistic regression learns it
    service.suggestions.online.stop()
    service.journal.close()


def test_an_answer_changed_or_a_group_undone_is_forgotten_by_the_online_model(tmp_path):
    """The online model learns what the annotators answer now: a label changed replaces the old
    one, and the labels of a group taken back are unlearned, without waiting for a retrain."""
    frame = pool()
    client, service = make_client(tmp_path, frame, categories=CATEGORIES)
    learned = lambda: client.get("/stats").get_json()["suggesting"]["labels"]  # noqa: E731 - read again each time
    items = [item["id"] for item in client.get("/batch?size=16").get_json()["items"]]
    for item in items[:10]:
        client.post("/label", json={"id": item, "label": truth(frame, item)})
    assert eventually(lambda: learned() == 10, timeout=10)
    wrong = {"cat": "dog", "dog": "cat"}[truth(frame, items[0])]
    client.post("/label", json={"id": items[0], "label": wrong})  # the annotator changes their mind
    group = client.post("/label/bulk", json={"ids": items[10:], "label": "cat"}).get_json()["group"]
    assert eventually(lambda: learned() == 16, timeout=10)  # 9 + the changed one + the group's 6, not 17
    assert client.post("/label/bulk/undo", json={"group": group}).status_code == 200
    assert eventually(lambda: learned() == 10, timeout=10)
    service.suggestions.online.stop()
    service.journal.close()


def test_labels_from_another_process_are_learned_and_a_retrain_replaces_the_online_model(tmp_path, monkeypatch):
    monkeypatch.setattr(project_state, "SESSION_CHECK_SECONDS", 0)
    frame = pool()
    client, service = make_client(tmp_path, frame, categories=CATEGORIES, model="clf")
    for n in range(12):  # written straight to the journal, as another server would
        service.journal.record(Annotation(item_id=str(n), annotator="bob", status="LABELED", label=truth(frame, n)))
    assert eventually(lambda: service.suggestions.online.status()["labels"] == 12, timeout=10)
    model = make_pipeline(make_column_transformer(("passthrough", ["x"])), LogisticRegression())
    service.platform.registry("clf").save(model.fit(frame.head(12), [truth(frame, n) for n in range(12)]), {})
    assert eventually(lambda: service.suggestions.online.status() == {"source": "online", "labels": 12, "version": "v0001"},
                      timeout=10)  # rebuilt on the version's own features, from every label so far
    client.post("/label", json={"id": "150", "label": truth(frame, 150)}, headers=as_user("ada"))
    assert eventually(lambda: service.suggestions.online.status()["labels"] == 13, timeout=10)
    (item,) = client.get("/batch?size=1").get_json()["items"]
    assert item["suggestion"]["source"] == "online"
    service.suggestions.online.stop()
    service.journal.close()


def test_multi_label_projects_keep_the_version_s_suggestions(tmp_path):
    client, service = make_client(tmp_path, pool(), categories=CATEGORIES, multi_label=True)
    assert service.suggestions.online is None
    assert client.get("/stats").get_json()["suggesting"]["source"] is None
    service.journal.close()


def test_text_rows_are_learned_from_hashed_words(tmp_path):
    texts = ["great phone, love it", "awful battery, hate it"] * 30
    frame = pd.DataFrame({"n": range(60), "text": texts})
    client, service = make_client(tmp_path, frame, type="text", text_column="text", categories=[
        {"key": "good"}, {"key": "bad"}])
    for n in range(6):
        client.post("/label", json={"id": str(n), "label": "good" if n % 2 == 0 else "bad"})
    assert eventually(lambda: service.suggestions.online.status()["labels"] == 6, timeout=10)
    items = client.get("/batch?size=10").get_json()["items"]
    assert all(i["suggestion"]["label"] == ("good" if "love" in i["data"]["text"] else "bad") for i in items)
    service.suggestions.online.stop()
    service.journal.close()



def test_the_fitting_worker_yields_the_cpu_to_the_server(tmp_path):
    """Fits run beside the requests: the worker process runs only on a core the server does not want."""
    frame = pool()
    client, service = make_client(tmp_path, frame, categories=CATEGORIES)
    for n in range(4):
        client.post("/label", json={"id": str(n), "label": truth(frame, n)})
    assert eventually(lambda: service.suggestions.online.status()["source"] == "online", timeout=20)
    worker = online_model._fitter().submit(os.getpid).result()  # the process that fitted it
    assert worker != os.getpid()
    assert os.sched_getscheduler(worker) == os.SCHED_IDLE and os.sched_getscheduler(0) == os.SCHED_OTHER
    pools = online_model._fitter().submit(threadpool_info).result()  # BLAS and OpenMP keep to one thread
    assert pools and {pool["num_threads"] for pool in pools} == {1}
    service.suggestions.online.stop()
    service.journal.close()


def test_items_prefetched_in_the_worker_get_suggestions_with_no_transform_in_the_server():
    frame = pool()
    features = CountingFeatures(online_model.HashedFeatures("tabular"))
    model = online_model.OnlineModel(["cat", "dog"], features)
    model.learn(frame.iloc[:60], [truth(frame, i) for i in range(60)])

    def rows_of(ids):
        return frame.loc[[int(i) for i in ids]]

    upcoming = [str(i) for i in range(100, 200)]
    assert model.prefetch(upcoming, rows_of) == 100 and model.prefetch(upcoming, rows_of) == 0
    in_server = CountingFeatures.calls
    cached = model.probabilities(upcoming[5:15], rows_of)
    assert CountingFeatures.calls == in_server  # the worker computed them
    fresh = online_model.OnlineModel(["cat", "dog"], features)
    fresh._model = model._model  # the same fitted model, no cache: features computed here
    np.testing.assert_allclose(cached, fresh.probabilities(upcoming[5:15], rows_of))
    assert CountingFeatures.calls == in_server + 1


def test_the_server_computes_ahead_the_features_of_the_next_batch(tmp_path):
    frame = pool()
    client, service = make_client(tmp_path, frame, categories=CATEGORIES)
    for item in client.get("/batch?size=10").get_json()["items"]:
        client.post("/label", json={"id": item["id"], "label": truth(frame, item["id"])})
    # the model learned all ten and beat the majority answer on them: its suggestions are shown (DESIGN.md section 15)
    assert eventually(lambda: client.get("/stats").get_json()["suggesting"] == {"source": "online", "labels": 10,
                                                                              "version": None}, timeout=10)
    assert eventually(lambda: client.get("/stats").get_json()["suggestions"]["shown"], timeout=10)
    model, upcoming = service.suggestions.online._model, service.upcoming()
    assert len(upcoming) == 190 and not set(upcoming) & set(service.journal.leased_to_others(""))
    assert eventually(lambda: model.computed(upcoming) == len(upcoming), timeout=10)  # by the worker, ahead
    served = client.get("/batch?size=10").get_json()["items"]
    assert [item["id"] for item in served] == upcoming[:10]
    assert all(item["suggestion"]["source"] == "online" for item in served)


def test_a_process_forked_while_the_online_thread_holds_its_locks_still_suggests(tmp_path):
    """DSS forks a backend process per request when nbProcesses > 1, whatever the online thread is doing."""
    import signal
    import threading
    import time

    frame = pool()
    client, service = make_client(tmp_path, frame, categories=CATEGORIES)
    for item in client.get("/batch?size=10").get_json()["items"]:
        client.post("/label", json={"id": item["id"], "label": truth(frame, item["id"])})
    assert eventually(lambda: client.get("/stats").get_json()["suggesting"]["labels"] == 10, timeout=10)
    model = service.suggestions.online._model
    held, release = threading.Event(), threading.Event()

    def hold():  # as the online thread does for a moment, at the worst moment
        with service.suggestions.online._lock, model._cache_lock, online_model._FITTER_LOCK:
            held.set()
            release.wait()

    threading.Thread(target=hold, daemon=True).start()
    held.wait()
    child = os.fork()
    if child == 0:  # the forked request: it answers, or the alarm ends it with a failure
        signal.alarm(5)
        try:
            status = service.suggestions.online.status()
            model.computed([str(i) for i in range(5)])
            fresh_fitter_lock = online_model._FITTER_LOCK.acquire(timeout=1)
            os._exit(0 if status["source"] == "online" and fresh_fitter_lock else 1)
        except BaseException:  # noqa: BLE001 - any failure is the child's exit code
            os._exit(1)
    release.set()
    deadline = time.monotonic() + 20
    while (done := os.waitpid(child, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    if done == (0, 0):
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    assert done[0] == child and os.waitstatus_to_exitcode(done[1]) == 0
    service.suggestions.online.stop()
    service.journal.close()
