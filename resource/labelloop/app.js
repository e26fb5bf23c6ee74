// The labeling page: keyboard first. Each category has a shortcut (1-9, then letters); pressing it
// labels the item and shows the next one. Tab skips, ←/→ walk the annotator's own history,
// Home/End jump to its ends, Ctrl+Z reopens the latest answer, ? shows the shortcuts. A view may
// take keys of its own first (the image view: + - 0 to zoom; the sound view: Space to play...).
// Reviewers switch to the Review view: the same keys settle the item shown, Tab passes it by.
// Input is never lost: the page holds the next items before it needs them, so an answer shows the
// next item at once while it is sent; keys pressed while a request holds the page wait their turn;
// Tab and Enter belong to a focused button. The state logic is in page-state.js.
// Shift+G opens the items like the one shown as a group, Shift+C the Clusters view (a search can open its results as one):
// the annotator unticks what does not belong and Enter labels the rest at once (group-state.js).
// The Clusters view opens a cluster of look-alike items of the pool as a group the same way.
import { ApiError, makeApi, storeName } from "./api.js";
import { makeDialog } from "./dialog.js";
import { clustersPanel } from "./clusters-panel.js";
import { clear, el } from "./dom.js";
import { GroupSelection, groupItems } from "./group-state.js";
import { groupView, labelCaption } from "./group-view.js";
import { groupsPanel } from "./groups-panel.js";
import { categoryGrid, panelDock } from "./layout.js";
import { modelPanel } from "./model-panel.js";
import { ActionQueue, Upcoming, checkMode, keyAction } from "./page-state.js";
import { answersList, reviewReason } from "./review-view.js";
import { rulesPanel } from "./rules-panel.js";
import { teamPanel } from "./team-panel.js";
import { RENDERERS, preload } from "./views.js";

const BATCH_SIZE = 10;
const GROUP_SIZE = 20; // items a group from the item shown asks for (GET /similar), or from a cluster
const CLUSTERS_SHOWN = 20; // clusters the Clusters view lists, the most unlabeled items first
const STATS_POLL_MS = 2000;
const WAIT_SECONDS = 5;
const LOW_WATER = 3; // held items that make the page ask for the next batch

// How a focused element takes keys: "text" fields take them all, a "control" (button, checkbox,
// link) takes Tab and Enter, anything else ("none": the page, the item) leaves them to the page.
function focusKind(target) {
  if (!(target instanceof Element) || target.matches(".group-grid")) return "none"; // the group's grid leaves keys to the page
  if (target.matches("input[type=checkbox], input[type=radio], input[type=button], input[type=submit]")) return "control";
  if (target.matches("input, textarea, select, [contenteditable]")) return "text";
  if (target.matches("button, a[href], summary, audio, video, [tabindex]:not([tabindex='-1'])")) return "control";
  return "none";
}

function percent(value) {
  return `${Math.round(value * 100)}%`;
}

class LabelingPage {
  constructor(root, options) {
    this.root = root;
    this.api = makeApi(options.backendUrl);
    this.context = { backendUrl: options.backendUrl };
    this.view = null;
    this.mode = "waiting"; // page-state.js MODES
    this.upcoming = new Upcoming(LOW_WATER); // new items leased to this annotator, the one shown first
    this.prefetch = options.prefetch !== false; // false: each answer waits for the server (bench/key_latency.py)
    this.reviewQueue = [];
    this.current = null; // {id, data, query, suggestion} or a history answer
    this.history = null; // null on a new item; else {labelId, position, isFirst, isLast}
    this.selected = new Set(); // multi-label selection
    this.shownAt = performance.now();
    this.held = false; // a request holds the page: keys wait in `presses`
    this.presses = new ActionQueue();
    this.sending = Promise.resolve(); // requests go out one after another, answers before the next batch
    this.filling = null; // the batch being fetched ahead
    this.reviewing = false; // the Review view (reviewers only) instead of labeling
    this.group = null; // the GroupSelection shown in the group view, and its view in `groupView`
  }

  async start() {
    document.addEventListener("keydown", (event) => this.onKey(event));
    // Leaving gives the held items back at once, so other annotators need not wait for their leases to expire
    window.addEventListener("pagehide", () => this.api.release(this.upcoming.ids.concat(
      this.group ? this.group.toRelease(false, this.upcoming.ids) : [])));
    window.addEventListener("pageshow", (event) => {
      if (event.persisted && this.config && !this.reviewing) this.hold(() => this.refill());
    });
    await this.open();
  }

  setMode(mode) {
    this.mode = checkMode(mode);
    this.root.dataset.mode = mode;
    this.nodes.groupButton.hidden = mode !== "labeling";
    if (mode !== "waiting") clearTimeout(this.waitTimer);
  }

