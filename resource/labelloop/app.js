// The labeling page: keyboard first. Each category has a shortcut (1-9, then letters); pressing it
// labels the item and shows the next one. Tab skips, ←/→ walk the annotator's own history,
// Home/End jump to its ends, Ctrl+Z reopens the latest answer, ? shows the shortcuts. A view may
// take keys of its own first (the image view: + - 0 to zoom; the sound view: Space to play...).
// Reviewers switch to the Review view: the same keys settle the item shown, Tab passes it by.
import { ApiError, makeApi, storeName, storedName } from "./api.js";
import { clear, el } from "./dom.js";
import { modelPanel } from "./model-panel.js";
import { answersList, reviewReason } from "./review-view.js";
import { rulesPanel } from "./rules-panel.js";
import { teamPanel } from "./team-panel.js";
import { RENDERERS, preload } from "./views.js";

const BATCH_SIZE = 10;
const STATS_POLL_MS = 2000;
const WAIT_SECONDS = 5;

function percent(value) {
  return `${Math.round(value * 100)}%`;
}

class LabelingPage {
  constructor(root, options) {
    this.root = root;
    this.api = makeApi(options.backendUrl);
    this.context = { backendUrl: options.backendUrl };
    this.view = null;
    this.queue = [];
    this.current = null; // {id, data, query, suggestion} or a history answer
    this.history = null; // null on a new item; else {labelId, position, isFirst, isLast}
    this.selected = new Set(); // multi-label selection
    this.shownAt = performance.now();
    this.busy = false;
    this.reviewing = false; // the Review view (reviewers only) instead of labeling
  }

  async start() {
    document.addEventListener("keydown", (event) => this.onKey(event));
    await this.open();
  }

  // Build the page for the annotator; again after they gave their name.
  async open() {
    this.buildLayout();
    try {
      this.config = await this.api.config();
    } catch (error) {
      if (error instanceof ApiError && error.needName) return this.askName(error.status === 403 ? error.message : "");
      return this.showError(error);
    }
    this.buildCategories();
    if (this.config.rules) this.nodes.aside.append(rulesPanel(this.api, this.config, (error) => this.showError(error)));
    this.nodes.user.textContent = this.config.user || "";
    this.nodes.reviewToggle.hidden = !this.config.reviewer;
    try {
      await this.nextNewItem();
    } catch (error) {
      this.showError(error); // a failing first batch says why, not a blank page
    }
  }

