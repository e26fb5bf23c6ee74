// The model panel: the latest model version, the stopping verdict in plain words with its
// numbers, the learning curve, and (standalone, with the retrain loop) whether training runs, its last error, what it
// did with the rules' weak labels, and a "Train now" button. Everything is rendered as text.
import { clear, el } from "./dom.js";
import { learningCurve } from "./learning-curve.js";

function percent(value) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`;
}

// The version's numbers; its labels are labeled items when it was trained (the header counts them now).
function metricsLine(latest, labeledItems) {
  const parts = [`trained on ${latest.labels} labeled items (${labeledItems} now)`];
  if (latest.contradictionRate !== undefined && latest.contradictionRate !== null) {
    parts.push(`${percent(latest.contradictionRate)} of predictions changed since ${latest.previous}`);
  }
  if (latest.kappa !== undefined && latest.kappa !== null) parts.push(`agreement κ ${latest.kappa.toFixed(2)}`);
  return parts.join(" · ");
}

// What the trainer did with the rules' weak labels, in words, with the numbers it compared.
function weakLine(weak) {
  if (weak.humanOnly === null || weak.humanOnly === undefined) {
    return `Weak labels: ${weak.weakLabels} offered, left out (too few human labels to check them)`;
  }
  const best = Math.max(...Object.values(weak.withWeak));
  return `Weak labels: ${weak.weakLabels} offered; cross-validated on the human labels, ${percent(weak.humanOnly)} `
    + `without them, ${percent(best)} at best with them, so the model ${weak.used ? "learned from them too" : "left them out"}`;
}

// What the model learns from, as the server says it (`uses`: per data type and, for a table, per
// kind of column); a version keeps TF-IDF until every item is embedded (DESIGN section 12).
function featuresLine(features) {
  if (!features) return null;
  const uses = features.uses ? [features.uses] : [];
  if (features.kind !== "embeddings") return uses.length ? `Features: ${uses[0]}` : null;
  const progress = features.ready ? "every item embedded" : `${features.items} items embedded so far; `
    + "the model keeps TF-IDF until all are";
  return `Features: ${uses.concat(`sentence embeddings of ${features.model} (${progress})`).join(", and ")}`;
}

export function modelPanel(onTrain) {
  const node = el("div", { className: "model-panel", "aria-live": "polite" });
  node.update = (stats) => {
    clear(node);
    const versions = stats.modelVersions || [];
    node.append(el("div", { className: "model-title" },
      versions.length ? `Model ${versions[versions.length - 1]}` : "No model yet"));
    const stopping = stats.stopping;
    if (stopping) {
      node.append(el("p", { className: stopping.canStop ? "verdict stop" : "verdict" }, stopping.message));
      const latest = stopping.metrics[stopping.metrics.length - 1];
      node.append(el("p", { className: "metrics" }, metricsLine(latest, stats.labeledItems)));
      const scored = stopping.metrics.filter((m) => m.randomAccuracy !== undefined && m.randomAccuracy !== null);
      if (scored.length) {
        const last = scored[scored.length - 1];
        node.append(el("p", { className: "metrics" },
          `Accuracy on the random share: ${percent(last.randomAccuracy)} (${last.version}, ${last.randomLabels} labels)`));
      }
    }
    const suggesting = stats.suggesting || {};
    const held = stats.suggestions && !stats.suggestions.shown;
    if (held) {
      node.append(el("p", { className: "metrics suggestions-held" }, stats.suggestions.reason));
    } else if (suggesting.source === "online") {
      node.append(el("p", { className: "metrics suggesting" }, `Suggestions: the online model, which learns from every `
        + `label as it comes (${suggesting.labels} learned so far${suggesting.version ? `, on ${suggesting.version}'s features` : ""})`));
    } else if (suggesting.source === "version") {
      node.append(el("p", { className: "metrics suggesting" }, `Suggestions: model ${suggesting.version}`));
    }
    const features = featuresLine(stats.features);
    if (features) node.append(el("p", { className: "metrics features" }, features));
    const chart = learningCurve(stats.learningCurve);
    if (chart) node.append(chart);
    const loop = stats.loop;
    if (!loop) return;
    const weak = loop.lastRound && loop.lastRound.model && loop.lastRound.model.weak;
    if (weak) node.append(el("p", { className: "metrics weak-training" }, weakLine(weak)));
    const state = loop.running ? "Training…" : `Retrains every ${loop.retrainEvery} labels`;
    node.append(el("p", { className: "metrics" }, state));
    if (loop.lastError) node.append(el("p", { className: "loop-error" }, `Last training failed: ${loop.lastError}`));
    node.append(el("button", { type: "button", className: "train-now", disabled: loop.running,
      onClick: onTrain }, "Train now"));
  };
  return node;
}
