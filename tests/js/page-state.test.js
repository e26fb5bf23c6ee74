// The labeling page's state logic (resource/labelloop/page-state.js), run by `node --test tests/js/`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ActionQueue, MODES, Upcoming, checkMode, keyAction } from "../../resource/labelloop/page-state.js";

const SHORTCUTS = new Map([["1", "cat"], ["2", "dog"], ["a", "bird"]]);
const press = (key, extra = {}) => ({ key, ctrlKey: false, altKey: false, metaKey: false, shiftKey: false, ...extra });
const item = (id) => ({ id, data: { n: id } });

test("a category key chooses its category in every mode that shows an item", () => {
  for (const mode of ["labeling", "history", "review"]) {
    assert.deepEqual(keyAction(press("2"), "none", mode, SHORTCUTS), { type: "choose", category: "dog" });
    assert.deepEqual(keyAction(press("A"), "none", mode, SHORTCUTS), { type: "choose", category: "bird" });
  }
  assert.equal(keyAction(press("7"), "none", "labeling", SHORTCUTS), null);
});

test("with no item shown a category key labels nothing, while history and help still answer", () => {
  for (const mode of ["waiting", "done"]) {
    assert.equal(keyAction(press("1"), "none", mode, SHORTCUTS), null);
    assert.equal(keyAction(press("Tab"), "none", mode, SHORTCUTS), null);
    assert.deepEqual(keyAction(press("ArrowLeft"), "none", mode, SHORTCUTS), { type: "walk", direction: "back" });
    assert.deepEqual(keyAction(press("z", { ctrlKey: true }), "none", mode, SHORTCUTS), { type: "undo" });
    assert.deepEqual(keyAction(press("?"), "none", mode, SHORTCUTS), { type: "help" });
  }
});

test("the name form takes every key", () => {
  for (const key of ["1", "Tab", "Enter", "ArrowLeft", "?"]) assert.equal(keyAction(press(key), "none", "naming", SHORTCUTS), null);
});

test("Tab and Enter belong to a focused control, and skip or save only from the page itself", () => {
  assert.deepEqual(keyAction(press("Tab"), "none", "labeling", SHORTCUTS), { type: "skip" });
  assert.deepEqual(keyAction(press("Enter"), "none", "labeling", SHORTCUTS), { type: "save" });
  assert.equal(keyAction(press("Tab"), "control", "labeling", SHORTCUTS), null);
  assert.equal(keyAction(press("Tab", { shiftKey: true }), "none", "labeling", SHORTCUTS), null);
  assert.equal(keyAction(press("Enter"), "control", "review", SHORTCUTS), null);
  // a category key still labels from a focused button: buttons take no letters
  assert.deepEqual(keyAction(press("1"), "control", "labeling", SHORTCUTS), { type: "choose", category: "cat" });
});

test("typing in a text field and keys with Alt or Meta are left to the browser", () => {
  assert.equal(keyAction(press("1"), "text", "labeling", SHORTCUTS), null);
  assert.equal(keyAction(press("Tab"), "text", "labeling", SHORTCUTS), null);
  assert.equal(keyAction(press("1", { altKey: true }), "none", "labeling", SHORTCUTS), null);
  assert.equal(keyAction(press("ArrowLeft", { metaKey: true }), "none", "labeling", SHORTCUTS), null);
  assert.equal(keyAction(press("c", { ctrlKey: true }), "none", "labeling", SHORTCUTS), null);
});

test("walking history and undo are not offered while reviewing", () => {
  assert.equal(keyAction(press("ArrowLeft"), "none", "review", SHORTCUTS), null);
  assert.equal(keyAction(press("z", { ctrlKey: true }), "none", "review", SHORTCUTS), null);
  assert.deepEqual(keyAction(press("Tab"), "none", "review", SHORTCUTS), { type: "skip" });
});

test("an unknown mode is a programming error, named", () => {
  assert.equal(MODES.length, 7);
  assert.throws(() => checkMode("busy"), /Unknown page mode: busy/);
  assert.throws(() => keyAction(press("1"), "none", "busy", SHORTCUTS), /busy/);
});

test("presses wait in order and a held-down key stops at the limit", () => {
  const queue = new ActionQueue(3);
  assert.equal(queue.shift(), null);
  for (const key of ["1", "2", "3", "4"]) queue.push(press(key));
  assert.equal(queue.size, 3);
  assert.deepEqual([queue.shift().key, queue.shift().key, queue.shift().key], ["1", "2", "3"]);
  assert.equal(queue.shift(), null);
  queue.push(press("1"));
  queue.clear();
  assert.equal(queue.size, 0);
});

test("answering moves on to the item held next and asks for more when few are left", () => {
  const upcoming = new Upcoming(2);
  upcoming.merge([item("a"), item("b"), item("c"), item("d")], upcoming.mark());
  assert.equal(upcoming.current.id, "a");
  assert.equal(upcoming.needsMore(), false);
  upcoming.answer("a");
  assert.equal(upcoming.current.id, "b");
  upcoming.answer("b");
  assert.equal(upcoming.needsMore(), true);
  assert.deepEqual(upcoming.ids, ["c", "d"]);
});

test("a batch asked for before an answer was saved does not serve its item again", () => {
  const upcoming = new Upcoming();
  upcoming.merge([item("a"), item("b")], upcoming.mark());
  upcoming.answer("a");
  const early = upcoming.mark(); // the server may not know of the answer yet
  upcoming.saved("a");
  upcoming.merge([item("a"), item("b"), item("c")], early);
  assert.deepEqual(upcoming.ids, ["b", "c"]);
});

test("an item answered while its batch was sent is left out too", () => {
  const upcoming = new Upcoming();
  upcoming.merge([item("a"), item("b")], upcoming.mark());
  const asked = upcoming.mark();
  upcoming.answer("b"); // still sending
  upcoming.merge([item("a"), item("b"), item("c")], asked);
  assert.deepEqual(upcoming.ids, ["a", "c"]);
});

test("an item saved before the batch was asked for may come back (a skipped item, when the rest is done)", () => {
  const upcoming = new Upcoming();
  upcoming.merge([item("a")], upcoming.mark());
  upcoming.answer("a");
  upcoming.saved("a");
  upcoming.merge([item("a")], upcoming.mark());
  assert.deepEqual(upcoming.ids, ["a"]);
});

test("an answer that failed brings its item back first, and search results go before the held items", () => {
  const upcoming = new Upcoming();
  upcoming.merge([item("a"), item("b"), item("c")], upcoming.mark());
  upcoming.answer("a");
  upcoming.restore(item("a"));
  assert.deepEqual(upcoming.ids, ["a", "b", "c"]);
  upcoming.putFirst([item("x"), item("c")]);
  assert.deepEqual(upcoming.ids, ["x", "c", "a", "b"]);
  upcoming.clear();
  assert.equal(upcoming.current, null);
});
