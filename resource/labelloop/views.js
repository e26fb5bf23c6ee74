// How an item is shown, per data type. Every value is rendered as text.
import { el } from "./dom.js";
import { preloadImage, renderImage } from "./image-view.js";
import { preloadSound, renderSound } from "./sound-view.js";

function orderedColumns(data, first) {
  const names = Object.keys(data);
  const chosen = first.filter((name) => names.includes(name));
  return chosen.concat(names.filter((name) => !chosen.includes(name)));
}

function valueCell(value) {
  if (value === null || value === undefined) return el("td", { className: "value missing" }, "—");
  const kind = typeof value === "number" ? "value number" : "value";
  return el("td", { className: kind }, String(value));
}

function rowTable(data, columns, className) {
  return el("table", { className },
    el("tbody", {}, columns.map((name) => el("tr", {}, el("th", { scope: "row" }, name), valueCell(data[name])))));
}

export function renderTabular(data, config) {
  return rowTable(data, orderedColumns(data, config.columnsFirst || []), "row-table");
}

export function renderText(data, config) {
  const textColumn = config.textColumn;
  const others = orderedColumns(data, config.columnsFirst || []).filter((name) => name !== "text" && name !== textColumn);
  const text = data.text === null || data.text === undefined ? "" : String(data.text);
  return el("div", { className: "text-item" },
    el("p", { className: "text-body", lang: "und" }, text || "(empty text)"),
    others.length ? rowTable(data, others, "row-table small") : null);
}

export const RENDERERS = { tabular: renderTabular, text: renderText, image: renderImage, sound: renderSound };

const PRELOADERS = { image: preloadImage, sound: preloadSound };

// Warms the browser cache with the media of the next items, so they show at once.
export function preload(type, items, context) {
  const load = PRELOADERS[type];
  if (!load) return;
  for (const item of items) {
    if (item.data && item.data.mediaUrl) load(item.data, context);
  }
}
