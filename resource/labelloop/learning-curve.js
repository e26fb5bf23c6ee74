// The learning curve of the model panel: per model version, the accuracy on items picked at
// random (with its 95% interval as a band) and the share of predictions that changed since the
// previous version, against the labels used. Plain SVG: two lines, a band and two axes need no chart library, and
// the page keeps no build step (DESIGN section 6).
import { el } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 400, HEIGHT = 230, LEFT = 50, RIGHT = 14, TOP = 10, BOTTOM = 46;
const BAND_WIDTH = 14; // a single version's interval, drawn as a bar this wide

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function percent(value) {
  return `${(value * 100).toFixed(1)}%`;
}

// A round step (1, 2 or 5 times a power of ten) giving about four intervals up to `highest`.
function step(highest) {
  const rough = Math.max(highest / 4, 1);
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
}

// The labels axis starts at zero, so the curve shows how far the labels have come.
function scales(points) {
  const highest = Math.max(...points.map((p) => p.labels));
  const every = step(highest);
  const end = (Math.floor(highest / every) + 1) * every; // room past the last version
  const ticks = [];
  for (let n = 0; n <= end; n += every) ticks.push(n);
  const x = (n) => LEFT + (n / end) * (WIDTH - LEFT - RIGHT);
  const y = (share) => TOP + (1 - share) * (HEIGHT - TOP - BOTTOM);
  return { x, y, ticks };
}

function line(points, x, y, value, className) {
  const shown = points.filter((p) => value(p) !== null && value(p) !== undefined);
  if (!shown.length) return [];
  const path = shown.map((p, n) => `${n ? "L" : "M"}${x(p.labels).toFixed(1)},${y(value(p)).toFixed(1)}`).join(" ");
  return [svg("path", { d: path, class: className, fill: "none" }),
    ...shown.map((p) => {
      const dot = svg("circle", { cx: x(p.labels).toFixed(1), cy: y(value(p)).toFixed(1), r: 3.5, class: className });
      dot.append(svg("title", {}, `${p.version}, ${p.labels} labels: ${percent(value(p))}`));
      return dot;
    })];
}

// The 95% interval of the accuracy: a band through the versions, or a bar for a single one.
function band(points, x, y) {
  const shown = points.filter((p) => p.low !== null && p.low !== undefined);
  if (!shown.length) return [];
  if (shown.length === 1) {
    const [p] = shown;
    return [svg("rect", { x: (x(p.labels) - BAND_WIDTH / 2).toFixed(1), y: y(p.high).toFixed(1), width: BAND_WIDTH,
      height: Math.max(1, y(p.low) - y(p.high)).toFixed(1), class: "curve-band" })];
  }
  const upper = shown.map((p) => `${x(p.labels).toFixed(1)},${y(p.high).toFixed(1)}`);
  const lower = shown.slice().reverse().map((p) => `${x(p.labels).toFixed(1)},${y(p.low).toFixed(1)}`);
  return [svg("polygon", { points: [...upper, ...lower].join(" "), class: "curve-band" })];
}

// Grid and ticks in their own margins; each axis title on a line of its own.
function axes(x, y, ticks) {
  const parts = [];
  const bottom = HEIGHT - BOTTOM;
  for (const share of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(svg("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: y(share), y2: y(share), class: "curve-grid" }));
    parts.push(svg("text", { x: LEFT - 6, y: y(share) + 4, "text-anchor": "end", class: "curve-tick" }, `${share * 100}%`));
  }
  for (const n of ticks) {
    parts.push(svg("line", { x1: x(n), x2: x(n), y1: bottom, y2: bottom + 4, class: "curve-axis" }));
    parts.push(svg("text", { x: x(n), y: bottom + 17, "text-anchor": "middle", class: "curve-tick" }, String(n)));
  }
  parts.push(svg("line", { x1: LEFT, x2: WIDTH - RIGHT, y1: bottom, y2: bottom, class: "curve-axis" }));
  parts.push(svg("text", { x: (LEFT + WIDTH - RIGHT) / 2, y: HEIGHT - 6, "text-anchor": "middle",
    class: "curve-title" }, "labels"));
  parts.push(svg("text", { x: -(TOP + bottom) / 2, y: 13, transform: "rotate(-90)", "text-anchor": "middle",
    class: "curve-title" }, "share of items"));
  return parts;
}

// The chart and its legend in words, or null before any model version has been measured.
export function learningCurve(curve) {
  const points = (curve || []).filter((p) => p.labels !== null && p.labels !== undefined);
  if (!points.length) return null;
  const { x, y, ticks } = scales(points);
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: WIDTH, height: HEIGHT, role: "img",
    "aria-label": "Learning curve", class: "learning-curve" });
  chart.append(...axes(x, y, ticks), ...band(points, x, y),
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
