// The Groups view: the recent groups labeled at once (GET /groups: an annotator's own, a
// reviewer's everyone's), each with its label, size, annotator and time, and an Undo button that
// withdraws it (POST /label/bulk/undo; its items go back to the queue). Hidden until there is a group.
import { clear, el } from "./dom.js";
import { labelCaption } from "./group-view.js";

const SHOWN = 20; // the most recent groups listed

function when(date) {
  return String(date || "").replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
}

// `undo(group)`: the page's action that withdraws a group.
export function groupsPanel(categories, undo) {
  const node = el("section", { className: "groups-panel", "aria-label": "Groups labeled at once", hidden: true });
  node.update = (groups) => {
    clear(node);
    node.hidden = !groups.length;
    node.append(el("ul", { className: "groups-list" }, groups.slice(0, SHOWN).map((group) => el("li", {
      className: group.undone ? "group-entry undone" : "group-entry" },
    el("strong", {}, `${group.size} × ${labelCaption(categories, group.label)}`),
    ` by ${group.annotator} · ${when(group.date)}`,
    group.undone ? el("span", { className: "group-undone" }, ` · undone by ${group.undoneBy}`)
      : el("button", { type: "button", className: "group-undo", "aria-label": `Undo the group of ${group.size}`,
        onClick: () => undo(group.group) }, "Undo")))));
  };
  return node;
}
