"""Pretrained sentence embeddings as text features (DESIGN.md section 12), with the real all-MiniLM-L6-v2
model from this machine (tests/minilm_files.py; nothing is downloaded). test-compat leaves this file out:
a DSS code env has no torch."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import flask
import numpy as np
import pandas as pd
import pytest
from browser import browser_page, screenshot
from minilm_files import install
from paths import ROOT
from polling import eventually
from servers import LABELLOOP, labelloop_server
from test_cli import run
from test_dss_versions import as_dss
from test_growing_pool import get, post

from labelloop.errors import LabelloopError
from labelloop.learning.embedding_model import Encoder
from labelloop.learning.simulate import PoolEmbeddings, group_space
from labelloop.platform.local import LocalPlatform
from labelloop.standalone.demo import tweets_frame
from labelloop.standalone.embeddings import feature_choice, pool_keys
from labelloop.standalone.project import Project
from labelloop.store.embedding_cache import EmbeddingCache, text_keys

WEBAPPS = ROOT / "webapps"
CAT = "My cat knocked the vase off the kitchen table."
CAT_QUERY = "kitten broke a pot at home"
PARCEL = "My parcel never arrived and nobody answers my emails."
PARCEL_QUERY = "package lost in the post"


@pytest.fixture(scope="module")
def model() -> str:
    return str(install())


def words(text: str) -> set:
    return set(re.findall(r"\w+", text.lower()))


def text_project(tmp_path, model: str, rows: int, extra: list = ()) -> tuple:
    """A text project of ``rows`` tweets (plus ``extra`` texts, ids from 9001) on sentence embeddings."""
    frame = tweets_frame(rows)
    added = pd.DataFrame({"tweet_id": range(9001, 9001 + len(extra)), "text": list(extra)})
    pool = tmp_path / "tweets.csv"
    pd.concat([frame, added], ignore_index=True).to_csv(pool, index=False)
    root = tmp_path / "proj"
    run("init", root, "--data", pool, "--type", "text", "--text-column", "text", "--id-column", "tweet_id",
        "--categories", "negative,positive", "--features", "embeddings", "--embedding-model", model)
    return root, pool


def test_the_cache_keeps_what_was_committed_and_drops_a_killed_writers_tail(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache")
    first = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    keys = text_keys(["a", "b", "c"])
    assert cache.append(keys, first) == 3
    reader = EmbeddingCache(tmp_path / "cache")
    np.testing.assert_array_equal(reader.positions(text_keys(["c", "zz", "a"])), [2, -1, 0])
    np.testing.assert_allclose(reader.vectors(reader.positions(keys)), first, atol=1e-3)

    with open(tmp_path / "cache" / "keys.u64", "ab") as torn:  # a writer killed after writing, before committing
        torn.write(b"\x01" * 13)
    with open(tmp_path / "cache" / "vectors.f16", "ab") as torn:
        torn.write(b"\x02" * 77)
    assert EmbeddingCache(tmp_path / "cache").positions(text_keys(["d"]))[0] == -1  # never read past the commit
    second = np.ones((2, 4), dtype=np.float32)
    assert cache.append(text_keys(["d", "a"]), second) == 4  # "a" is kept as it was
    assert (tmp_path / "cache" / "keys.u64").stat().st_size == 4 * 8
    assert (tmp_path / "cache" / "vectors.f16").stat().st_size == 4 * 4 * 2
    positions = reader.positions(text_keys(["a", "b", "c", "d"]))  # the other reader sees the new row
    np.testing.assert_allclose(reader.vectors(positions), np.vstack([first, second[:1]]), atol=1e-3)


def test_a_served_project_embeds_in_the_background_trains_on_it_and_searches_by_meaning(tmp_path, model):
    root, pool = text_project(tmp_path, model, 120, [CAT])
    pd.DataFrame({"tweet_id": range(1, 31), "label": ["negative", "positive"] * 15}).to_csv(tmp_path / "gold.csv",
                                                                                            index=False)
    run("import", root, "--labels", tmp_path / "gold.csv", "--annotator", "ada")
    assert not words(CAT) & words(CAT_QUERY) and not words(PARCEL) & words(PARCEL_QUERY)
    trained = json.loads(run("train", root, "--json").stdout)["features"]
    assert trained == {"kind": "tfidf", "model": None, "ready": False, "items": 0,  # until every item is embedded
                       "uses": "the text's words and characters (TF-IDF)"}

    with labelloop_server("serve", root, "--retrain-every", "1000", "--watch-pool", "0.2") as url:
        assert eventually(lambda: get(url + "stats")["features"]["ready"], timeout=180)
        assert get(url + "stats")["features"] == {"kind": "embeddings", "model": model, "ready": True, "items": 121,
                                                  "uses": "the text's words and characters (TF-IDF)"}

        found = get(url + "search?" + urllib.parse.urlencode({"q": CAT_QUERY, "mode": "semantic", "size": 3}))
        assert found["items"][0]["id"] == "9001" and found["items"][0]["query"]["strategy"] == "search"
        assert get(url + "search?q=kitten&size=3")["items"] == []  # no word in common: text search finds nothing

        post(url + "train", {})
        assert eventually(lambda: get(url + "stats")["loop"]["rounds"] == 1, timeout=180)
        round_ = get(url + "stats")["loop"]
        assert round_["lastError"] is None
        assert round_["lastRound"]["model"]["features"] == {"kind": "embeddings", "model": model}

        frame = pd.read_csv(pool)
        pd.concat([frame, pd.DataFrame({"tweet_id": [9002], "text": [PARCEL]})]).to_csv(pool, index=False)
        assert eventually(lambda: get(url + "stats")["features"]["items"] == 122, timeout=120)
        found = get(url + "search?" + urllib.parse.urlencode({"q": PARCEL_QUERY, "mode": "semantic", "size": 2}))
        assert found["items"][0]["id"] == "9002"


@pytest.mark.slow  # embeds thousands of texts twice around a SIGKILL: minutes on 2 cores
def test_sigkill_while_embedding_then_the_next_run_resumes_and_the_cache_is_sound(tmp_path, model):
    root, _ = text_project(tmp_path, model, 700)
    choice = feature_choice(Project.open(root))
    embedding = subprocess.Popen([LABELLOOP, "embed", str(root)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def reported() -> int:  # what the embedding said of its progress, after its first chunk's commit
        return json.loads(run("status", root, "--json").stdout)["features"]["items"]

    assert eventually(lambda: reported() >= 512 or embedding.poll() is not None, timeout=300)
    embedding.send_signal(signal.SIGKILL)
    embedding.wait(timeout=30)
    committed = EmbeddingCache(choice.cache).refresh().rows
    assert 512 <= committed <= 700 and reported() >= 512
    assert run("embed", root).stdout.strip() == f"Embedded 700 of 700 items with {model}."

    project = Project.open(root)
    texts, keys, _ = pool_keys(project, choice.columns)
    cache = EmbeddingCache(choice.cache)
    positions = cache.positions(keys)
    assert (positions >= 0).all() and cache.rows == len(keys) and len(set(positions)) == len(keys)
    sample = np.random.default_rng(0).choice(len(keys), size=40, replace=False)
    fresh = Encoder(model).encode(texts[sample].tolist())
    np.testing.assert_allclose(cache.vectors(positions[sample]), fresh, atol=2e-3)  # float16 of the same vectors
    assert json.loads(run("status", root, "--json").stdout)["features"]["ready"] is True


@pytest.mark.slow  # a simulation: two feature sets over several rounds
def test_simulate_compares_tfidf_and_embeddings_on_the_same_runs(tmp_path, model):
    frame = tweets_frame(300)
    frame["sentiment"] = np.where(frame["text"].str.contains("thank|great|love", case=False), "positive", "other")
    frame.to_csv(tmp_path / "tweets.csv", index=False)
    found = json.loads(run("simulate", "--data", tmp_path / "tweets.csv", "--label-column", "sentiment",
                           "--text-column", "text", "--strategy", "margin,random", "--seeds", "1", "--max-labels", "60",
                           "--features", "tfidf,embeddings", "--embedding-model", model, "--out", tmp_path / "out",
                           "--json").stdout)
    assert sorted(found["strategies"]) == ["margin+clue@embeddings", "margin+clue@tfidf", "random@embeddings", "random@tfidf"]
    assert sorted(found["full_accuracy_by_features"]) == ["embeddings", "tfidf"]
    assert found["full_accuracy"] == max(found["full_accuracy_by_features"].values())
    assert list((tmp_path / "out" / "embeddings").iterdir())  # the pool's vectors, kept for the next simulation


def test_simulate_groups_draw_look_alikes_from_the_sentence_vectors(tmp_path, model):
    """With embeddings, a group is the queried tweet's nearest in meaning, as /similar's: the
    space is the sentence vectors alone (384 numbers), not the model's TF-IDF beside them."""
    frame = tweets_frame(300)
    frame["sentiment"] = np.where(frame["text"].str.contains("thank|great|love", case=False), "positive", "other")
    frame.to_csv(tmp_path / "tweets.csv", index=False)
    found = json.loads(run("simulate", "--data", tmp_path / "tweets.csv", "--label-column", "sentiment",
                           "--text-column", "text", "--strategy", "margin", "--seeds", "1", "--max-labels", "100",
                           "--features", "embeddings", "--embedding-model", model, "--groups", "--out", tmp_path / "out",
                           "--json").stdout)
    grouped = next(r for r in found["runs"] if r["strategy"] == "margin+clue+groups")
    assert grouped["curve"][-1][0] == 100 and grouped["actions"][-1] < 100  # several labels per action
    embeddings = PoolEmbeddings(model, model, str(tmp_path / "cache"), "text")
    space = group_space(frame.drop(columns="sentiment"), None, embeddings)
    assert space.shape == (300, 384)
    np.testing.assert_allclose(space[:5], Encoder(model).encode(frame["text"][:5].tolist()), atol=2e-3)


