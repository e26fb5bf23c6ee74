// The labeling page's state, without the DOM: which mode the page is in, what a key means in it,
// the keys that wait while a request holds the page, and the items held ahead of the one shown.
// app.js draws the page from this; tests/js/page-state.test.js runs it under `node --test`.

// labeling: a new item; history: one of the annotator's answers; review: an item to settle;
// waiting: no item to show yet (loading, or the rest is leased to others); naming: the page asks
// who is labeling; done: nothing left to label or review; group: a grid of items to label at once.
export const MODES = Object.freeze(["labeling", "history", "review", "waiting", "naming", "done", "group"]);

// What each mode lets a key do. Naming takes no shortcut: every key belongs to the name form. The
// group view has keys of its own (groupKeyAction).
const ALLOWED = {
  labeling: new Set(["choose", "save", "skip", "walk", "undo", "help", "group", "clusters"]),
  history: new Set(["choose", "save", "skip", "walk", "undo", "help", "clusters"]),
  review: new Set(["choose", "save", "skip", "help"]),
  waiting: new Set(["walk", "undo", "help", "clusters"]), // no item shown: a category key labels nothing unseen
  naming: new Set(),
  done: new Set(["walk", "undo", "help", "clusters"]),
};

export const ITEM_ACTIONS = new Set(["choose", "save", "skip"]); // those that answer the item shown

const NAVIGATION = { ArrowLeft: "back", ArrowRight: "next", Home: "first", End: "last" };
const GROUP_MOVES = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down", Home: "first", End: "last" };

export function checkMode(mode) {
  if (!MODES.includes(mode)) throw new Error(`Unknown page mode: ${mode}.`);
  return mode;
}

// What a key press asks for in `mode`, or null when the page leaves the key alone (the browser or
// the focused control handles it). `press`: {key, ctrlKey, altKey, metaKey, shiftKey}; `focus`: "text" (an
// input, textarea or select), "control" (a button, link or other focusable control), or "none"
// (the page, the item); `shortcuts`: Map of shortcut key -> category key. Shift+Tab is always the
// browser's: it is how a keyboard user goes back to the controls.
export function keyAction(press, focus, mode, shortcuts) {
  if (focus === "text" || press.altKey || press.metaKey) return null;
  if (checkMode(mode) === "group") return groupKeyAction(press, focus, shortcuts);
  let action = null;
  if (press.ctrlKey) {
    if (press.key.toLowerCase() === "z") action = { type: "undo" };
  } else if (press.key === "Tab" || press.key === "Enter") {
    // On a focused control Tab moves focus and Enter presses it: they are not the page's
    if (focus === "control" || (press.key === "Tab" && press.shiftKey)) return null;
    action = press.key === "Tab" ? { type: "skip" } : { type: "save" };
  } else if (NAVIGATION[press.key]) {
    action = { type: "walk", direction: NAVIGATION[press.key] };
  } else if (press.key === "?") {
    action = { type: "help" };
  } else if (press.key === "G" && press.shiftKey) {
    action = { type: "group" }; // Shift, so every letter stays a category's
  } else if (press.key === "C" && press.shiftKey) {
    action = { type: "clusters" };
  } else if (shortcuts.has(press.key.toLowerCase())) {
    action = { type: "choose", category: shortcuts.get(press.key.toLowerCase()) };
  }
  return action && ALLOWED[checkMode(mode)].has(action.type) ? action : null;
}

// In the group view: arrows, Home and End move over the tiles, Space ticks or unticks the one the
// keyboard is on, Backspace plays it (sounds), a category key sets the group's label and Enter
// labels the ticked items. Tab is the browser's (to the group's buttons); a focused button takes Space and Enter.
function groupKeyAction(press, focus, shortcuts) {
  if (press.ctrlKey) return null;
  const onControl = focus === "control";
  if (press.key === "Enter") return onControl ? null : { type: "groupConfirm" };
  if (press.key === " ") return onControl ? null : { type: "groupToggle" };
  if (press.key === "Backspace") return { type: "groupPlay" };
  if (GROUP_MOVES[press.key]) return { type: "groupMove", direction: GROUP_MOVES[press.key] };
  if (press.key === "?") return { type: "help" };
  if ((press.key === "G" || press.key === "C") && press.shiftKey) return null; // the group is open already
  const category = shortcuts.get(press.key.toLowerCase());
  return category ? { type: "choose", category } : null;
}

// Key presses made while a request holds the page, replayed in order once it lets go (each read
// in the mode the page is then in). A bounded list: a key held down must not replay for minutes.
export class ActionQueue {
  constructor(limit = 20) {
    this.limit = limit;
    this.pending = [];
  }

  push(action) {
    if (this.pending.length >= this.limit) return false;
    this.pending.push(action);
    return true;
  }

  shift() {
    return this.pending.shift() || null;
  }

  clear() {
    this.pending = [];
  }

  get size() {
    return this.pending.length;
  }
}

// The new items the page holds ahead of the one shown, leased to this annotator. An answer moves
// the page on at once (the next item is already here) while it is sent; a batch asked for before
// that answer was saved may serve its item again, and `merge` leaves it out. `lowWater`: how few
// held items make the page ask for the next batch.
export class Upcoming {
  constructor(lowWater = 3) {
    this.lowWater = lowWater;
    this.items = [];
    this.tick = 0; // counts answers and batch requests, to order them
    this.answered = new Map(); // item id -> tick its answer was saved at (Infinity while sending)
  }

  get current() {
    return this.items[0] || null;
  }

  get ids() {
    return this.items.map((item) => item.id);
  }

  needsMore() {
    return this.items.length <= this.lowWater;
  }

  // Before asking for a batch: the mark its answer is compared with in `merge`.
  mark() {
    this.tick += 1;
    return this.tick;
  }

  // The item was answered: off the list, and left out of batches until its answer is saved.
  answer(id) {
    this.items = this.items.filter((item) => item.id !== id);
    this.answered.set(id, Infinity);
  }

  // Its answer is saved: a batch asked for from now on knows it, so may serve it again on purpose
  // (a skipped item comes back when the others are done).
  saved(id) {
    this.answered.set(id, this.mark());
  }

  // Its answer failed: it is the item to show again, first.
  restore(item) {
    this.answered.delete(item.id);
    this.putFirst([item]);
  }

  // Items of a batch asked for at `mark`, after the ones held (which keep their order).
  merge(items, mark) {
    const held = new Set(this.ids);
    const stale = (id) => this.answered.has(id) && this.answered.get(id) >= mark;
    this.items = this.items.concat(items.filter((item) => !held.has(item.id) && !stale(item.id)));
  }

  // Items to show next, before the ones held (a search's results).
  putFirst(items) {
    const first = new Set(items.map((item) => item.id));
    this.items = items.concat(this.items.filter((item) => !first.has(item.id)));
  }

  clear() {
    this.items = [];
  }
}