  // layout
  buildLayout() {
    const n = (this.nodes = {});
    n.progressBar = el("div", { className: "progress-bar" });
    n.counts = el("span", { className: "counts", "aria-live": "polite" });
    n.user = el("span", { className: "user" });
    n.reviewToggle = el("button", { type: "button", className: "review-toggle", hidden: true, "aria-pressed": "false",
      onClick: () => this.toggleReview() }, "Review");
    n.answers = el("div", { className: "answers", hidden: true, "aria-label": "Answers" });
    n.team = teamPanel();
    n.item = el("section", { className: "item", "aria-label": "Item to label" });
    n.position = el("div", { className: "position" });
    n.reason = el("div", { className: "reason" });
    n.suggestion = el("div", { className: "suggestion" });
    n.categories = el("div", { className: "categories", role: "group", "aria-label": "Categories" });
    n.model = modelPanel(() => this.run(async () => {
      await this.api.train();
      this.showStats(await this.api.stats());
    }));
    n.save = el("button", { className: "save", type: "button", hidden: true, onClick: () => this.saveSelection() },
      "Save (Enter)");
    n.comment = el("textarea", { className: "comment", placeholder: "Comment (optional)", rows: 2,
      "aria-label": "Comment", maxlength: 10000 });
    n.nav = el("nav", { className: "history-nav", "aria-label": "History" },
      el("button", { type: "button", onClick: () => this.walk("first") }, "First (Home)"),
      el("button", { type: "button", onClick: () => this.walk("back") }, "Back (←)"),
      el("button", { type: "button", onClick: () => this.skip() }, "Skip (Tab)"),
      el("button", { type: "button", onClick: () => this.walk("next") }, "Next (→)"),
      el("button", { type: "button", onClick: () => this.walk("last") }, "Latest (End)"));
    n.query = el("input", { type: "search", maxlength: 200, placeholder: "Search items (a word, a value)",
      "aria-label": "Search items" });
    // "By meaning" shows once the project has sentence embeddings (stats.features, see showStats)
    n.byMeaning = el("input", { type: "checkbox", className: "by-meaning" });
    n.meaning = el("label", { className: "meaning", hidden: true,
      title: "Rank items by how close their text is in meaning, even with no word in common" }, n.byMeaning, " By meaning");
    n.search = el("form", { className: "search", role: "search" }, n.query, el("button", { type: "submit" }, "Search"),
      n.meaning);
    n.search.addEventListener("submit", (event) => {
      event.preventDefault();
      this.search(n.query.value.trim(), !n.meaning.hidden && n.byMeaning.checked ? "semantic" : "text");
    });
    n.message = el("div", { className: "message", role: "status" });
    n.help = el("div", { className: "overlay", hidden: true, role: "dialog", "aria-label": "Keyboard shortcuts" },
      el("div", { className: "panel" },
        el("h2", {}, "Keyboard shortcuts"),
        el("dl", {},
          el("dt", {}, "1-9, a-z"), el("dd", {}, "Choose the category with that key (multi-label: toggle it)"),
          el("dt", {}, "Enter"), el("dd", {}, "Save the chosen categories (multi-label)"),
          el("dt", {}, "Tab"), el("dd", {}, "Skip this item (reviewing: pass it by for now)"),
          el("dt", {}, "← / →"), el("dd", {}, "Previous / next item in your history"),
          el("dt", {}, "Home / End"), el("dd", {}, "Your first answer / back to new items"),
          el("dt", {}, "Ctrl+Z"), el("dd", {}, "Reopen your latest answer to change it"),
          el("dt", {}, "+ / - / 0"), el("dd", {}, "Images: zoom in, zoom out, fit (or the mouse wheel; drag to pan)"),
          el("dt", {}, "Space / ⌫"), el("dd", {}, "Sounds: play or pause / play from the start"),
          el("dt", {}, ", / . and [ / ]"), el("dd", {}, "Sounds: back or forward one second / slower or faster"),
          el("dt", {}, "?"), el("dd", {}, "Show or hide this help"),
          el("dt", {}, "Esc"), el("dd", {}, "Close this help, leave the comment box")),
        el("button", { type: "button", onClick: () => this.toggleHelp(false) }, "Close")));
    n.doneTitle = el("h2", {});
    n.doneText = el("p", {});
    n.done = el("div", { className: "done", hidden: true }, n.doneTitle, n.doneText);
    clear(this.root).append(
      el("header", {},
        el("strong", {}, "labelloop"), el("div", { className: "progress" }, n.progressBar), n.counts, n.user,
        n.reviewToggle, el("button", { type: "button", className: "help-button", onClick: () => this.toggleHelp() }, "Shortcuts (?)")),
      el("main", {}, n.item, (n.aside = el("aside", {}, n.search, n.position, n.reason, n.suggestion, n.answers,
        n.categories, n.save, n.comment, n.nav, n.message, n.model, n.team))),
      n.done, n.help);
  }

  buildCategories() {
    this.buttons = new Map();
    this.byShortcut = new Map();
    for (const category of this.config.categories) {
      const count = el("span", { className: "count" }, "0");
      const key = category.shortcut ? el("kbd", {}, category.shortcut) : null;
      const button = el("button", { type: "button", className: "category", "aria-label": category.caption,
        title: category.key, onClick: () => this.choose(category.key) }, key, el("span", { className: "caption" },
        category.caption), count);
      button.count = count;
      this.buttons.set(category.key, button);
      if (category.shortcut) this.byShortcut.set(category.shortcut, category.key);
      this.nodes.categories.append(button);
    }
    this.nodes.save.hidden = !this.config.multiLabel;
  }