def test_in_the_page_search_by_meaning_finds_a_paraphrase_and_labels_it(tmp_path, model):
    root, _ = text_project(tmp_path, model, 60, [CAT])
    with labelloop_server("serve", root, "--retrain-every", "0") as url, browser_page() as page:
        page.goto(url)
        page.wait_for_selector(".text-item")
        page.wait_for_function("() => document.querySelector('.model-panel').textContent.includes('every item embedded')",
                               timeout=180_000)
        page.get_by_role("searchbox", name="Search items").fill(CAT_QUERY)
        page.get_by_label("By meaning").check()
        page.get_by_role("button", name="Search").click()
        page.wait_for_function("() => document.querySelector('.text-body').textContent.includes('kitchen table')")
        assert page.locator(".reason").inner_text() == f"Search result for “{CAT_QUERY}”."
        assert "(TF-IDF), and sentence embeddings of" in page.locator(".model-panel").inner_text()
        screenshot(page, "search-by-meaning")
        page.keyboard.press("2")
        page.wait_for_function("() => !document.querySelector('.text-body').textContent.includes('kitchen table')")
    meta = Project.open(root).platform.read_dataset("metadata")
    found = meta[meta["data_id"].astype(str) == "9001"]
    assert found[["label", "strategy"]].values.tolist() == [["positive", "search"]]


