"""The LLM's answers as suggestions marked as its own: held back until they beat the majority answer on
human labels, never on the audit slice, and their pull on annotators measured apart from the model's."""
from __future__ import annotations

import json
from collections import Counter

import pytest
from annotators import call
from browser import browser_page, open_view, screenshot
from llm_projects import CATEGORIES, tweets_project
from llm_server import LlmServer
from servers import labelloop_server
from sklearn.metrics import cohen_kappa_score
from test_cli import run
from test_llm_serve import stats_when

from labelloop.standalone.demo import tweets_frame
from labelloop.standalone.project import Project
from labelloop.store.llm_answers import LlmAnswers

ACCURACY = {"negative": 0.8, "neutral": 0.7, "positive": 0.7}
SERVE = ("--user", "ada", "--suggestions", "version", "--retrain-every", "0")  # no model: the LLM suggests


def llm_project(tmp_path, server: LlmServer):
    """A tweets project, 60 of 160 labeled, every tweet answered by the stand-in LLM, a third in the audit slice."""
    project, truth = tweets_project(tmp_path, 160, 60, "--llm-url", server.url, "--llm-model", "tiny",
                                    "--audit-share", "0.3")
    server.truth = truth
    run("llm", project, "--json")
    opened = Project.open(project)
    answers = LlmAnswers(opened.journal).latest()
    opened.close()
    return project, answers


def measured_gold(project) -> dict:
    """``{item: final label}`` of the labeled items the LLM is measured on: each category's first ten
    labels are left out (the prompt takes its examples among them)."""
    opened = Project.open(project)
    frame = opened.journal.current_frame()
    opened.close()
    seen, gold = Counter(), {}
    for item, label in zip(frame["item_id"], frame["label"]):
        seen[label] += 1
        if seen[label] > 10:
            gold[item] = label
    return gold


def test_served_items_carry_the_llm_s_answer_but_in_the_audit_slice_and_its_pull_is_measured(tmp_path):
    server = LlmServer({}, accuracy=ACCURACY).start()
    try:
        project, answers = llm_project(tmp_path, server)
        with labelloop_server("serve", project, *SERVE) as url:
            verdict = stats_when(url, lambda s: s["llm"]["suggestions"]["shown"])["llm"]["suggestions"]
            gold = measured_gold(project)
            assert verdict["method"] == "human labels" and verdict["heldOut"] == len(gold) == 60 - 30
            assert verdict["accuracy"] > verdict["majority"]
            expected = {"items": len(gold), "accuracy": round(sum(answers[i] == t for i, t in gold.items()) / len(gold), 6),
                        "kappa": round(cohen_kappa_score([answers[i] for i in gold], list(gold.values())), 6)}
            agreement = call(url, "/stats")[1]["llm"]["agreement"]
            assert {k: agreement[k] for k in expected} == pytest.approx(expected)
            voter = call(url, "/rules")[1]["llm"]  # the Rules panel lists the LLM, measured as a rule
            assert voter["name"] == "llm:tiny" and voter["gold"] == len(gold) and voter["coverage"] == 1.0
            for category in CATEGORIES:
                said = [i for i in gold if answers[i] == category]
                found = voter["categories"][category]
                assert found["gold"] == len(said)
                assert found["accuracy"] == pytest.approx(sum(gold[i] == category for i in said) / len(said))
            items = call(url, "/batch?size=40")[1]["items"]
            shown = [item for item in items if item["suggestion"] is not None]
            audited = [item for item in items if item["suggestion"] is None]
            assert shown and audited  # a third of the items, drawn at random, go without
            for item in shown:
                assert item["suggestion"] == {"label": answers[item["id"]], "probabilities": {}, "source": "llm"}
                call(url, "/label", {"id": item["id"], "label": item["suggestion"]["label"]})  # ada follows it
            for item in audited:
                call(url, "/label", {"id": item["id"], "label": CATEGORIES[0]})
            pull = call(url, "/stats")[1]["suggestionPull"]
    finally:
        server.stop()
    hidden_agree = sum(answers[item["id"]] == CATEGORIES[0] for item in audited) / len(audited)
    by_llm = {"withSuggestion": {"agree": 1.0, "items": len(shown)},
              "audited": {"agree": round(hidden_agree, 6), "items": len(audited)}}
    assert pull["bySource"] == {"llm": by_llm}
    quality = json.loads(run("quality", project, "--json").stdout)
    assert quality["suggestionPull"]["bySource"] == {"llm": by_llm}
    assert quality["llm"]["model"] == "tiny" and quality["llm"]["agreement"]["items"] == 30 + len(items)  # now labeled too
    text = run("quality", project).stdout
    assert "suggested by the llm" in text and "The LLM (tiny) with the final labels: accuracy" in text
    metadata = Project.open(project).platform.read_dataset("metadata").set_index("data_id")
    served = metadata.loc[[item["id"] for item in items]]
    assert set(served["suggested_by"]) == {"llm"} and served["audited"].sum() == len(audited)


def test_an_llm_no_better_than_the_majority_answer_suggests_nothing_and_stats_says_why(tmp_path):
    server = LlmServer({}, accuracy={"negative": 0.0, "neutral": 0.0, "positive": 0.0}).start()
    try:
        project, _ = llm_project(tmp_path, server)
        with labelloop_server("serve", project, *SERVE) as url:
            verdict = stats_when(url, lambda s: s["llm"]["suggestions"]["reason"] != "No LLM suggestions yet: its "
                                 "answers have not been compared with human labels.")["llm"]["suggestions"]
            assert verdict["shown"] is False and "the LLM is right 0% of the time" in verdict["reason"]
            assert all(item["suggestion"] is None for item in call(url, "/batch?size=20")[1]["items"])
    finally:
        server.stop()


def test_the_page_shows_the_llm_s_suggestion_marked_as_the_llm_s(tmp_path):
    server = LlmServer({}, accuracy=ACCURACY).start()
    try:
        project, answers = llm_project(tmp_path, server)
        texts = dict(zip(tweets_frame(160)["tweet_id"].astype(str), tweets_frame(160)["text"].astype(str)))
        with labelloop_server("serve", project, *SERVE) as url, browser_page(1280, 720) as page:
            stats_when(url, lambda s: s["llm"]["suggestions"]["shown"])
            page.goto(url)
            page.wait_for_selector(".text-body")
            shown = page.locator(".suggestion.from-llm")
            for _ in range(10):  # items of the audit slice come without it: skip to the next
                if shown.count():
                    break
                page.get_by_role("button", name="Skip (Tab)").click()
                page.wait_for_timeout(500)
            shown.wait_for()
            screenshot(page, "llm-suggestion")
            text = page.locator(".text-body").inner_text()
            item = next(i for i, t in texts.items() if t.strip() == text.strip())
            assert shown.inner_text() == f"The LLM suggests: {answers[item]}"
            open_view(page, "team")  # its agreement with people, beside the annotators'
            team = page.locator(".team-llm")
            team.wait_for()
            assert team.inner_text().startswith("The LLM (tiny) with the final labels: ") and "(30 item(s))" in team.inner_text()
            open_view(page, "rules")  # listed with the rules, per category
            page.locator(".llm-voter").wait_for()
            assert page.locator(".llm-voter strong").inner_text() == "llm:tiny"
            assert page.locator(".llm-categories li").count() == len(CATEGORIES)
            screenshot(page, "llm-panels")
    finally:
        server.stop()
