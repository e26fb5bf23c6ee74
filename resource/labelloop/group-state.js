// A group being labeled at once (DESIGN §13), without the DOM: its items, which are ticked, the
// tile the keyboard is on, and the label proposed for the ticked ones. group-view.js draws it;
// tests/js/group-state.test.js runs it under `node --test`.

export const MAX_GROUP = 500; // what POST /label/bulk takes at once

// The label a group proposes: the suggestion most of its items carry (the first item's on a tie,
// so a group opened from an item proposes that item's suggestion unless most others disagree).
// Null when no item has a suggestion: the annotator picks the category.
export function proposedLabel(items) {
  const votes = new Map();
  for (const item of items) {
    const label = item.suggestion && !item.suggestion.unscored ? item.suggestion.label : null;
    if (label === null || label === undefined) continue;
    const key = JSON.stringify(label);
    votes.set(key, { label, count: ((votes.get(key) || {}).count || 0) + 1 });
  }
  let best = null;
  for (const vote of votes.values()) if (!best || vote.count > best.count) best = vote;
  return best ? best.label : null;
}

// `items`: [{id, data, suggestion?, similarity?}], all ticked at first; `categories`: the config's,
// in order (a multi-label answer lists its keys in that order).
export class GroupSelection {
  constructor(items, { categories, multiLabel = false, label = proposedLabel(items) }) {
    if (!items.length) throw new Error("A group needs at least one item.");
    if (items.length > MAX_GROUP) throw new Error(`A group has at most ${MAX_GROUP} items.`);
    this.items = items;
    this.order = categories.map((category) => category.key);
    this.multiLabel = multiLabel;
    this.chosen = new Set(label === null ? [] : [].concat(label).filter((key) => this.order.includes(key)));
    this.off = new Set(); // ids unticked
    this.cursor = 0; // the tile the keyboard is on
  }

  isTicked(index) {
    return !this.off.has(this.items[index].id);
  }

  get ticked() {
    return this.items.filter((item) => !this.off.has(item.id)).map((item) => item.id);
  }

  get unticked() {
    return this.items.filter((item) => this.off.has(item.id)).map((item) => item.id);
  }

  // Tick or untick one tile (the keyboard's when `index` is not given); it becomes the keyboard's.
  toggle(index = this.cursor) {
    const id = this.items[index].id;
    if (this.off.has(id)) this.off.delete(id);
    else this.off.add(id);
    this.cursor = index;
  }

  setAll(ticked) {
    this.off = new Set(ticked ? [] : this.items.map((item) => item.id));
  }

  // Move the keyboard's tile in a grid of `columns`: left, right, up, down, first or last; it stays inside.
  move(direction, columns) {
    const last = this.items.length - 1;
    const steps = { left: -1, right: 1, up: -columns, down: columns };
    if (direction === "first") this.cursor = 0;
    else if (direction === "last") this.cursor = last;
    else this.cursor = Math.min(last, Math.max(0, this.cursor + steps[direction]));
    return this.cursor;
  }

  // A category key: single-label, the group's label becomes it; multi-label, it is toggled.
  choose(key) {
    if (!this.order.includes(key)) return;
    if (!this.multiLabel) this.chosen = new Set([key]);
    else if (this.chosen.has(key)) this.chosen.delete(key);
    else this.chosen.add(key);
  }

  get label() {
    const keys = this.order.filter((key) => this.chosen.has(key));
    if (!keys.length) return null;
    return this.multiLabel ? keys : keys[0];
  }

  // Why the group cannot be confirmed yet, in one sentence, or null when it can.
  problem() {
    if (!this.ticked.length) return "Every item is unticked: tick the ones to label, or press Esc to leave the group.";
    if (this.label === null) return "Choose the group's category first (its key or its button), then press Enter.";
    return null;
  }

  // The body of POST /label/bulk.
  request(comment = "") {
    const body = { ids: this.ticked, label: this.label };
    if (comment) body.comment = comment;
    return body;
  }

  // The items to give back once the group is confirmed (the unticked ones) or left (all), less
  // those the page holds for labeling one by one (`held` ids): they stay leased to it.
  toRelease(confirmed, held) {
    const keep = new Set(held);
    return (confirmed ? this.unticked : this.items.map((item) => item.id)).filter((id) => !keep.has(id));
  }
}

// The items of a group opened from `anchor` (the item shown) with the similar items found: the
// anchor first (as found, with its similarity, when it is among them), then the others nearest first.
export function groupItems(anchor, similar) {
  const first = similar.find((item) => item.id === anchor.id) || anchor;
  return [first].concat(similar.filter((item) => item.id !== anchor.id)).slice(0, MAX_GROUP);
}