def dss_webapp(dss, tmp_path, pool: pd.DataFrame, llm_id: str, data_type: str = "text") -> tuple:
    """The DSS labeling webapp's real backend over ``pool``, searching by meaning with ``llm_id``: (client, a login)."""
    dss.add_dataset("tweets", pool)
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    config = {"unlabeled": "tweets", "id_column": "tweet_id", "labels_ds": "labels", "metadata_ds": "metadata",
              "categories": [{"from": "negative"}, {"from": "positive"}],
              "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}"), "embedding_llm": llm_id,
              "audit_share": 0.0,  # every item shows its suggestion: these tests read what the embeddings teach
              **({"text_column": "text"} if data_type == "text" else {})}
    app = flask.Flask("backend")
    dss.run(WEBAPPS / f"{data_type}-labeling", config, init_globals={"app": app})
    return app.test_client(use_cookies=False), dss.login("alice")


def test_a_dss_text_webapp_searches_by_meaning_with_an_llm_mesh_embedding_model(dss, tmp_path, model):
    frame = tweets_frame(80)
    dss.add_embedding_llm("custom:local:minilm", model)  # the Mesh answers with the real MiniLM vectors
    pool = pd.concat([frame, pd.DataFrame({"tweet_id": [9001], "text": [CAT]})], ignore_index=True)
    client, alice = dss_webapp(dss, tmp_path, pool, "custom:local:minilm")
    assert eventually(lambda: client.get("/stats", headers=alice).get_json()["features"]["ready"], timeout=120)
    assert client.get("/stats", headers=alice).get_json()["features"] == {
        "kind": "embeddings", "model": "custom:local:minilm", "ready": True, "items": 81}
    found = client.get("/search", query_string={"q": CAT_QUERY, "mode": "semantic", "size": 3}, headers=alice).get_json()
    assert found["items"][0]["id"] == "9001"
    assert len(found["items"]) == 3 and found["matched"] == {"count": 81, "complete": True}  # every item ranked
    assert client.post("/label", json={"id": "9001", "label": "positive"}, headers=alice).status_code == 200


