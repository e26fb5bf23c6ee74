"""The prompt that asks an LLM for one category, and the reading of its answer (DESIGN.md section 14).

The system message holds the task (a sentence the user writes) and the categories with their
captions, and asks for ``{"category": "<key>"}``. A few items people labeled follow as earlier
turns of the chat, so the model sees the answers expected. The item itself is the last user
message, alone, so every item shares the same beginning (servers cache it).

The prompt's version is a hash of all of it: the template, the task, the categories and the
examples. Answers are kept per version, so a changed prompt starts afresh while the old answers
stay comparable.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

TEMPLATE = (
    "You label items for a dataset. {task}\n"
    "Choose exactly one of these categories (key: meaning):\n{categories}\n"
    'Reply with JSON only, as {{"category": "<key>"}}, the key spelled as listed.'
)
DEFAULT_TASK = "Give each item the category that fits it best."
EXAMPLES_PER_CATEGORY = 2
CANDIDATES_PER_CATEGORY = 10  # examples are picked among a category's first labels: the prompt settles once they exist
MAX_ITEM_CHARS = 2000  # an item longer than this is cut: the cost stays in view
MAX_EXAMPLE_CHARS = 400
CHARS_PER_TOKEN = 4  # the usual rough figure for English text with OpenAI-style tokenizers
ANSWER_TOKENS = 12  # {"category": "..."} and a few more


@dataclass(frozen=True)
class Prompt:
    """A task sentence, ``[{key, caption}]`` categories and ``[(text, key)]`` labeled examples."""

    task: str
    categories: tuple
    examples: tuple = ()

    def system(self) -> str:
        listed = "\n".join(f"- {c['key']}: {c['caption']}" for c in self.categories)
        return TEMPLATE.format(task=self.task.strip() or DEFAULT_TASK, categories=listed)

    def messages(self, item: str) -> list:
        """The chat for one item's text."""
        chat = [{"role": "system", "content": self.system()}]
        for text, key in self.examples:
            chat += [{"role": "user", "content": text}, {"role": "assistant", "content": json.dumps({"category": key})}]
        return chat + [{"role": "user", "content": item[:MAX_ITEM_CHARS]}]

    @property
    def version(self) -> str:
        """12 hex digits of SHA-256 over everything the model is told but the item."""
        whole = json.dumps([TEMPLATE, self.task, list(self.categories), list(self.examples)], sort_keys=True)
        return hashlib.sha256(whole.encode("utf-8")).hexdigest()[:12]

    def estimated_tokens(self, item: str) -> int:
        """The prompt tokens one item costs, roughly (characters / 4, plus a few per message)."""
        chars = sum(len(m["content"]) + 16 for m in self.messages(item))
        return chars // CHARS_PER_TOKEN


def parse_answer(content: str, categories: list) -> str | None:
    """The category key a reply names, or None (abstain) when it is not JSON naming one of ``categories``.

    A reply wrapped in a Markdown code fence is read too; a bare key is not accepted, so a
    sentence that happens to contain a category word is not taken for an answer.
    """
    text = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", content or "")
    try:
        found = json.loads(text)
    except ValueError:
        return None
    key = found.get("category") if isinstance(found, dict) else None
    if not isinstance(key, str):
        return None
    keys = {str(k).strip().lower(): k for k in categories}
    return keys.get(key.strip().lower())


def choose_examples(labeled: list, categories: list, per_category: int = EXAMPLES_PER_CATEGORY) -> tuple:
    """A few diverse examples from ``labeled``, ``[(text, key)]`` in the order people labeled them.

    Every category gets up to ``per_category`` examples, picked among its first
    ``CANDIDATES_PER_CATEGORY`` labels: the first one, then each time the candidate sharing the
    fewest words with those already picked. New labels refresh the examples until a category has
    that many labels; after that the prompt, and so its version, no longer moves.
    """
    chosen = []
    for key, texts in example_candidates(labeled, categories).items():
        candidates = [text[:MAX_EXAMPLE_CHARS] for text in texts]
        picked = candidates[:1]
        while len(picked) < min(per_category, len(candidates)):
            rest = [c for c in candidates if c not in picked]
            picked.append(min(rest, key=lambda c: max(_overlap(c, p) for p in picked)))
        chosen += [(text, key) for text in picked]
    return tuple(chosen)


def example_candidates(labeled: list, categories: list) -> dict:
    """``{key: [x]}``: each category's first ``CANDIDATES_PER_CATEGORY`` of ``labeled`` (``[(x, label)]``
    in labeling order), among which every prompt so far took its examples.

    The LLM is told these items' labels (or may have been, by an earlier prompt version), so its
    answers on them measure nothing: they are never its gold (``llm_prelabel.measurable``).
    """
    found = {key: [] for key in categories}
    for x, label in labeled:
        if label in found and len(found[label]) < CANDIDATES_PER_CATEGORY:
            found[label].append(x)
    return found


def shown_as_examples(labeled: list, categories: list) -> set:
    """The items the prompt may have shown to the LLM as examples (``example_candidates`` of
    ``labeled``, ``[(item_id, final label)]`` in labeling order): the one rule keeping them out of the
    LLM's measured accuracy (it was told their labels): in ``labelloop llm``'s report, the voter's
    statistics and the LLM's agreement with people (``llm/agreement.py``)."""
    return {i for ids in example_candidates(labeled, categories).values() for i in ids}


def _overlap(a: str, b: str) -> float:
    """Jaccard similarity of two texts' lower-case words."""
    wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    return len(wa & wb) / max(len(wa | wb), 1)