  // Build the page for the annotator; again after they gave their name.
  async open() {
    this.buildLayout();
    try {
      this.config = await this.api.config();
    } catch (error) {
      if (error instanceof ApiError && error.needName) return this.askName(error.status === 403 ? error.message : "");
      this.setMode("waiting");
      return this.showError(error);
    }
    this.buildCategories();
    if (this.config.rules) {
      const rules = rulesPanel(this.api, this.config, (error) => this.showError(error));
      rules.open = true;
      this.nodes.dock.add("rules", "Rules", rules);
    }
    this.nodes.groups = groupsPanel(this.config.categories, (group) => this.act({ type: "undoGroup", group }));
    this.nodes.dock.add("groups", "Groups", this.nodes.groups);
    this.refreshGroups();
    this.nodes.clusters = clustersPanel((cluster) => this.act({ type: "cluster", cluster }));
    // opening the view lists the clusters as they are now
    this.nodes.dock.add("clusters", "Clusters", this.nodes.clusters).addEventListener("click", () => this.refreshClusters());
    this.nodes.user.textContent = this.config.user || "";
    this.nodes.reviewToggle.hidden = !this.config.reviewer;
    await this.hold(() => this.nextNewItem()); // a failing first batch says why, not a blank page
  }

  // layout
  buildLayout() {
    const n = (this.nodes = {});
    n.progressBar = el("div", { className: "progress-bar" });
    n.progress = el("div", { className: "progress", role: "progressbar", "aria-label": "Items answered",
      "aria-valuemin": 0, "aria-valuemax": 0, "aria-valuenow": 0 }, n.progressBar);
    n.counts = el("span", { className: "counts", "aria-live": "polite" });
    n.user = el("span", { className: "user" });
    n.reviewToggle = el("button", { type: "button", className: "review-toggle", hidden: true, "aria-pressed": "false",
      onClick: () => this.act({ type: "review" }) }, "Review");
    n.answers = el("div", { className: "answers", hidden: true, "aria-label": "Answers" });
    n.team = teamPanel();
    n.item = el("section", { className: "item", "aria-label": "Item to label", tabindex: -1 });
    n.position = el("div", { className: "position" });
    n.groupButton = el("button", { type: "button", className: "group-button", hidden: true,
      title: "Open the items like this one as a group, to label them at once", onClick: () => this.act({ type: "group" }) },
    "Items like this (⇧G)");
    n.reason = el("div", { className: "reason" });
    n.suggestion = el("div", { className: "suggestion" });
    n.categories = el("div", { className: "categories", role: "group", "aria-label": "Categories" });
    n.model = modelPanel(() => this.hold(async () => {
      await this.api.train();
      this.showStats(await this.api.stats());
    }));
    n.save = el("button", { className: "save", type: "button", hidden: true, onClick: () => this.act({ type: "save" }) },
      "Save (Enter)");
    n.comment = el("textarea", { className: "comment", placeholder: "Comment (optional)", rows: 2,
      "aria-label": "Comment", maxlength: 10000 });
    n.nav = el("nav", { className: "history-nav", "aria-label": "History" },
      el("button", { type: "button", onClick: () => this.act({ type: "walk", direction: "first" }) }, "First (Home)"),
      el("button", { type: "button", onClick: () => this.act({ type: "walk", direction: "back" }) }, "Back (←)"),
      el("button", { type: "button", onClick: () => this.act({ type: "skip" }) }, "Skip (Tab)"),
      el("button", { type: "button", onClick: () => this.act({ type: "walk", direction: "next" }) }, "Next (→)"),
      el("button", { type: "button", onClick: () => this.act({ type: "walk", direction: "last" }) }, "Latest (End)"));
    n.query = el("input", { type: "search", maxlength: 200, placeholder: "Search items (a word, a value)",
      "aria-label": "Search items" });
    // "By meaning" shows once the project has sentence embeddings (stats.features, see showStats)
    n.byMeaning = el("input", { type: "checkbox", className: "by-meaning" });
    n.meaning = el("label", { className: "meaning", hidden: true,
      title: "Rank items by how close their text is in meaning, even with no word in common" }, n.byMeaning, " By meaning");
    const searchFor = (asGroup) => this.act({ type: "search", q: n.query.value.trim(), asGroup,
      mode: !n.meaning.hidden && n.byMeaning.checked ? "semantic" : "text" });
    n.search = el("form", { className: "search", role: "search" }, n.query, el("button", { type: "submit" }, "Search"),
      el("button", { type: "button", title: "Open the items found as a group, to label them at once",
        onClick: () => searchFor(true) }, "As a group"), n.meaning);
    n.search.addEventListener("submit", (event) => {
      event.preventDefault();
      searchFor(false);
    });
    n.message = el("div", { className: "message", role: "status" });
    n.help = el("div", { className: "overlay", hidden: true, role: "dialog", "aria-label": "Keyboard shortcuts" },
      el("div", { className: "panel" },
        el("h2", {}, "Keyboard shortcuts"),
        el("dl", {},
          el("dt", {}, "1-9, a-z"), el("dd", {}, "Choose the category with that key (multi-label: toggle it)"),
          el("dt", {}, "Enter"), el("dd", {}, "Save the chosen categories (multi-label)"),
          el("dt", {}, "Tab"), el("dd", {}, "Skip this item (reviewing: pass it by for now); on a button, go to the next one"),
          el("dt", {}, "← / →"), el("dd", {}, "Previous / next item in your history"),
          el("dt", {}, "Home / End"), el("dd", {}, "Your first answer / back to new items"),
          el("dt", {}, "Ctrl+Z"), el("dd", {}, "Reopen your latest answer to change it"),
          el("dt", {}, "Shift+G"), el("dd", {}, "Label the items like this one as a group"),
          el("dt", {}, "Shift+C"), el("dd", {}, "Clusters of look-alikes (Enter opens one)"),
          el("dt", {}, "In a group"), el("dd", {}, "Arrows and Space untick, a category key sets the label, Enter labels, "
            + "Esc leaves"),
          el("dt", {}, "+ / - / 0"), el("dd", {}, "Images: zoom in, zoom out, fit (or the mouse wheel; drag to pan)"),
          el("dt", {}, "Space / ⌫"), el("dd", {}, "Sounds: play or pause / play from the start"),
          el("dt", {}, ", / . and [ / ]"), el("dd", {}, "Sounds: back or forward one second / slower or faster"),
          el("dt", {}, "?"), el("dd", {}, "Show or hide this help"),
          el("dt", {}, "Esc"), el("dd", {}, "Close this help, leave the comment box")),
        el("button", { type: "button", onClick: () => this.toggleHelp(false) }, "Close")));
    n.help.addEventListener("keydown", (event) => {
      if (event.key === "?") this.toggleHelp(false);
    });
    this.helpDialog = makeDialog(n.help);
    n.dock = panelDock();
    // the Model button carries the stopping verdict, so it shows without opening the view
    n.dock.add("model", "Model", n.model, () => {
      const title = n.model.querySelector(".model-title");
      const verdict = n.model.querySelector(".verdict");
      const name = title && title.textContent !== "No model yet" ? title.textContent : "Model";
      if (!verdict) return { text: name, title: "" };
      const stop = verdict.classList.contains("stop");
      return { text: `${name} · ${stop ? "can stop" : "keep labeling"}`, title: verdict.textContent };
    });
    n.dock.add("team", "Team", n.team);
    n.doneTitle = el("h2", {});
    n.doneText = el("p", {});
    n.done = el("div", { className: "done", hidden: true }, n.doneTitle, n.doneText);
    clear(this.root).append(
      el("header", {},
        el("strong", {}, "labelloop"), n.progress, n.counts, n.user,
        n.dock.buttons, n.reviewToggle,
        el("button", { type: "button", className: "help-button", onClick: () => this.toggleHelp() }, "Shortcuts (?)")),
      el("main", {}, el("div", { className: "stage" }, n.done, n.item),
        el("aside", {}, n.search, el("div", { className: "item-bar" }, n.position, n.groupButton), n.reason,
          n.suggestion, n.answers, n.categories, n.save, n.comment, n.nav, n.message), n.dock.column),
      n.help);
  }

