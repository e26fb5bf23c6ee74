// The Clusters view: the pool's unlabeled items in clusters of look-alikes (GET /clusters), the
// largest first, each a button with its number of unlabeled items and a few of them; choosing one
// opens its items as a group (GET /clusters/<id>, group-view.js). Hidden until there is a cluster.
import { clear, el } from "./dom.js";

// `open(cluster)`: the page's action that opens a cluster as a group.
export function clustersPanel(open) {
  const node = el("section", { className: "clusters-panel", "aria-label": "Clusters of look-alike items", hidden: true });
  node.loaded = false;
  // Listed afresh, the cluster the keyboard was on keeps the focus (or the first, when it is gone).
  node.update = (found) => {
    const focused = node.contains(document.activeElement) ? document.activeElement.dataset.cluster : undefined;
    clear(node);
    node.loaded = true;
    node.hidden = !found.clusters.length;
    node.append(el("p", { className: "clusters-note" }, `${found.count} cluster(s) of look-alike items still unlabeled; `
      + "open one to label its items as a group."),
    el("ul", { className: "clusters-list" }, found.clusters.map((cluster) => el("li", { className: "cluster-entry" },
      el("button", { type: "button", className: "cluster-open", "data-cluster": cluster.id,
        "aria-label": `Open cluster ${cluster.id} as a group: ${cluster.unanswered} unlabeled`,
        onClick: () => open(cluster.id) }, `Cluster ${cluster.id} · ${cluster.unanswered} unlabeled`),
      el("ul", { className: "cluster-examples" }, cluster.examples.map((example) => el("li", { title: example.id },
        example.preview)))))));
    if (focused === undefined) return;
    const again = node.querySelector(`.cluster-open[data-cluster="${focused}"]`) || node.querySelector(".cluster-open");
    if (again) again.focus();
  };
  return node;
}
