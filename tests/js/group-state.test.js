// The group view's state (resource/labelloop/group-state.js) and its keys (page-state.js), run by `node --test tests/js/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { GroupSelection, MAX_GROUP, groupItems, proposedLabel } from "../../resource/labelloop/group-state.js";
import { keyAction } from "../../resource/labelloop/page-state.js";

const CATEGORIES = [{ key: "cat" }, { key: "dog" }, { key: "bird" }];
const SHORTCUTS = new Map([["1", "cat"], ["2", "dog"], ["g", "bird"]]);
const press = (key, extra = {}) => ({ key, ctrlKey: false, altKey: false, metaKey: false, shiftKey: false, ...extra });
const item = (id, label) => ({ id, data: {}, suggestion: label === undefined ? null : { label, probabilities: {} } });
const group = (count, options = {}) =>
  new GroupSelection(Array.from({ length: count }, (_, n) => item(`i${n}`)), { categories: CATEGORIES, ...options });

test("a group proposes the suggestion most of its items carry, the first item's on a tie, none without one", () => {
  assert.equal(proposedLabel([item("a", "dog"), item("b", "cat"), item("c", "cat")]), "cat");
  assert.equal(proposedLabel([item("a", "dog"), item("b", "cat")]), "dog");
  assert.equal(proposedLabel([item("a"), item("b", "bird")]), "bird");
  assert.equal(proposedLabel([item("a"), { id: "b", data: {}, suggestion: { unscored: true } }]), null);
  const selection = new GroupSelection([item("a", "dog"), item("b")], { categories: CATEGORIES });
  assert.deepEqual(selection.request(), { ids: ["a", "b"], label: "dog" });
});

test("every item starts ticked; unticked ones are left out of the request and given back", () => {
  const selection = group(5, { label: "cat" });
  selection.toggle(1);
  selection.toggle(3);
  assert.deepEqual(selection.ticked, ["i0", "i2", "i4"]);
  assert.deepEqual(selection.unticked, ["i1", "i3"]);
  assert.deepEqual(selection.request("looked alike"), { ids: ["i0", "i2", "i4"], label: "cat", comment: "looked alike" });
  // given back: the unticked ones once confirmed, all when left; never those the page holds one by one
  assert.deepEqual(selection.toRelease(true, ["i3", "zz"]), ["i1"]);
  assert.deepEqual(selection.toRelease(false, ["i0"]), ["i1", "i2", "i3", "i4"]);
  selection.toggle(1);
  assert.equal(selection.isTicked(1), true);
});

test("the keyboard's tile toggles by default and moves inside the grid by rows and columns", () => {
  const selection = group(7, { label: "cat" });
  assert.equal(selection.move("right", 3), 1);
  assert.equal(selection.move("down", 3), 4);
  assert.equal(selection.move("down", 3), 6); // the last row is short: stays inside
  assert.equal(selection.move("up", 3), 3);
  assert.equal(selection.move("left", 3), 2);
  assert.equal(selection.move("first", 3), 0);
  assert.equal(selection.move("left", 3), 0);
  assert.equal(selection.move("last", 3), 6);
  selection.toggle();
  assert.deepEqual(selection.unticked, ["i6"]);
  selection.toggle(2); // a click: its tile becomes the keyboard's
  assert.equal(selection.cursor, 2);
});

test("a category key sets a single label, toggles one of a multi-label answer, and ignores unknown keys", () => {
  const single = group(2, { label: "cat" });
  single.choose("dog");
  single.choose("nope");
  assert.equal(single.label, "dog");
  const multi = group(2, { multiLabel: true, label: ["bird"] });
  multi.choose("cat");
  assert.deepEqual(multi.label, ["cat", "bird"]); // in the categories' order
  multi.choose("bird");
  assert.deepEqual(multi.label, ["cat"]);
});

test("a group with nothing ticked or no label says why in one sentence instead of being sent", () => {
  const selection = group(2);
  assert.match(selection.problem(), /Choose the group's category/);
  selection.choose("cat");
  assert.equal(selection.problem(), null);
  selection.setAll(false);
  assert.match(selection.problem(), /Every item is unticked/);
  selection.setAll(true);
  assert.equal(selection.ticked.length, 2);
  assert.throws(() => group(0), /at least one/);
  assert.throws(() => group(MAX_GROUP + 1), /at most 500/);
});

test("a group from an item has that item first, then the similar ones, each once", () => {
  const similar = [{ id: "b", similarity: 0.9 }, { id: "a", similarity: 1 }, { id: "c", similarity: 0.5 }];
  const items = groupItems({ id: "a" }, similar);
  assert.deepEqual(items.map((found) => found.id), ["a", "b", "c"]);
  assert.equal(items[0].similarity, 1); // as found, when the item is among the similar ones
  assert.deepEqual(groupItems({ id: "z" }, similar).map((found) => found.id), ["z", "b", "a", "c"]);
});

test("Shift+G opens a group from a new item, and leaves g to its category", () => {
  assert.deepEqual(keyAction(press("G", { shiftKey: true }), "none", "labeling", SHORTCUTS), { type: "group" });
  assert.deepEqual(keyAction(press("g"), "none", "labeling", SHORTCUTS), { type: "choose", category: "bird" });
  assert.deepEqual(keyAction(press("G"), "none", "labeling", SHORTCUTS), { type: "choose", category: "bird" }); // Caps Lock
  for (const mode of ["history", "review", "waiting", "done"]) {
    assert.equal(keyAction(press("G", { shiftKey: true }), "none", mode, SHORTCUTS), null, mode);
  }
});

test("Shift+C opens the Clusters view wherever labeling may go on, and leaves c to its category", () => {
  const shortcuts = new Map([...SHORTCUTS, ["c", "cat"]]);
  for (const mode of ["labeling", "history", "waiting", "done"]) {
    assert.deepEqual(keyAction(press("C", { shiftKey: true }), "none", mode, shortcuts), { type: "clusters" }, mode);
  }
  assert.deepEqual(keyAction(press("c"), "none", "labeling", shortcuts), { type: "choose", category: "cat" });
  for (const mode of ["review", "group", "naming"]) {
    assert.equal(keyAction(press("C", { shiftKey: true }), "none", mode, shortcuts), null, mode);
  }
  assert.equal(keyAction(press("C", { shiftKey: true }), "text", "labeling", shortcuts), null); // typing a capital C
});

test("in a group, arrows move, Space ticks, Enter confirms, category keys set the label, Tab is the browser's", () => {
  const at = (key, focus = "none", extra = {}) => keyAction(press(key, extra), focus, "group", SHORTCUTS);
  assert.deepEqual(at("ArrowDown"), { type: "groupMove", direction: "down" });
  assert.deepEqual(at("Home"), { type: "groupMove", direction: "first" });
  assert.deepEqual(at(" "), { type: "groupToggle" });
  assert.deepEqual(at("Enter"), { type: "groupConfirm" });
  assert.deepEqual(at("Backspace"), { type: "groupPlay" });
  assert.deepEqual(at("2"), { type: "choose", category: "dog" });
  assert.deepEqual(at("?"), { type: "help" });
  assert.equal(at("Tab"), null);
  assert.equal(at("G", "none", { shiftKey: true }), null); // Shift+G again does not choose g's category
  assert.equal(at("z", "none", { ctrlKey: true }), null); // no undo of single answers inside a group
  assert.equal(at("Enter", "control"), null); // a focused button takes Enter and Space
  assert.equal(at(" ", "control"), null);
  assert.equal(at("1", "text"), null); // typing a comment
});