  buildCategories() {
    this.buttons = new Map();
    this.byShortcut = new Map();
    for (const category of this.config.categories) {
      const count = el("span", { className: "count" }, "0");
      const key = category.shortcut ? el("kbd", {}, category.shortcut) : null;
      // a click by mouse gives focus back to the item, so Tab and Enter stay the page's; by keyboard it stays
      const button = el("button", { type: "button", className: "category", "aria-label": category.caption,
        "aria-keyshortcuts": category.shortcut || false, title: category.key, onClick: (event) => {
          if (event.detail) this.nodes.item.focus({ preventScroll: true });
          this.act({ type: "choose", category: category.key });
        } }, key, el("span", { className: "caption" }, category.caption), count);
      button.count = count;
      this.buttons.set(category.key, button);
      if (category.shortcut) this.byShortcut.set(category.shortcut, category.key);
      this.nodes.categories.append(button);
    }
    categoryGrid(this.nodes.categories, [...this.buttons.values()]);
    this.nodes.save.hidden = !this.config.multiLabel;
  }

  // showing things
  show(item, history = null) {
    this.render(item);
    this.history = history;
    this.setMode(history ? "history" : "labeling");
    this.nodes.answers.hidden = true;
    const answer = history ? item.annotation : null;
    if (!history) preload(this.config.type, this.upcoming.items.slice(1, 4), this.context);
    this.nodes.comment.value = (answer && answer.comment) || "";
    const labels = answer && answer.label !== null ? [].concat(answer.label) : [];
    this.selected = new Set(this.config.multiLabel ? labels : []);
    for (const [key, button] of this.buttons) {
      button.classList.toggle("chosen", labels.includes(key) || this.selected.has(key));
      button.setAttribute("aria-pressed", String(labels.includes(key) || this.selected.has(key)));
    }
    this.nodes.position.textContent = history
      ? `Your answer ${history.position} (${answer.status === "SKIPPED" ? "skipped" : "labeled"})` : "New item";
    this.showReason(history ? null : item.query, history);
    this.showSuggestion(history ? null : item.suggestion);
    this.nodes.message.textContent = "";
  }