  // showing things
  show(item, history = null) {
    this.render(item);
    this.history = history;
    this.nodes.answers.hidden = true;
    const answer = history ? item.annotation : null;
    if (!history) preload(this.config.type, this.queue.slice(1, 4), this.context);
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

  showSuggestion(suggestion) {
    const node = clear(this.nodes.suggestion);
    if (!suggestion) return;
    if (suggestion.unscored) {
      node.append("The model could not score this item (its preprocessing dropped the row).");
      return;
    }
    const caption = (this.config.categories.find((c) => c.key === suggestion.label) || {}).caption || suggestion.label;
    const probability = suggestion.probabilities[suggestion.label];
    const who = suggestion.source === "online" ? "The online model suggests" : "Model suggests";
    node.append(`${who}: ${caption}`, probability === undefined ? "" : ` (${percent(probability)})`);
  }

  showStats(stats) {
    const total = stats.total || 0;
    const done = stats.labeled + stats.skipped;
    this.nodes.progressBar.style.width = total ? percent(done / total) : "0%";
    this.nodes.counts.textContent =
      `${stats.labeled} labeled · ${stats.skipped} skipped · ${stats.remaining} remaining of ${total}`;
    for (const [key, button] of this.buttons) {
      const count = (stats.perLabel && stats.perLabel[key]) || 0;
      button.count.textContent = String(count);
      button.title = `${key}: ${count} label(s), ${total ? percent(count / total) : "0%"} of all items`;
    }
    this.nodes.model.update(stats);
    this.nodes.meaning.hidden = !(stats.features && stats.features.kind === "embeddings");
    this.nodes.team.update(stats.agreement, stats.suggestionPull);
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
    this.nodes.help.hidden = force === undefined ? !this.nodes.help.hidden : !force;
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
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!input.value.trim()) return;
      storeName(input.value.trim(), key.value.trim());
      overlay.remove();
      this.open();
    });
    this.root.append(overlay);
    input.focus();
  }

  // moving
  async nextNewItem() {
    while (!this.queue.length) {
      const batch = await this.api.batch(BATCH_SIZE);
      this.showStats(batch.stats);
      this.queue = batch.items;
      if (this.queue.length) break;
      if (batch.done) return this.finish("All items are labeled.", "Nothing is left to label. Thank you!");
      this.nodes.message.textContent = "Waiting: the remaining items are being labeled by others.";
      await new Promise((resolve) => setTimeout(resolve, WAIT_SECONDS * 1000));
    }
    this.show(this.queue[0]);
  }

  // Items matching a search come next, then the queue as before.
  async search(q, mode) {
    if (!q) return;
    await this.run(async () => {
      const found = await this.api.search(q, BATCH_SIZE, mode);
      this.showStats(found.stats);
      if (!found.items.length) {
        this.nodes.message.textContent = mode === "semantic" ? `No unlabeled item is embedded yet.`
          : `No unlabeled item matches “${q}”.`;
        return;
      }
      this.history = null;
      const ids = new Set(found.items.map((item) => item.id));
      this.queue = [...found.items, ...this.queue.filter((queued) => !ids.has(queued.id))];
      this.show(this.queue[0]);
      this.nodes.message.textContent = mode === "semantic"
        ? `The ${found.items.length} unlabeled item(s) closest in meaning to “${q}”.`
        : `${found.items.length} item(s) match “${q}”.`;
    });
  }

  finish(title, text) {
    this.current = null;
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
    this.queue = [];
    this.history = null;
    this.run(async () => {
      if (!this.reviewing) return this.nextNewItem();
      this.showStats(await this.api.stats()); // the Team panel, current as the review starts
      return this.nextReview();
    });
  }

  async nextReview() {
    if (!this.queue.length) this.queue = (await this.api.reviewBatch(BATCH_SIZE)).items;
    if (!this.queue.length) {
      this.nodes.answers.hidden = true;
      return this.finish("Nothing to review.", "No item has answers that disagree, and no label is suspected of being wrong.");
    }
    const item = this.queue[0];
    this.render(item);
    const n = this.nodes;
    n.position.textContent = "To review";
    n.reason.textContent = reviewReason(item, this.config.categories);
    clear(n.suggestion);
    answersList(n.answers, item, this.config.categories);
    n.comment.value = "";
    this.selected = new Set();
    for (const button of this.buttons.values()) {
      button.classList.remove("chosen");
      button.setAttribute("aria-pressed", "false");
    }
    return null;
  }

  async decide(label) {
    const item = this.current;
    const body = { id: item.id, label };
    const comment = this.nodes.comment.value.trim();
    if (comment) body.comment = comment;
    await this.run(async () => {
      await this.api.review(body);
      this.queue = this.queue.filter((queued) => queued.id !== item.id);
      await this.nextReview();
      this.nodes.message.textContent = `Settled: ${[].concat(label).join(", ")}.`;
      this.showStats(await this.api.stats());
    });
  }

  passReview() {
    this.queue = this.queue.slice(1).concat(this.queue.slice(0, 1));
    this.run(() => this.nextReview());
  }

  async walk(direction) {
    if (this.reviewing) return;
    if (!this.history && (direction === "next" || direction === "last")) return;
    await this.run(async () => {
      if (direction === "last" || (direction === "next" && this.history.isLast)) return this.leaveHistory();
      const cursor = this.history && direction !== "first" ? this.history.labelId : "";
      const answer = await this.api.history(direction, cursor);
      this.show({ id: answer.item.id, data: answer.item.data, annotation: answer.annotation }, answer);
    });
  }

  leaveHistory() {
    this.history = null;
    return this.nextNewItem();
  }

  // answering
  choose(key) {
    if (!this.current) return;
    if (!this.config.multiLabel) return this.reviewing ? this.decide(key) : this.answer("label", key);
    if (this.selected.has(key)) this.selected.delete(key);
    else this.selected.add(key);
    const button = this.buttons.get(key);
    button.classList.toggle("chosen", this.selected.has(key));
    button.setAttribute("aria-pressed", String(this.selected.has(key)));
  }

  saveSelection() {
    if (!this.current || !this.selected.size) return;
    const order = this.config.categories.map((c) => c.key).filter((k) => this.selected.has(k));
    if (this.reviewing) this.decide(order);
    else this.answer("label", order);
  }

  skip() {
    if (!this.current) return;
    if (this.reviewing) this.passReview();
    else this.answer("skip");
  }

  async answer(kind, label) {
    const item = this.current;
    const body = { id: item.id, durationMs: Math.round(performance.now() - this.shownAt) };
    const comment = this.nodes.comment.value.trim();
    if (comment) body.comment = comment;
    if (kind === "label") body.label = label;
    await this.run(async () => {
      const result = kind === "label" ? await this.api.label(body) : await this.api.skip(body);
      this.showStats(result.stats);
      if (this.history) {
        if (this.history.isLast) return this.leaveHistory();
        const next = await this.api.history("next", String(result.labelId));
        return this.show({ id: next.item.id, data: next.item.data, annotation: next.annotation }, next);
      }
      this.queue = this.queue.filter((queued) => queued.id !== item.id);
      return this.nextNewItem();
    });
  }

  async run(action) {
    if (this.busy) return;
    this.busy = true;
    this.nodes.message.classList.remove("error");
    try {
      await action();
    } catch (error) {
      this.showError(error);
    } finally {
      this.busy = false;
    }
  }

  // keyboard
  onKey(event) {
    if (!this.config) return;
    const typing = event.target instanceof Element && event.target.matches("input, textarea, select");
    if (event.key === "Escape") {
      this.toggleHelp(false);
      if (typing) event.target.blur();
      return;
    }
    if (typing || event.altKey || event.metaKey) return;
    if (!event.ctrlKey && this.view && this.view.onKey && this.view.onKey(event)) {
      event.preventDefault();
      return;
    }
    if (event.ctrlKey) {
      if (event.key.toLowerCase() === "z" && !this.reviewing) {
        event.preventDefault();
        this.run(async () => {
          const answer = await this.api.history("last", "");
          this.show({ id: answer.item.id, data: answer.item.data, annotation: answer.annotation }, answer);
        });
      }
      return;
    }
    const actions = {
      Tab: () => this.skip(),
      ArrowLeft: () => this.walk("back"),
      ArrowRight: () => this.walk("next"),
      Home: () => this.walk("first"),
      End: () => this.walk("last"),
      Enter: () => this.saveSelection(),
      "?": () => this.toggleHelp(),
    };
    const action = actions[event.key];
    const category = this.byShortcut.get(event.key.toLowerCase());
    if (action) {
      event.preventDefault();
      action();
    } else if (category !== undefined) {
      event.preventDefault();
      this.choose(category);
    }
  }
}

export function start(root, options) {
  const page = new LabelingPage(root, options);
  page.start();
  return page;
}