def test_a_dss_webapp_with_an_unknown_mesh_model_labels_on_and_says_why_search_by_meaning_waits(dss, tmp_path):
    client, alice = dss_webapp(dss, tmp_path, tweets_frame(20), "openai:gone:nothing")
    assert eventually(lambda: "error" in client.get("/stats", headers=alice).get_json()["features"])
    features = client.get("/stats", headers=alice).get_json()["features"]
    assert features["error"] == "Embedding through the LLM Mesh failed: LLM not found: openai:gone:nothing"
    found = client.get("/search", query_string={"q": "late flight", "mode": "semantic"}, headers=alice)
    assert found.status_code == 400 and "none is ready yet" in found.get_json()["error"]
    item = client.get("/batch?size=1", headers=alice).get_json()["items"][0]
    assert client.post("/label", json={"id": item["id"], "label": "negative"}, headers=alice).status_code == 200


PRAISE = ["I love this airline, the crew was wonderful.", "Great service and friendly staff, thank you!",
          "Best flight of my life, amazing comfort.", "Delighted with the upgrade, truly excellent.",
          "What a pleasant journey, very happy.", "Brilliant pilots and a smooth landing, awesome."]
COMPLAINTS = ["Worst airline ever, rude staff.", "My luggage was lost and nobody cared.",
              "Terrible delay, four hours stuck at the gate.", "Awful food and dirty seats, disgusting.",
              "They cancelled my flight without any refund.", "Horrible customer service, I am furious."]
PROBES = {"probe-good": ("Fantastic trip, superb cabin attendants, so grateful.", "positive"),
          "probe-bad": ("Miserable experience, bags vanished, angry passengers everywhere.", "negative")}


