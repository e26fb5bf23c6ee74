// What a reviewer sees beside an item (GET /review): why it waits for review, and every answer
// with its annotator, comment and time. Pressing a category's key settles the item with that label,
// so accepting an answer is pressing the key of its label. Everything is rendered as text.
import { clear, el } from "./dom.js";

function caption(categories, key) {
  return (categories.find((c) => c.key === key) || {}).caption || key;
}

function labelText(categories, label) {
  if (label === null || label === undefined) return "skipped";
  return [].concat(label).map((key) => caption(categories, key)).join(", ");
}

export function reviewReason(item, categories) {
  if (item.reason === "suspect" && item.suggestion) {
    return `Suspected label error: a model that did not learn from this item finds “${
      caption(categories, item.suggestion.label)}” more likely (score ${item.suggestion.score.toFixed(2)}).`;
  }
  return "The annotators disagree.";
}

export function answersList(node, item, categories) {
  clear(node).append(el("div", { className: "answers-title" }, "Answers"),
    el("ul", {}, item.answers.map((answer) => el("li", { className: "answer" },
      el("strong", {}, answer.annotator), ": ", labelText(categories, answer.label),
      el("span", { className: "answer-date" }, ` · ${answer.date.replace("T", " ").replace("Z", " UTC")}`),
      answer.comment ? el("div", { className: "answer-comment" }, `“${answer.comment}”`) : null))));
  node.hidden = false;
  return node;
}
