// The Team panel: how much the annotators agree (GET /stats `agreement`), and how often they give
// the model's suggestion when they see it and when the audit slice hides it (`suggestionPull`),
// each number with the count of items it rests on, so 2 of 2 is not read as 100%. Hidden until
// two annotators answered the same item or an answer could be compared with a suggestion; the labels
// suspected of being wrong (`suspects`), each with the item in a few words, show too. With an LLM
// (`llm`), its agreement with the final labels sits beside the annotators', and its suggestions'
// pull beside the model's (`suggestionPull.bySource`).
import { clear, el } from "./dom.js";

function share(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

function decimal(value) {
  return value === null || value === undefined ? "–" : value.toFixed(2);
}

// The suspected label errors: the item, its label, and what the cross-validated model says instead.
function suspectList(suspects) {
  const more = suspects.count > suspects.items.length ? ` (the first ${suspects.items.length}; Review has them all)` : "";
  return el("div", { className: "team-suspects" },
    el("p", { className: "metrics" }, `Labels suspected of being wrong: ${suspects.count}${more}`),
    el("ul", {}, suspects.items.map((found) =>
      el("li", { title: found.itemId }, `${found.preview}: labeled ${found.label}, the model says ${found.suggested}`))));
}

function pulled(groups) {
  const shown = groups.withSuggestion, hidden = groups.audited;
  return `${share(shown.agree)} when shown (${shown.items}), ${share(hidden.agree)} when hidden (${hidden.items})`;
}

function pullNodes(pull) {
  const people = Object.entries(pull.byAnnotator || {});
  const sources = pull.bySource || {};
  const whose = sources.llm ? [["model", "the model's"], ["llm", "the LLM's"]].filter(([key]) => sources[key]) : [];
  const lines = whose.length
    ? whose.map(([key, name]) => el("p", { className: `metrics team-pull team-pull-${key}` },
      `Answers equal to ${name} suggestion: ${pulled(sources[key])}`))
    : [el("p", { className: "metrics team-pull" }, `Answers equal to the model's suggestion: ${pulled(pull)}`)];
  return [...lines,
    el("ul", { className: "team-pull-annotators" }, people.map(([name, groups]) => el("li", {}, `${name}: ${pulled(groups)}`)))];
}

// The LLM against the final labels, on the labeled items it answered (its examples left out).
function llmAgreement(llm) {
  const found = llm.agreement;
  return el("p", { className: "metrics team-llm" }, `The LLM (${llm.model}) with the final labels: `
    + `${share(found.accuracy)} right, Cohen's κ ${decimal(found.kappa)} (${found.items} item(s))`);
}

export function teamPanel() {
  const node = el("section", { className: "team-panel", "aria-label": "Team agreement", hidden: true });
  node.update = (agreement, pull, suspects, llm) => {
    clear(node);
    const compared = pull && (pull.withSuggestion.items || pull.audited.items);
    const suspected = suspects && suspects.count;
    const measured = llm && llm.agreement && llm.agreement.items;
    node.hidden = !(agreement && agreement.items) && !compared && !suspected && !measured;
    if (node.hidden) return;
    node.append(el("div", { className: "team-title" }, "Team"));
    if (measured) node.append(llmAgreement(llm));
    if (compared) node.append(...pullNodes(pull));
    if (suspected) node.append(suspectList(suspects));
    if (!agreement || !agreement.items) return;
    node.append(el("p", { className: "team-alpha" },
        `Agreement (Krippendorff's α): ${decimal(agreement.alpha)} over ${agreement.items} item(s) labeled by two or more`));
    const people = Object.entries(agreement.annotators || {});
    if (people.length) {
      node.append(el("p", { className: "metrics" }, "Each annotator with the others' majority:"),
        el("ul", { className: "team-annotators" }, people.map(([name, found]) =>
          el("li", {}, `${name}: ${share(found.agreement)} (${found.items} item(s))`))));
    }
    if ((agreement.pairs || []).length) {
      node.append(el("p", { className: "metrics" }, "Pairs (Cohen's κ):"),
        el("ul", { className: "team-pairs" }, agreement.pairs.map((pair) =>
          el("li", {}, `${pair.a} / ${pair.b}: ${decimal(pair.kappa)} (${pair.items} item(s))`))));
    }
  };
  return node;
}
