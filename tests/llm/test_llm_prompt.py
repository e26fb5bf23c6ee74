"""The prompt's version, its examples and the reading of the LLM's answers."""
from __future__ import annotations

from labelloop.llm.prompt import Prompt, choose_examples, parse_answer

CATEGORIES = ({"key": "pos", "caption": "Positive"}, {"key": "neg", "caption": "Negative"})


def test_the_version_changes_with_the_task_the_categories_and_the_examples_only():
    prompt = Prompt("Sentiment of a tweet.", CATEGORIES, (("great day", "pos"),))
    same = Prompt("Sentiment of a tweet.", CATEGORIES, (("great day", "pos"),))
    assert prompt.version == same.version and len(prompt.version) == 12
    changed = [Prompt("Mood of a tweet.", CATEGORIES, prompt.examples),
               Prompt(prompt.task, (CATEGORIES[0], {"key": "neg", "caption": "Bad"}), prompt.examples),
               Prompt(prompt.task, CATEGORIES, (("awful", "neg"),))]
    assert len({prompt.version, *(p.version for p in changed)}) == 4
    messages = prompt.messages("what a game")
    assert "pos: Positive" in messages[0]["content"] and "Sentiment of a tweet." in messages[0]["content"]
    assert messages[1:] == [{"role": "user", "content": "great day"}, {"role": "assistant", "content": '{"category": "pos"}'},
                            {"role": "user", "content": "what a game"}]


def test_only_json_naming_a_listed_category_is_an_answer():
    keys = ["pos", "neg"]
    assert parse_answer('{"category": "pos"}', keys) == "pos"
    assert parse_answer('```json\n{"category": " NEG "}\n```', keys) == "neg"
    for reply in ['{"category": "maybe"}', '{"category": "po', "pos", "The answer is pos.", "[]", '{"label": "pos"}',
                  '{"category": 1}', ""]:
        assert parse_answer(reply, keys) is None, reply


def test_examples_cover_every_category_differ_from_each_other_and_settle_once_there_are_enough():
    labeled = [("the cat sat on the mat", "pos"), ("the cat sat on a mat", "pos"), ("rain all week, grey skies", "pos"),
               ("terrible service", "neg")]
    chosen = choose_examples(labeled, ["pos", "neg", "other"], per_category=2)
    assert chosen == (("the cat sat on the mat", "pos"), ("rain all week, grey skies", "pos"), ("terrible service", "neg"))
    many = [(f"text {n}", "pos") for n in range(30)]
    assert choose_examples(many, ["pos"]) == choose_examples(many + [("text 99", "pos")], ["pos"])
