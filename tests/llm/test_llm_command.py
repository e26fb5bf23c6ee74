"""``labelloop llm`` against a stand-in OpenAI-compatible server (tests/llm_server.py), run as a user runs it."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest
from llm_projects import CATEGORIES, tweets_project
from llm_server import LlmServer
from test_cli import LABELLOOP, run

ACCURACY = {"negative": 0.9, "neutral": 0.6, "positive": 0.75}


@pytest.fixture
def llm(request):
    servers = []

    def start(truth, **options):
        servers.append(LlmServer(truth, **options).start())
        return servers[-1]
    yield start
    for server in servers:
        server.stop()


def llm_flags(server) -> list:
    return ["--llm-url", server.url, "--llm-model", "tiny-test", "--llm-task", "Label the tweet's sentiment."]


def answers_in(project) -> list:
    """``(item_id, answer, prompt_version)`` rows of the project's journal, read as another program would."""
    conn = sqlite3.connect(project / "journal.sqlite")
    try:
        return conn.execute("SELECT item_id, answer, prompt_version FROM llm_answers ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # no such table: the run has not opened the answers yet
        return []
    finally:
        conn.close()


def test_a_dry_run_counts_the_items_and_estimates_the_tokens_without_sending_anything(tmp_path, llm):
    project, truth = tweets_project(tmp_path, 200, 30)
    server = llm(truth)
    found = json.loads(run("llm", project, *llm_flags(server), "--dry-run", "--json").stdout)
    assert found["items"] == 200 and server.requests == []
    assert found["tokens"] == found["prompt_tokens"] + found["answer_tokens"]
    texts = sum(len(text) for text in truth)
    assert texts / 4 < found["prompt_tokens"]  # every text, plus the instructions and the examples each time
    assert json.loads(run("llm", project, "--sample", "50", "--dry-run", "--json").stdout)["items"] == 50
    settings = json.loads((project / "labelloop.json").read_text())
    assert (settings["llm_url"], settings["llm_model"]) == (server.url, "tiny-test")


def test_the_accuracy_measured_on_human_labels_is_near_the_llm_s_own(tmp_path, llm, monkeypatch):
    project, truth = tweets_project(tmp_path, 600, 450)
    server = llm(truth, accuracy=ACCURACY)
    monkeypatch.setenv("LABELLOOP_LLM_API_KEY", "sk-test-123")
    found = json.loads(run("llm", project, *llm_flags(server), "--json").stdout)
    assert (found["answered"], found["abstained"], found["errors"]) == (600, 0, 0)
    assert found["gold"] == 450 - 10 * len(CATEGORIES)  # nor the items the prompt may take as examples
    for key, accuracy in ACCURACY.items():
        # within three standard errors of a share over the ~90 to ~180 items of a category
        assert found["categories"][key]["accuracy"] == pytest.approx(accuracy, abs=0.12)
        assert found["categories"][key]["coverage"] == 1.0
    assert sum(found["categories"][k]["gold"] for k in CATEGORIES) == found["gold"]
    authorization, body = server.requests[0]
    assert authorization == "Bearer sk-test-123" and body["response_format"] == {"type": "json_object"}
    assert "Label the tweet's sentiment." in body["messages"][0]["content"]
    assert [m["role"] for m in body["messages"]][-3:] == ["user", "assistant", "user"]  # examples as earlier turns
    again = json.loads(run("llm", project, "--json").stdout)  # nothing left to ask: the answers are cached
    assert len(server.requests) == 600 and again["prompt_version"] == found["prompt_version"]
    assert {(r[0], r[2]) for r in answers_in(project)} == {(r[0], found["prompt_version"]) for r in answers_in(project)}


def test_off_list_and_unparseable_answers_abstain_and_are_counted(tmp_path, llm):
    project, truth = tweets_project(tmp_path, 300, 100)
    server = llm(truth, off_list=0.1, garbled=0.1, refuse_response_format=True)
    found = json.loads(run("llm", project, *llm_flags(server), "--json").stdout)
    assert found["answered"] + found["abstained"] == 300 and 30 < found["abstained"] < 90
    recorded = answers_in(project)
    assert sum(answer is None for _, answer, _ in recorded) == found["abstained"]
    assert {answer for _, answer, _ in recorded} <= {None, *CATEGORIES}
    assert found["accuracy"] == 1.0  # abstentions lower the coverage, not the accuracy
    assert 0.6 < min(found["categories"][k]["coverage"] for k in CATEGORIES) < 1.0
    assert "response_format" not in server.requests[-1][1]  # refused once, then left out


def test_a_failing_endpoint_ends_the_run_in_one_sentence_and_a_rerun_resumes(tmp_path, llm):
    """429s and truncated replies are retried; an HTML page then a hang end the run; its answers stay;
    a rerun asks only for the rest."""
    project, truth = tweets_project(tmp_path, 150, 40)
    failing = llm(truth, phases=[("ok", 30), ("429", 3), ("ok", 10), ("truncated", 2), ("ok", 10), ("html", 4),
                                 ("hang", None)])
    result = run("llm", project, *llm_flags(failing), "--timeout", "1", "--concurrency", "2", ok=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "did not answer within 1 s" in result.stderr
    kept = answers_in(project)
    assert len(kept) >= 50 and len({item for item, _, _ in kept}) == len(kept)

    working = llm(truth)
    found = json.loads(run("llm", project, "--llm-url", working.url, "--json").stdout)
    assert len(working.requests) == 150 - len(kept) and found["answered"] == 150


def test_a_run_killed_with_sigkill_keeps_its_answers_and_a_rerun_asks_only_the_rest(tmp_path, llm):
    project, truth = tweets_project(tmp_path, 200, 40)
    slow = llm(truth, latency=0.05)
    process = subprocess.Popen([LABELLOOP, "llm", str(project), *llm_flags(slow), "--concurrency", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ)
    deadline = time.monotonic() + 60
    while len(answers_in(project)) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    kept = len(answers_in(project))
    assert 40 <= kept < 200

    working = llm(truth)
    found = json.loads(run("llm", project, "--llm-url", working.url, "--json").stdout)
    assert len(working.requests) == 200 - kept
    assert (found["answered"], found["errors"]) == (200, 0) and len(answers_in(project)) == 200


def test_mistakes_are_refused_in_one_sentence_and_nothing_is_recorded(tmp_path, llm):
    project, truth = tweets_project(tmp_path, 50, 10)
    before = (project / "labelloop.json").read_text()
    cases = [
        (["--json"], "has no LLM yet"),
        (["--llm-url", "ftp://example.org", "--llm-model", "m"], "is not an http(s) URL"),
        (["--llm-url", "http://user:sk-1@127.0.0.1/v1", "--llm-model", "m"], "must not hold credentials"),
        (["--llm-url", "http://127.0.0.1/v1?api-key=sk-1", "--llm-model", "m"], "must not hold credentials or a query"),
        (["--llm-key-env", "sk-abc-123"], "not the key"),
        (["--llm-url", "http://127.0.0.1:9/v1", "--llm-model", "m", "--sample", "0"], "is not a whole number of 1"),
    ]
    for flags, said in cases:
        result = run("llm", project, *flags, ok=False)
        *usage, last = result.stderr.strip().splitlines()  # argparse's refusals come after the usage, as for every flag
        assert result.returncode == 2 and said in last and all("usage" in u or u.startswith(" ") for u in usage), usage
    assert (project / "labelloop.json").read_text() == before
    refused = llm(truth, phases=[("401", None)])
    result = run("llm", project, "--llm-url", refused.url, "--llm-model", "m", ok=False)
    assert result.returncode == 2 and "HTTP 401" in result.stderr
    assert len(refused.requests) <= 8  # at most the items already handed to the 4 threads: nothing more is sent
    assert answers_in(project) == []
    refused = run("init", tmp_path / "multi", "--data", tmp_path / "tweets.csv", "--type", "text", "--text-column",
                  "text", "--categories", "a,b", "--multi-label", "--llm-url", "http://127.0.0.1/v1", ok=False)
    assert refused.returncode == 2 and "single-label projects" in refused.stderr
    assert not (tmp_path / "multi" / "labelloop.json").exists()
