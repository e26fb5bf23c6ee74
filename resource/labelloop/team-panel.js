// The Team panel: how much the annotators agree (GET /stats `agreement`), each number with the
// count of items it rests on, so 2 of 2 is not read as 100%; and the labels suspected of being wrong
// (`suspects`), each with the item in a few words. Hidden until there is one or the other.
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

export function teamPanel() {
  const node = el("section", { className: "team-panel", "aria-label": "Team agreement", hidden: true });
  node.update = (agreement, suspects) => {
    clear(node);
    const agreed = Boolean(agreement && agreement.items);
    node.hidden = !agreed && !(suspects && suspects.count);
    if (node.hidden) return;
    node.append(el("div", { className: "team-title" }, "Team"));
    if (suspects && suspects.count) node.append(suspectList(suspects));
    if (!agreed) return;
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