  // The item itself, in the view of its data type.
  render(item) {
    this.nodes.done.hidden = true; // whatever brought an item back (undo, walking history)
    this.current = item;
    this.shownAt = performance.now();
    const render = RENDERERS[this.config.type];
    if (this.view && this.view.dispose) this.view.dispose();
    this.view = render ? render(item.data, this.config, this.context)
      : el("p", {}, `This page cannot show ${this.config.type} items yet.`);
    clear(this.nodes.item).append(this.view);
  }

  showReason(query, history) {
    const node = clear(this.nodes.reason);
    if (history) return;
    if (!query) node.append("Not a query: shown in random order.");
    else if (query.strategy === "search") node.append(`Search result for “${query.text}”.`);
    else if (query.strategy === "random") node.append(`Random pick (session ${query.session}), for an unbiased check.`);
    else {
      const helpless = query.strategy.endsWith("+rules");
      const strategy = helpless ? query.strategy.slice(0, -"+rules".length) : query.strategy;
      node.append(`Query #${query.rank}: ${strategy} uncertainty ${query.uncertainty.toFixed(3)} `
        + `(session ${query.session})${helpless ? "; the labeling rules abstain or disagree here" : ""}`);
    }
  }

  // While /stats says the model's suggestions are held back, an item served before that shows none
  // either: the panel's reason and the item never contradict each other (the LLM's answers stay shown).
  showSuggestion(suggestion) {
    this.suggestion = suggestion;
    const node = clear(this.nodes.suggestion);
    node.classList.toggle("from-llm", Boolean(suggestion && suggestion.source === "llm"));
    if (!suggestion || (this.suggestionsHeld && suggestion.source !== "llm")) return;
    if (suggestion.unscored) {
      node.append("The model could not score this item (its preprocessing dropped the row).");
      return;
    }
    const caption = (this.config.categories.find((c) => c.key === suggestion.label) || {}).caption || suggestion.label;
    const probability = suggestion.probabilities[suggestion.label];
    // the LLM's cached answer is marked as the LLM's, apart from the models that learn from the labels here
    const who = { online: "The online model suggests", llm: "The LLM suggests" }[suggestion.source] || "Model suggests";
    node.append(`${who}: ${caption}`, probability === undefined ? "" : ` (${percent(probability)})`);
  }

  showStats(stats) {
    const total = stats.total || 0;
    const done = stats.labeled + stats.skipped;
    this.nodes.progressBar.style.width = total ? percent(done / total) : "0%";
    this.nodes.progress.setAttribute("aria-valuemax", String(total));
    this.nodes.progress.setAttribute("aria-valuenow", String(done));
    this.nodes.progress.setAttribute("aria-valuetext", `${done} of ${total} answered`);
    // items (labeled when anyone labeled them), and with a team the answers too: the category counts add answers
    const team = stats.labelAnswers !== stats.labeledItems ? ` · ${stats.labelAnswers} labels given` : "";
    this.nodes.counts.textContent =
      `${stats.labeledItems} labeled · ${stats.skippedItems} skipped · ${stats.remaining} remaining of ${total}${team}`;
    for (const [key, button] of this.buttons) {
      const count = (stats.perLabel && stats.perLabel[key]) || 0;
      button.count.textContent = String(count);
      const share = stats.labelAnswers ? percent(count / stats.labelAnswers) : "0%";
      button.title = `${key}: ${count} label(s) given, ${share} of all labels given`;
    }
    this.nodes.model.update(stats);
    const held = Boolean(stats.suggestions && !stats.suggestions.shown);
    if (held !== Boolean(this.suggestionsHeld)) {
      this.suggestionsHeld = held;
      this.showSuggestion(this.suggestion);
    }
    this.nodes.meaning.hidden = !(stats.features && stats.features.kind === "embeddings");
    this.nodes.team.update(stats.agreement, stats.suggestionPull, stats.suspects, stats.llm);
    if (stats.clusters && stats.clusters.ready && this.nodes.clusters && !this.nodes.clusters.loaded) this.refreshClusters();
    // while the loop trains or the texts are being embedded, keep the panel current without waiting for the next label
    clearTimeout(this.statsTimer);
    const embedding = stats.features && !stats.features.ready;
    if ((stats.loop && stats.loop.running) || embedding) this.statsTimer = setTimeout(() => this.pollStats(), STATS_POLL_MS);
  }

