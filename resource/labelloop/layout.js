// How the page fits one screen: the item takes the width on the left, the labeling controls stay
// in one column beside it, and the model, team and rules views open in a column of their own
// (one at a time, from buttons in the header), so opening one never moves the item out of view.
// The categories form a grid sized to their number; past GRID_MAX a box filters them as you type.
import { el } from "./dom.js";

const GRID_MAX = 20;

// Columns of the category grid: one for a few, else two, which keep captions readable.
function gridColumns(count) {
  return count <= 6 ? 1 : 2;
}

// The dock: `add(id, title, node, summary)` gives a panel a header button, and returns it; `summary()`, when
// given, is the button's `{ text, title }`, recomputed whenever the panel changes. A panel that hides itself
// (the Team panel before two annotators answered the same item) hides its button too. Escape
// inside the open view closes it and gives the focus back to its button.
export function panelDock() {
  const buttons = el("div", { className: "dock-buttons", role: "group", "aria-label": "Views" });
  const column = el("div", { className: "dock", hidden: true });
  const panels = new Map();

  function show(id) {
    for (const [name, panel] of panels) {
      const open = name === id;
      panel.section.hidden = !open;
      panel.button.setAttribute("aria-expanded", String(open));
      panel.button.classList.toggle("on", open);
    }
    column.hidden = !id;
  }

  column.addEventListener("keydown", (event) => {
    const open = [...panels.values()].find((panel) => !panel.section.hidden);
    if (event.key !== "Escape" || !open) return;
    show(null);
    open.button.focus();
  });

  function toggle(id) {
    show(panels.get(id).section.hidden ? id : null);
  }

  function add(id, title, node, summary) {
    const section = el("section", { className: "dock-panel", id: `dock-${id}`, "aria-label": title, hidden: true },
      el("div", { className: "dock-title" }, el("strong", {}, title),
        el("button", { type: "button", className: "dock-close", "aria-label": `Close ${title}`,
          onClick: () => show(null) }, "×")),
      node);
    const button = el("button", { type: "button", className: "dock-button", "aria-expanded": "false",
      "aria-controls": section.id, onClick: () => toggle(id) }, title);
    panels.set(id, { section, button });
    const follow = () => {
      button.hidden = node.hidden;
      if (node.hidden && !section.hidden) show(null);
      if (!summary) return;
      const found = summary();
      button.textContent = found.text || title;
      button.title = found.title || "";
    };
    new MutationObserver(follow).observe(node, { attributes: true, attributeFilter: ["hidden"], childList: true,
      subtree: true });
    follow();
    buttons.append(button);
    column.append(section);
    return button;
  }

  return { buttons, column, add, show };
}

// Lays the category buttons out as a grid; past GRID_MAX adds a filter box above it: typing
// narrows the buttons by caption or key, Enter chooses the one left.
export function categoryGrid(node, buttons) {
  node.style.setProperty("--columns", String(gridColumns(buttons.length)));
  node.classList.toggle("long", buttons.length > GRID_MAX);
  if (buttons.length <= GRID_MAX) return null;
  const filter = el("input", { type: "search", className: "category-filter", maxlength: 100,
    placeholder: `Filter the ${buttons.length} categories`, "aria-label": "Filter categories" });
  const visible = () => buttons.filter((button) => !button.hidden);
  filter.addEventListener("input", () => {
    const words = filter.value.trim().toLowerCase();
    for (const button of buttons) {
      button.hidden = Boolean(words) && !`${button.getAttribute("aria-label")} ${button.title}`.toLowerCase().includes(words);
    }
  });
  filter.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const left = visible();
    if (left.length !== 1) return;
    filter.value = "";
    filter.dispatchEvent(new Event("input"));
    filter.blur();
    left[0].click();
  });
  node.before(filter);
  return filter;
}
