"""The active-learning loop end to end: a served project retrains and re-ranks itself as labels come in."""
from __future__ import annotations

import threading

import pandas as pd
from annotators import call
from polling import eventually
from servers import labelloop_server
from sklearn.datasets import load_wine
from test_cli import run

CULTIVARS = ["c0", "c1", "c2"]


def wine_project(tmp_path):
    """The wine data without its target, and the oracle: wine_id -> true cultivar."""
    frame = load_wine(as_frame=True).frame
    frame.insert(0, "wine_id", range(1, len(frame) + 1))
    frame.drop(columns="target").to_csv(tmp_path / "wine.csv", index=False)
    run("init", tmp_path / "proj", "--data", tmp_path / "wine.csv", "--type", "tabular",
        "--categories", ",".join(CULTIVARS), "--id-column", "wine_id")
    return tmp_path / "proj", {str(i): CULTIVARS[t] for i, t in zip(frame["wine_id"], frame["target"])}


def label_batch(url, truth, size):
    """Label ``size`` items with their true cultivar; returns the items served."""
    _, batch = call(url, f"batch?size={size}")
    for item in batch["items"]:
        status, _ = call(url, "label", {"id": item["id"], "label": truth[item["id"]]})
        assert status == 200
    return batch["items"]


def test_labels_retrain_the_model_and_the_next_session_is_served_without_a_restart(tmp_path):
    project, truth = wine_project(tmp_path)
    with labelloop_server("serve", project, "--retrain-every", "12") as url:
        assert call(url, "config")[1]["session"] == 0
        first = label_batch(url, truth, 11)
        assert all(item["query"] is None for item in first)
        _, stats = call(url, "stats")
        assert stats["modelVersions"] == [] and stats["loop"]["rounds"] == 0  # 11 < 12: not yet

        label_batch(url, truth, 1)  # the 12th label fires the rule
        # labeling goes on while the model trains in its own process
        during = []

        def keep_labeling():
            while len(during) < 15:
                during.extend(label_batch(url, truth, 1))

        worker = threading.Thread(target=keep_labeling)
        worker.start()
        assert eventually(lambda: call(url, "config")[1]["session"] == 1, timeout=120)
        worker.join(timeout=60)
        assert len(during) >= 15

        # the sampler's new session can show before the round's result reaches the server
        assert eventually(lambda: call(url, "stats")[1]["loop"]["rounds"] == 1, timeout=30)
        _, stats = call(url, "stats")
        assert stats["modelVersions"] == ["v0001"]
        assert stats["loop"]["rounds"] == 1 and stats["loop"]["lastError"] is None
        model = stats["loop"]["lastRound"]["model"]
        assert model["labels"] >= 12 and sorted(model["classes"]) == sorted(set(model["perLabel"]))
        assert stats["stopping"]["canStop"] is False and "Keep labeling" in stats["stopping"]["message"]

        # the new session's queries come first, most uncertain first, stamped with the model
        items = label_batch(url, truth, 5)
        queries = [item["query"] for item in items]
        assert all(q is not None and q["session"] == 1 and q["modelVersion"] == "v0001" for q in queries)
        margins = [q["uncertainty"] for q in queries if q["strategy"] == "margin"]
        assert margins == sorted(margins, reverse=True)

        # "train now" runs a round at once; the metrics then compare two versions
        status, answer = call(url, "train", {})
        assert status == 202 and answer["running"] is True  # the page polls while running: no gap to miss
        assert call(url, "stats")[1]["loop"]["running"] is True
        # the answer that first says the round is over already shows its model: the page stops polling on it
        over = []
        assert eventually(lambda: over.append(call(url, "stats")[1]) or not over[-1]["loop"]["running"], timeout=120)
        assert over[-1]["modelVersions"] == ["v0001", "v0002"] and over[-1]["loop"]["rounds"] == 2
        latest = over[-1]["stopping"]["metrics"][-1]
        assert latest["version"] == "v0002" and latest["previous"] == "v0001"
        assert 0 <= latest["contradictionRate"] <= 1 and latest["compared"] > 100
    meta = pd.read_parquet(project / "datasets" / "metadata.parquet")
    assert len(meta) == meta["data_id"].nunique() >= 12 + 15 + 5
    assert (meta["label"] == meta["data_id"].map(truth)).all()


def test_a_failed_training_is_shown_and_labeling_goes_on(tmp_path):
    project, truth = wine_project(tmp_path)
    with labelloop_server("serve", project, "--retrain-every", "3") as url:
        _, batch = call(url, "batch?size=3")
        for item in batch["items"]:
            assert call(url, "label", {"id": item["id"], "label": "c0"})[0] == 200  # one class only
        assert eventually(lambda: call(url, "stats")[1]["loop"]["lastError"] is not None, timeout=60)
        _, stats = call(url, "stats")
        assert "at least two categories" in stats["loop"]["lastError"]
        assert stats["modelVersions"] == [] and call(url, "config")[1]["session"] == 0
        _, batch = call(url, "batch?size=2")  # labeling is not blocked by the failure
        for item in batch["items"]:
            assert call(url, "label", {"id": item["id"], "label": "c1"})[0] == 200
        call(url, "train", {})  # asked again, with two classes now, it trains
        assert eventually(lambda: call(url, "stats")[1]["modelVersions"] == ["v0001"], timeout=120)
        assert eventually(lambda: call(url, "stats")[1]["loop"]["lastError"] is None, timeout=10)


def test_a_round_whose_result_arrives_just_after_a_poll_is_not_called_failed():
    """The child sends its result and exits between the parent's poll timing out and its check."""
    import multiprocessing

    from labelloop.standalone.loop import _outcome

    receiver, sender = multiprocessing.Pipe(duplex=False)
    sender.send(("ok", {"model": {"version": "v0002"}}))

    class PollThatJustMissed:
        """The pipe, except that its first poll timed out a moment before the result came."""

        missed = False

        def poll(self, timeout):
            if not self.missed:
                self.missed = True
                return False
            return receiver.poll(timeout)

        def recv(self):
            return receiver.recv()

    class Ended:
        exitcode = 0

        def is_alive(self):
            return False

    assert _outcome(Ended(), PollThatJustMissed(), threading.Event()) == ("ok", {"model": {"version": "v0002"}})
