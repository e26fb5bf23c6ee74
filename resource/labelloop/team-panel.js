// The Team panel: how much the annotators agree (GET /stats `agreement`), each number with the
// count of items it rests on, so 2 of 2 is not read as 100%. Hidden until two annotators answered the same item.
import { clear, el } from "./dom.js";

function share(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

function decimal(value) {
  return value === null || value === undefined ? "–" : value.toFixed(2);
}

export function teamPanel() {
  const node = el("section", { className: "team-panel", "aria-label": "Team agreement", hidden: true });
  node.update = (agreement) => {
    clear(node);
    node.hidden = !agreement || !agreement.items;
    if (node.hidden) return;
    node.append(el("div", { className: "team-title" }, "Team"),
      el("p", { className: "team-alpha" },
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
