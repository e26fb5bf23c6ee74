// The group view: a grid of the items of a group (group-state.js), each a tile that is ticked or
// not: a thumbnail for images, a play button for sounds, the text, or a row's first columns. A
// click on a tile ticks or unticks it; the keyboard moves over the tiles (the grid keeps the focus
// and points at the tile with aria-activedescendant). Every value is rendered as text.
import { clear, el } from "./dom.js";

const ROW_COLUMNS = 4; // a row's tile shows its first columns (the ones chosen to show first, then the others)

function caption(categories, key) {
  return (categories.find((category) => category.key === key) || {}).caption || key;
}

export function labelCaption(categories, label) {
  return label === null ? "" : [].concat(label).map((key) => caption(categories, key)).join(", ");
}

function rowSummary(data, config) {
  const names = Object.keys(data);
  const first = (config.columnsFirst || []).filter((name) => names.includes(name));
  const columns = first.concat(names.filter((name) => !first.includes(name))).slice(0, ROW_COLUMNS);
  return el("dl", { className: "tile-row" }, columns.flatMap((name) => [el("dt", {}, name),
    el("dd", {}, data[name] === null || data[name] === undefined ? "—" : String(data[name]))]));
}

// What a tile shows of its item; a sound tile's audio is `tile.audio`.
function tileBody(item, config, context) {
  const data = item.data || {};
  if (config.type === "image") {
    return [el("img", { className: "tile-image", alt: data.path, draggable: "false", src: context.backendUrl(data.mediaUrl) }),
      el("span", { className: "tile-name" }, data.path)];
  }
  if (config.type === "sound") {
    const audio = el("audio", { preload: "none", src: context.backendUrl(data.mediaUrl) });
    // the tile's own click ticks it: the play button's must not reach it
    const play = el("button", { type: "button", className: "tile-play", tabindex: "-1", "aria-label": `Play ${data.path}`,
      onClick: (event) => {
        event.stopPropagation();
        playOnly(audio);
      } }, "▶ Play");
    audio.addEventListener("play", () => { play.textContent = "❚❚ Pause"; });
    audio.addEventListener("pause", () => { play.textContent = "▶ Play"; });
    return [audio, play, el("span", { className: "tile-name" }, data.path)];
  }
  if (config.type === "text") return [el("p", { className: "tile-text", lang: "und" }, String(data.text ?? "") || "(empty text)")];
  return [rowSummary(data, config)];
}

// Play `audio` from the start, or pause it when it plays; every other sound of the page stops.
function playOnly(audio) {
  const playing = !audio.paused;
  for (const other of document.querySelectorAll("#labelloop-root audio")) other.pause();
  if (playing) return;
  audio.currentTime = 0;
  audio.play().catch(() => null);
}

// `selection`: a GroupSelection; `handlers`: {toggle(index), confirm(), setAll(ticked), cancel()},
// each sent through the page's actions, so a click waits its turn like a key.
export function groupView(selection, config, context, handlers, title) {
  const count = el("span", { className: "group-count", "aria-live": "polite" });
  const confirm = el("button", { type: "button", className: "group-confirm", onClick: () => handlers.confirm() });
  const grid = el("div", { className: "group-grid", role: "group", tabindex: "0",
    "aria-label": `${title}: ticked items get the group's label` });
  const tiles = selection.items.map((item, index) => {
    const similarity = typeof item.similarity === "number" ? el("span", { className: "tile-similarity",
      title: "How similar to the item the group was opened from, or to its cluster's centre" },
    `${Math.round(item.similarity * 100)}%`) : null;
    const tile = el("div", { className: "group-tile", id: `group-tile-${index}`, role: "checkbox", title: item.id,
      onClick: () => {
        grid.focus({ preventScroll: true });
        handlers.toggle(index);
      } }, el("span", { className: "tile-tick", "aria-hidden": "true" }), similarity, tileBody(item, config, context));
    tile.audio = tile.querySelector("audio");
    return tile;
  });
  grid.append(...tiles);
  const view = el("div", { className: "group-view" },
    el("div", { className: "group-bar" }, el("strong", {}, title), count, confirm,
      el("button", { type: "button", onClick: () => handlers.setAll(true) }, "Tick all"),
      el("button", { type: "button", onClick: () => handlers.setAll(false) }, "Untick all"),
      el("button", { type: "button", onClick: () => handlers.cancel() }, "Leave (Esc)")),
    grid);

  // Draw the selection as it is now: ticks, the keyboard's tile, the count and the confirm button.
  view.update = () => {
    tiles.forEach((tile, index) => {
      tile.setAttribute("aria-checked", String(selection.isTicked(index)));
      tile.classList.toggle("cursor", index === selection.cursor);
    });
    grid.setAttribute("aria-activedescendant", tiles[selection.cursor].id);
    tiles[selection.cursor].scrollIntoView({ block: "nearest" });
    const ticked = selection.ticked.length;
    const label = labelCaption(config.categories, selection.label);
    count.textContent = `${ticked} of ${selection.items.length} ticked`;
    confirm.textContent = label ? `Label ${ticked} as ${label} (Enter)` : "Choose a category, then Enter";
    confirm.disabled = Boolean(selection.problem());
  };
  // How many tiles a row of the grid holds, for the up and down keys.
  view.columns = () => getComputedStyle(grid).gridTemplateColumns.split(" ").filter(Boolean).length || 1;
  view.play = () => {
    const audio = tiles[selection.cursor].audio;
    if (audio) playOnly(audio);
  };
  view.focus = () => grid.focus({ preventScroll: true });
  view.dispose = () => {
    for (const tile of tiles) if (tile.audio) tile.audio.pause();
    clear(grid);
  };
  view.update();
  return view;
}