def test_a_dss_webapp_s_online_suggestions_learn_on_the_mesh_embeddings_once_every_text_is_embedded(dss, tmp_path,
                                                                                                     model):
    taught = {f"t{n}": (text, "positive") for n, text in enumerate(PRAISE)}
    taught.update({f"t{n + 6}": (text, "negative") for n, text in enumerate(COMPLAINTS)})
    assert not set().union(*(words(t) for t, _ in PROBES.values())) & set().union(*(words(t) for t, _ in taught.values()))
    items = {**taught, **PROBES}
    pool = pd.DataFrame({"tweet_id": list(items), "text": [text for text, _ in items.values()]})
    dss.add_embedding_llm("custom:local:minilm", model)
    client, alice = dss_webapp(dss, tmp_path, pool, "custom:local:minilm")
    assert eventually(lambda: client.get("/stats", headers=alice).get_json()["features"]["ready"], timeout=120)
    served = client.get("/batch?size=14", headers=alice).get_json()["items"]
    for item in served:
        if item["id"] in taught:
            assert client.post("/label", json={"id": item["id"], "label": taught[item["id"]][1]},
                               headers=alice).status_code == 200
    assert eventually(lambda: client.get("/stats", headers=alice).get_json()["suggesting"]["labels"] == 12, timeout=60)
    # The probes share no word with what was taught: hashed words would see them as alike and
    # suggest one category for both; the Mesh's sentence embeddings tell them apart.
    suggested = {item["id"]: item["suggestion"] for item in client.get("/batch?size=14", headers=alice).get_json()["items"]}
    assert set(suggested) == set(PROBES)
    for item_id, (_, truth) in PROBES.items():
        assert suggested[item_id]["source"] == "online" and suggested[item_id]["label"] == truth


def test_a_dss_tabular_webapp_searches_its_free_text_column_by_meaning(dss, tmp_path, model):
    frame = tweets_frame(60).assign(retweets=lambda f: f["tweet_id"] % 7, airline=lambda f: f["tweet_id"] % 3)
    dss.add_embedding_llm("custom:local:minilm", model)
    pool = pd.concat([frame, pd.DataFrame({"tweet_id": [9001], "text": [PARCEL], "retweets": [2], "airline": [1]})],
                     ignore_index=True)
    client, alice = dss_webapp(dss, tmp_path, pool, "custom:local:minilm", "tabular")
    assert eventually(lambda: client.get("/stats", headers=alice).get_json()["features"]["ready"], timeout=120)
    found = client.get("/search", query_string={"q": PARCEL_QUERY, "mode": "semantic", "size": 3}, headers=alice)
    assert words(PARCEL) & words(PARCEL_QUERY) == set()
    assert found.get_json()["items"][0]["id"] == "9001"


def test_a_dss_tabular_webapp_s_online_model_still_learns_from_the_columns_beside_the_mesh_embeddings(dss, tmp_path,
                                                                                                       model):
    frame = tweets_frame(80)
    frame["airline"] = np.where(np.random.default_rng(3).random(len(frame)) < 0.5, "alpha", "beta")
    truth = dict(zip(frame["tweet_id"].astype(str), np.where(frame["airline"] == "alpha", "negative", "positive")))
    dss.add_embedding_llm("custom:local:minilm", model)
    client, alice = dss_webapp(dss, tmp_path, frame, "custom:local:minilm", "tabular")
    assert eventually(lambda: client.get("/stats", headers=alice).get_json()["features"]["ready"], timeout=120)
    for item in client.get("/batch?size=40", headers=alice).get_json()["items"]:
        client.post("/label", json={"id": item["id"], "label": truth[item["id"]]}, headers=alice)
    assert eventually(lambda: client.get("/stats", headers=alice).get_json()["suggesting"]["labels"] == 40, timeout=60)
    assert eventually(lambda: client.get("/stats", headers=alice).get_json()["suggestions"]["shown"], timeout=60)
    # the label follows the airline, not the text: the online model must keep the row's other columns
    rest = client.get("/batch?size=40", headers=alice).get_json()["items"]
    assert len(rest) == 40 and all(item["suggestion"]["source"] == "online" for item in rest)
    assert sum(item["suggestion"]["label"] == truth[item["id"]] for item in rest) >= 36


