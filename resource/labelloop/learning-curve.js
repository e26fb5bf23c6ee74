// The learning curve of the model panel: per model version, the accuracy on items picked at
// random (with its 95% interval as a band) and the share of predictions that changed since the
// previous version, against the labels used. Plain SVG: two lines need no chart library.
import { el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 300, HEIGHT = 140, LEFT = 34, RIGHT = 8, TOP = 8, BOTTOM = 24;

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function percent(value) {
  return `${(value * 100).toFixed(1)}%`;
}

function scales(points) {
  const labels = points.map((p) => p.labels);
  const lowest = Math.min(...labels), highest = Math.max(...labels);
  const inner = WIDTH - LEFT - RIGHT;
  const x = (n) => (highest === lowest ? LEFT + inner / 2 : LEFT + ((n - lowest) / (highest - lowest)) * inner);
  const y = (share) => TOP + (1 - share) * (HEIGHT - TOP - BOTTOM);
  return { x, y, lowest, highest };
}

function line(points, x, y, value, className) {
  const shown = points.filter((p) => value(p) !== null && value(p) !== undefined);
  if (!shown.length) return [];
  const path = shown.map((p, n) => `${n ? "L" : "M"}${x(p.labels).toFixed(1)},${y(value(p)).toFixed(1)}`).join(" ");
  return [svg("path", { d: path, class: className, fill: "none" }),
    ...shown.map((p) => {
      const dot = svg("circle", { cx: x(p.labels).toFixed(1), cy: y(value(p)).toFixed(1), r: 3, class: className });
      dot.append(svg("title", {}, `${p.version}, ${p.labels} labels: ${percent(value(p))}`));
      return dot;
    })];
}

function band(points, x, y) {
  const shown = points.filter((p) => p.low !== null && p.low !== undefined);
  if (!shown.length) return [];
  const upper = shown.map((p) => `${x(p.labels).toFixed(1)},${y(p.high).toFixed(1)}`);
  const lower = shown.slice().reverse().map((p) => `${x(p.labels).toFixed(1)},${y(p.low).toFixed(1)}`);
  return [svg("polygon", { points: [...upper, ...lower].join(" "), class: "curve-band" })];
}

function axes(x, y, lowest, highest) {
  const parts = [];
  for (const share of [0, 0.5, 1]) {
    parts.push(svg("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y(share), y2: y(share), class: "curve-grid" }));
    parts.push(svg("text", { x: LEFT - 4, y: y(share) + 4, "text-anchor": "end", class: "curve-tick" }, `${share * 100}%`));
  }
  const ticks = lowest === highest ? [lowest] : [lowest, highest];
  for (const n of ticks) {
    parts.push(svg("text", { x: x(n), y: HEIGHT - 8, "text-anchor": "middle", class: "curve-tick" }, String(n)));
  }
  parts.push(svg("text", { x: (LEFT + WIDTH) / 2, y: HEIGHT - 8, "text-anchor": "middle", class: "curve-tick" }, "labels"));
  return parts;
}

// The chart and its legend in words, or null before any model version has been measured.
export function learningCurve(curve) {
  const points = (curve || []).filter((p) => p.labels !== null && p.labels !== undefined);
  if (!points.length) return null;
  const { x, y, lowest, highest } = scales(points);
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, role: "img",
    "aria-label": "Learning curve", class: "learning-curve" });
  chart.append(...axes(x, y, lowest, highest), ...band(points, x, y),
    ...line(points, x, y, (p) => p.accuracy, "curve-accuracy"),
    ...line(points, x, y, (p) => p.contradiction, "curve-contradiction"));
  const last = points[points.length - 1];
  const measured = points.filter((p) => p.accuracy !== null && p.accuracy !== undefined);
  const latest = measured.length ? measured[measured.length - 1] : null;
  const words = latest
    ? `Accuracy ${percent(latest.accuracy)} (95% interval ${percent(latest.low)}–${percent(latest.high)}, `
      + `${latest.items} items) at ${latest.labels} labels`
    : "No accuracy yet: it needs labels on items picked at random";
  return el("figure", { className: "learning-curve-figure" }, chart,
    el("figcaption", {},
      el("span", { className: "key-accuracy" }, "● accuracy"), " on items picked at random, so not flattered by the queue; ",
      el("span", { className: "key-contradiction" }, "● changed"), " predictions since the previous version. ",
      `${words}; ${points.length} version(s), latest ${last.version}.`));
}
