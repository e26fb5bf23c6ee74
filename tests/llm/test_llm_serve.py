"""An LLM beside ``labelloop serve``: labeling goes on whatever the endpoint does, and its key stays out of
everything the project writes and the page reads."""
from __future__ import annotations

import socket
import time

from annotators import call
from llm_projects import tweets_project
from llm_server import LlmServer
from servers import labelloop_server
from test_cli import run
from test_llm_command import answers_in

KEY = "sk-live-0123456789abcdef-secret"


def stats_when(url: str, ready, seconds: float = 60) -> dict:
    """``/stats`` once ``ready(stats)`` holds (or the last one, after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while True:
        stats = call(url, "/stats")[1]
        if ready(stats) or time.monotonic() > deadline:
            return stats
        time.sleep(0.2)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_endpoint_that_is_down_is_named_in_stats_and_labeling_goes_on(tmp_path):
    project, _ = tweets_project(tmp_path, 60, 10)
    down = f"http://127.0.0.1:{closed_port()}/v1"
    with labelloop_server("serve", project, "--user", "ada", "--llm-url", down, "--llm-model", "tiny") as url:
        stats = stats_when(url, lambda s: s["llm"]["problem"])
        problem = stats["llm"]["problem"]
        assert "cannot be reached" in problem and problem.endswith(".") and "\n" not in problem
        items = [item["id"] for item in call(url, "/batch?size=3")[1]["items"]]
        for item in items:
            assert call(url, "/label", {"id": item, "label": "neutral"})[0] == 200
        assert call(url, "/stats")[1]["labeled"] == 13 and stats["llm"]["answers"] == 0


def test_the_key_is_in_nothing_the_project_writes_nor_in_what_the_page_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELLOOP_LLM_API_KEY", KEY)
    server = LlmServer({}).start()
    try:
        flags = ["--llm-url", server.url, "--llm-model", "tiny", "--llm-task", "Sentiment."]
        project, truth = tweets_project(tmp_path, 80, 20, *flags)
        server.truth = truth
        outputs = [run("llm", project, "--sample", "5", "--json")]
        with labelloop_server("serve", project, "--user", "ada", *flags) as url:
            page = [call(url, path)[1] for path in ("/config", "/batch?size=5")]
            served = {item["id"] for item in page[1]["items"]}
            stats_when(url, lambda s: served <= {item for item, _, _ in answers_in(project)})
            stats = call(url, "/stats")[1]  # read after the answers were seen in the journal
            assert stats["llm"]["problem"] is None and stats["llm"]["answers"] > 5  # serve answered the items served next
            page.append(stats)
            call(url, "/label", {"id": page[1]["items"][0]["id"], "label": "positive"})
        outputs.append(run("export", project, "--format", "csv"))
    finally:
        server.stop()
    assert {auth for auth, _ in server.requests} == {f"Bearer {KEY}"}  # the key was used, and sent only there
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.name == "journal.sqlite" for path in written) and any(path.suffix == ".csv" for path in written)
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path
    for text in [repr(page), *(o.stdout + o.stderr for o in outputs)]:
        assert KEY not in text