def test_a_dss_tabular_webapp_without_free_text_refuses_an_embedding_model_in_one_sentence(dss, tmp_path):
    numbers = pd.DataFrame({"tweet_id": range(30), "retweets": range(30), "airline": ["a", "b", "c"] * 10})
    with pytest.raises(LabelloopError, match=r"^The dataset has no free-text column .* leave the embedding model empty\.$"):
        dss_webapp(dss, tmp_path, numbers, "custom:local:minilm", "tabular")


def test_a_tabular_project_embeds_its_free_text_column_and_samples_with_it(tmp_path, model):
    frame = tweets_frame(150).assign(retweets=lambda f: f["tweet_id"] % 7, airline=lambda f: f["tweet_id"] % 3)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    root = tmp_path / "proj"
    run("init", root, "--data", tmp_path / "rows.csv", "--type", "tabular", "--id-column", "tweet_id",
        "--categories", "negative,positive", "--features", "embeddings", "--embedding-model", model)
    assert feature_choice(Project.open(root)).columns == ("text",)  # the free text; numbers stay as they are
    pd.DataFrame({"tweet_id": range(1, 41), "label": ["negative", "positive"] * 20}).to_csv(tmp_path / "gold.csv",
                                                                                            index=False)
    run("import", root, "--labels", tmp_path / "gold.csv", "--annotator", "ada")
    assert json.loads(run("embed", root, "--json").stdout)["items"] == 150
    trained = json.loads(run("train", root, "--json").stdout)["features"]
    assert trained == {"kind": "embeddings", "model": model, "ready": True, "items": 150,
                       "uses": "2 numeric column(s), the words of text (TF-IDF)"}
    sampled = json.loads(run("sample", root, "--json", "--max-queries", "20").stdout)
    assert sampled["queries"] == 20 and sampled["scored"] == 110


@pytest.mark.slow
def test_llm_mesh_embeddings_work_with_and_without_text_overflow_mode(dss_any, model):
    """DSS 12.6's ``new_embeddings()`` takes no argument, 13's takes ``text_overflow_mode``."""
    dss_any.add_embedding_llm("custom:local:minilm", model)
    texts = ["the flight was late", "a parcel arrived", "the plane was delayed"]
    vectors = as_dss(dss_any, lambda platform: platform.embed_texts("custom:local:minilm", texts))
    assert vectors.shape[0] == 3 and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]


def test_llm_mesh_embeddings_are_part_of_the_port_and_refused_in_one_sentence_outside_dss(tmp_path):
    """The port asks every platform; only DSS has an LLM Mesh, the local one says what to do instead."""
    with pytest.raises(LabelloopError, match=r"^The embedding model 'custom:local:minilm' is an LLM Mesh model, "
                                             r"which only DSS has: .*--embedding-model`\.$"):
        LocalPlatform(tmp_path).embed_texts("custom:local:minilm", ["the flight was late"])


def test_simulate_on_a_table_without_text_keeps_its_columns_when_auto_finds_the_model(tmp_path, model, monkeypatch):
    """``--features auto`` takes embeddings because the model is here; data with no text to embed
    is simulated on its own columns instead of stopping with 'Embeddings are text features'."""
    from sklearn.datasets import load_wine

    load_wine(as_frame=True).frame.to_csv(tmp_path / "wine.csv", index=False)
    monkeypatch.setenv("LABELLOOP_MODELS", str(Path(model).parent))
    found = json.loads(run("simulate", "--data", tmp_path / "wine.csv", "--label-column", "target", "--strategy",
                           "margin", "--seeds", "1", "--max-labels", "60", "--out", tmp_path / "out", "--json").stdout)
    assert {run_["strategy"] for run_ in found["runs"]} == {"margin+clue"}
    assert found["runs"][0]["curve"][-1][0] == 60