  // A poll that fails (a busy or restarting server) is tried again: it must not end the polling.
  pollStats() {
    this.api.stats().then((next) => this.showStats(next), () => {
      this.statsTimer = setTimeout(() => this.pollStats(), STATS_POLL_MS);
    });
  }

  showError(error) {
    this.nodes.message.textContent = error.message || String(error);
    this.nodes.message.classList.add("error");
  }

  toggleHelp(force) {
    const show = force === undefined ? !this.helpDialog.isOpen : force;
    if (show) this.helpDialog.open();
    else this.helpDialog.close();
  }

  askName(problem) {
    const input = el("input", { type: "text", maxlength: 64, "aria-label": "Your name", autocomplete: "name",
      placeholder: "Your name" });
    const key = el("input", { type: "password", maxlength: 128, "aria-label": "Your key", autocomplete: "off",
      placeholder: "Key from the operator (reviewers)" });
    const form = el("form", { className: "panel" }, el("h2", {}, "Who is labeling?"),
      el("p", {}, "This server is shared: your name is stored with each of your labels."),
      el("p", { className: "error", role: "alert", hidden: !problem }, problem || ""), input, key,
      el("button", { type: "submit" }, "Start"));
    const overlay = el("div", { className: "overlay", role: "dialog", "aria-label": "Your name" }, form);
    const dialog = makeDialog(overlay, { closable: false }); // nothing behind it works without a name
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!input.value.trim()) return;
      storeName(input.value.trim(), key.value.trim());
      dialog.close();
      overlay.remove();
      this.open();
    });
    this.setMode("naming");
    this.root.append(overlay);
    dialog.open(input);
  }

  // moving
  // Show the next new item: the one held, else the next batch's; when others hold the rest, wait for them.
  async nextNewItem() {
    if (!this.upcoming.current) {
      this.setMode("waiting");
      if (this.filling) await this.filling;
      if (!this.upcoming.current) await this.fetchBatch();
    }
    if (this.upcoming.current) {
      this.show(this.upcoming.current);
      if (this.prefetch) this.fillUp();
      return null;
    }
    if (this.lastBatchDone) return this.finish("All items are labeled.", "Nothing is left to label. Thank you!");
    this.nodes.message.textContent = "Waiting: the remaining items are being labeled by others.";
    this.waitTimer = setTimeout(() => this.askAgain(), WAIT_SECONDS * 1000);
    return null;
  }

  // Waiting: ask again (later, while another request holds the page); keys still work meanwhile.
  askAgain() {
    if (this.mode !== "waiting") return;
    if (this.held) this.waitTimer = setTimeout(() => this.askAgain(), WAIT_SECONDS * 1000);
    else this.hold(() => this.nextNewItem());
  }

  // The next batch, after the answers already sent; the items the page holds come first.
  async fetchBatch() {
    const mark = this.upcoming.mark();
    const batch = await this.send(() => this.api.batch(BATCH_SIZE));
    this.upcoming.merge(batch.items, mark);
    this.lastBatchDone = batch.done;
    this.showStats(batch.stats);
  }

  // Ask for the next batch ahead of need, once few items are held.
  fillUp() {
    if (this.filling || !this.upcoming.needsMore()) return;
    this.filling = this.fetchBatch().catch(() => null).finally(() => {
      this.filling = null;
    });
  }

  // After the page came back from the browser's cache: its leases were given back on leaving.
  refill() {
    this.upcoming.clear();
    return this.mode === "labeling" || this.mode === "waiting" ? this.nextNewItem() : null;
  }

  // Requests go out one at a time, in the order asked: an answer reaches the server before the
  // batch or history read that follows it. The returned promise is the request's own.
  send(request) {
    const result = this.sending.then(request);
    this.sending = result.catch(() => null);
    return result;
  }

  // Items matching a search come next, then the held items as before; focus goes back to the item,
  // so the next category key labels it instead of typing into the search box.
  async search(q, mode, asGroup) {
    if (!q) return;
    await this.hold(async () => {
      const found = await this.send(() => this.api.search(q, asGroup ? GROUP_SIZE : BATCH_SIZE, mode));
      this.showStats(found.stats);
      if (!found.items.length) {
        this.nodes.message.textContent = mode === "semantic" ? `No unlabeled item is embedded yet.`
          : `No unlabeled item matches “${q}”.`;
        return;
      }
      if (this.reviewing) return;
      if (asGroup) {
        this.showGroup(found.items, `Found for “${q}”`);
        return;
      }
      this.upcoming.putFirst(found.items);
      this.show(this.upcoming.current);
      this.nodes.item.focus({ preventScroll: true });
      // how many in all (the count stops at a cap: "more than"), beside how many are served now
      const all = found.matched ? `${found.matched.complete ? "" : "more than "}${found.matched.count}` : "";
      this.nodes.message.textContent = mode === "semantic"
        ? `The ${found.items.length} unlabeled item(s) closest in meaning to “${q}”, of ${all} embedded.`
        : `${all} unlabeled item(s) match “${q}”: here are the first ${found.items.length}.`;
    });
  }

  finish(title, text) {
    this.current = null;
    this.setMode("done");
    clear(this.nodes.item);
    this.nodes.doneTitle.textContent = title;
    this.nodes.doneText.textContent = text;
    this.nodes.done.hidden = false;
  }

  // reviewing
  toggleReview() {
    this.reviewing = !this.reviewing;
    const n = this.nodes;
    n.reviewToggle.textContent = this.reviewing ? "Back to labeling" : "Review";
    n.reviewToggle.classList.toggle("on", this.reviewing);
    n.reviewToggle.setAttribute("aria-pressed", String(this.reviewing));
    n.nav.hidden = this.reviewing;
    n.search.hidden = this.reviewing;
    this.reviewQueue = [];
    this.history = null;
    this.hold(async () => {
      if (!this.reviewing) return this.nextNewItem(); // the items held for labeling are still there
      this.showStats(await this.api.stats()); // the Team and Groups views, current as the review starts
      await this.refreshGroups();
      return this.nextReview();
    });
  }

  async nextReview() {
    if (!this.reviewQueue.length) this.reviewQueue = (await this.send(() => this.api.reviewBatch(BATCH_SIZE))).items;
    if (!this.reviewQueue.length) {
      this.nodes.answers.hidden = true;
      return this.finish("Nothing to review.", "No item has answers that disagree, and no label is suspected of being wrong.");
    }
    const item = this.reviewQueue[0];
    this.render(item);
    this.setMode("review");
    const n = this.nodes;
    n.position.textContent = "To review";
    n.reason.textContent = reviewReason(item, this.config.categories);
    this.showSuggestion(null);
    answersList(n.answers, item, this.config.categories);
    n.comment.value = "";
    this.selected = new Set();
    for (const button of this.buttons.values()) {
      button.classList.remove("chosen");
      button.setAttribute("aria-pressed", "false");
    }
    return null;
  }

  decide(label) {
    const item = this.current;
    const body = { id: item.id, label };
    const comment = this.nodes.comment.value.trim();
    if (comment) body.comment = comment;
    return this.hold(async () => {
      await this.send(() => this.api.review(body));
      this.reviewQueue = this.reviewQueue.filter((queued) => queued.id !== item.id);
      await this.nextReview();
      this.nodes.message.textContent = `Settled: ${[].concat(label).join(", ")}.`;
      this.showStats(await this.api.stats());
    });
  }

  passReview() {
    this.reviewQueue = this.reviewQueue.slice(1).concat(this.reviewQueue.slice(0, 1));
    return this.hold(() => this.nextReview());
  }

  walk(direction) {
    if (this.reviewing) return null;
    if (!this.history && (direction === "next" || direction === "last")) return null;
    return this.hold(async () => {
      if (direction === "last" || (direction === "next" && this.history.isLast)) return this.leaveHistory();
      const cursor = this.history && direction !== "first" ? this.history.labelId : "";
      return this.showAnswer(await this.send(() => this.api.history(direction, cursor)));
    });
  }

  // Ctrl+Z: reopen the latest answer to change it.
  undo() {
    if (this.reviewing) return null;
    return this.hold(async () => this.showAnswer(await this.send(() => this.api.history("last", ""))));
  }

  showAnswer(answer) {
    this.show({ id: answer.item.id, data: answer.item.data, annotation: answer.annotation }, answer);
  }

  leaveHistory() {
    this.history = null;
    return this.nextNewItem();
  }

  // answering
  choose(key) {
    if (this.group) return this.inGroup(() => this.group.choose(key));
    if (!this.current) return null;
    if (!this.config.multiLabel) return this.reviewing ? this.decide(key) : this.answer("label", key);
    if (this.selected.has(key)) this.selected.delete(key);
    else this.selected.add(key);
    const button = this.buttons.get(key);
    button.classList.toggle("chosen", this.selected.has(key));
    button.setAttribute("aria-pressed", String(this.selected.has(key)));
    return null;
  }

  saveSelection() {
    if (!this.current || !this.selected.size) return null;
    const order = this.config.categories.map((c) => c.key).filter((k) => this.selected.has(k));
    return this.reviewing ? this.decide(order) : this.answer("label", order);
  }

  skip() {
    if (!this.current) return null;
    return this.reviewing ? this.passReview() : this.answer("skip");
  }

  answer(kind, label) {
    const item = this.current;
    const body = { id: item.id, durationMs: Math.round(performance.now() - this.shownAt) };
    const comment = this.nodes.comment.value.trim();
    if (comment) body.comment = comment;
    if (kind === "label") body.label = label;
    const post = () => (kind === "label" ? this.api.label(body) : this.api.skip(body));
    if (this.history) {
      return this.hold(async () => {
        const result = await this.send(post);
        this.showStats(result.stats);
        if (this.history.isLast) return this.leaveHistory();
        return this.showAnswer(await this.send(() => this.api.history("next", String(result.labelId))));
      });
    }
    this.upcoming.answer(item.id);
    if (!this.prefetch) {
      return this.hold(async () => {
        this.answerSaved(item, await this.send(post));
        return this.nextNewItem();
      });
    }
    this.send(post).then((result) => this.answerSaved(item, result), (error) => this.answerFailed(item, error));
    // the next item is held: it shows now; else the page waits for it, holding the keys pressed meanwhile
    return this.upcoming.current ? this.nextNewItem() : this.hold(() => this.nextNewItem());
  }

  answerSaved(item, result) {
    this.upcoming.saved(item.id);
    this.showStats(result.stats);
  }

  // The answer did not reach the journal: its item comes back first, with the reason.
  answerFailed(item, error) {
    this.upcoming.restore(item);
    if (this.mode === "labeling" || this.mode === "waiting") this.show(item);
    this.showError({ message: `Your answer was not saved: ${error.message || error}` });
  }

  // groups
  // The item shown and the items like it (GET /similar, leased like a batch), as a group.
  openGroup() {
    const anchor = this.current;
    if (!anchor || this.history || this.reviewing) return null;
    return this.hold(async () => {
      const found = await this.send(() => this.api.similar(anchor.id, GROUP_SIZE));
      if (found.stats) this.showStats(found.stats);
      this.showGroup(groupItems(anchor, found.items), "Items like this one");
    });
  }

  // Shift+C: the Clusters view, listed afresh, with the focus on its first cluster (Enter opens it).
  showClusters() {
    if (this.nodes.clusters.hidden) {
      return this.showError({ message: "No clusters to show: the pool is still being grouped, or nothing is left unlabeled." });
    }
    this.nodes.dock.show("clusters");
    return this.refreshClusters().then(() => {
      const first = this.nodes.clusters.querySelector(".cluster-open");
      if (first) first.focus();
    });
  }

  // A cluster of the pool (GET /clusters/<id>, leased like a batch) as a group; the Clusters view closes to give it room.
  openCluster(cluster) {
    if (this.reviewing || this.group) {
      return this.showError({ message: this.group ? "Confirm or leave the group shown (Esc) before opening a cluster."
        : "Clusters open as groups to label: leave the review first." });
    }
    return this.hold(async () => {
      const found = await this.send(() => this.api.cluster(cluster, GROUP_SIZE));
      this.showStats(found.stats);
      if (!found.items.length) {
        this.nodes.message.textContent = `Cluster ${cluster} has no unlabeled item left that is not held by others.`;
        return this.refreshClusters();
      }
      this.history = null;
      this.nodes.dock.show(null);
      this.showGroup(found.items, `Cluster ${cluster}`);
      return null;
    });
  }

  showGroup(items, title) {
    if (this.view && this.view.dispose) this.view.dispose();
    this.view = null;
    this.group = new GroupSelection(items, { categories: this.config.categories, multiLabel: this.config.multiLabel });
    this.groupView = groupView(this.group, this.config, this.context, {
      toggle: (index) => this.act({ type: "groupToggle", index }),
      confirm: () => this.act({ type: "groupConfirm" }),
      setAll: (ticked) => this.act({ type: "groupAll", ticked }),
      cancel: () => this.act({ type: "groupLeave" }),
    }, title);
    const n = this.nodes;
    clear(n.item).append(this.groupView);
    this.setMode("group");
    n.nav.hidden = n.search.hidden = true;
    n.answers.hidden = true;
    n.position.textContent = `A group of ${items.length}`;
    n.reason.textContent = "Untick what does not belong (click, or the arrows and Space), choose the category "
      + "if the one proposed is wrong, then Enter labels the ticked items at once. Esc leaves the group.";
    this.showSuggestion(null);
    n.message.textContent = "";
    this.inGroup(() => null);
    this.groupView.focus();
  }

  // Change the group shown with `change`, then draw it and its label on the category buttons.
  inGroup(change) {
    if (!this.group) return null;
    change();
    for (const [key, button] of this.buttons) {
      button.classList.toggle("chosen", this.group.chosen.has(key));
      button.setAttribute("aria-pressed", String(this.group.chosen.has(key)));
    }
    this.groupView.update();
    return null;
  }

  // Enter: the ticked items are labeled in one request (POST /label/bulk); a refusal leaves the group as it was.
  confirmGroup() {
    const group = this.group;
    const problem = group.problem();
    if (problem) return this.showError({ message: problem });
    return this.hold(async () => {
      const result = await this.send(() => this.api.labelBulk(group.request(this.nodes.comment.value.trim())));
      for (const id of group.ticked) {
        this.upcoming.answer(id);
        this.upcoming.saved(id);
      }
      this.showStats(result.stats);
      await this.leaveGroup(true);
      this.nodes.message.textContent = `Labeled ${result.recorded} item(s) as ${labelCaption(this.config.categories,
        group.label)} at once; the Groups view can undo it.`;
    });
  }

  // Back to labeling one by one: the group's items not labeled go back to the queue (those the
  // page holds stay held); once confirmed, the Groups view lists the new group.
  async leaveGroup(confirmed) {
    const released = this.group.toRelease(confirmed, this.upcoming.ids);
    this.group = null;
    this.groupView.dispose();
    this.groupView = null;
    this.nodes.nav.hidden = this.nodes.search.hidden = false;
    this.nodes.comment.value = "";
    if (released.length) await this.send(() => this.api.release(released));
    if (confirmed) {
      this.refreshGroups();
      this.refreshClusters();
    }
    return this.nextNewItem();
  }

  undoGroup(group) {
    return this.hold(async () => {
      const result = await this.send(() => this.api.undoGroup(group));
      this.showStats(result.stats);
      await this.refreshGroups();
      this.refreshClusters();
      this.nodes.message.textContent = `The group is undone: its ${result.withdrawn} item(s) go back to the queue.`;
    });
  }

  // The Groups view, current; a server without groups leaves it hidden.
  refreshGroups() {
    return this.api.groups().then((found) => this.nodes.groups.update(found.groups), () => null);
  }

  // The Clusters view, current; until the server has clusters (or without them) it stays hidden.
  refreshClusters() {
    if (!this.clustersRead) {
      this.clustersRead = this.api.clusters(CLUSTERS_SHOWN).then((found) => this.nodes.clusters.update(found), () => null)
        .finally(() => {
          this.clustersRead = null;
        });
    }
    return this.clustersRead;
  }

  // Run `task` holding the page: keys pressed meanwhile wait, then replay in order.
  async hold(task) {
    if (this.held) return;
    this.held = true;
    this.nodes.message.classList.remove("error");
    try {
      await task();
    } catch (error) {
      this.showError(error);
    } finally {
      this.held = false;
    }
    this.replay();
  }

  replay() {
    while (!this.held) {
      const waiting = this.presses.shift();
      if (!waiting) return;
      const action = waiting.action || keyAction(waiting.press, waiting.focus, this.mode, this.byShortcut);
      if (action) this.perform(action);
    }
  }

  // An action from a key or a button (the Review toggle and Search too): now, or once the request holding the
  // page is answered, so none is dropped while a batch or an answer is on its way.
  act(action) {
    if (this.held) this.presses.push({ action });
    else this.perform(action);
  }

  perform(action) {
    const actions = {
      choose: () => this.choose(action.category),
      save: () => (this.group ? this.confirmGroup() : this.saveSelection()),
      skip: () => this.skip(),
      walk: () => this.walk(action.direction),
      undo: () => this.undo(),
      help: () => this.toggleHelp(),
      review: () => (this.group ? null : this.toggleReview()),
      search: () => this.search(action.q, action.mode, action.asGroup),
      group: () => this.openGroup(),
      groupToggle: () => this.inGroup(() => this.group.toggle(action.index)),
      groupMove: () => this.inGroup(() => this.group.move(action.direction, this.groupView.columns())),
      groupAll: () => this.inGroup(() => this.group.setAll(action.ticked)),
      groupPlay: () => this.inGroup(() => this.groupView.play()),
      groupConfirm: () => (this.group ? this.confirmGroup() : null),
      groupLeave: () => (this.group ? this.hold(() => this.leaveGroup(false)) : null),
      undoGroup: () => this.undoGroup(action.group),
      clusters: () => this.showClusters(),
      cluster: () => this.openCluster(action.cluster),
    };
    actions[action.type]();
  }

  // keyboard
  onKey(event) {
    const inDialog = event.target instanceof Element && event.target.closest("[role=dialog]");
    if (!this.config || this.mode === "naming" || this.helpDialog.isOpen || inDialog) return; // a dialog takes its keys
    const focus = focusKind(event.target);
    if (event.key === "Escape") {
      if (focus === "text") (this.groupView || this.nodes.item).focus({ preventScroll: true });
      else if (this.group) this.act({ type: "groupLeave" });
      return;
    }
    if (focus !== "text" && !event.ctrlKey && !event.altKey && !event.metaKey && this.view && this.view.onKey
        && this.view.onKey(event)) {
      event.preventDefault();
      return;
    }
    const press = { key: event.key, ctrlKey: event.ctrlKey, altKey: event.altKey, metaKey: event.metaKey,
      shiftKey: event.shiftKey };
    // while held, take every key some mode would act on; it is read again in the mode the page is in then
    const modes = this.held ? ["labeling", "group"] : [this.mode];
    const action = modes.map((mode) => keyAction(press, focus, mode, this.byShortcut)).find(Boolean);
    if (!action) return;
    event.preventDefault();
    if (this.held) this.presses.push({ press, focus });
    else this.perform(action);
  }
}

export function start(root, options) {
  const page = new LabelingPage(root, options);
  page.start();
  return page;
}

