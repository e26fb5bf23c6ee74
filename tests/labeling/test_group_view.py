"""The group view in a real browser (Chromium via Playwright), as an annotator uses it: open the
items like the one shown as a group, untick what does not belong, label the rest with one key,
see the count move, undo the group from the Groups view and see it move back (issue 32)."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from browser import browser_page, open_view, screenshot
from polling import eventually
from servers import LABELLOOP, labelloop_server, page_request
from test_browser import current_id, sign_in, small_project
from test_page_layout import box_in_view

from labelloop.standalone.project import Project

ITEM = {"tabular": ".row-table", "text": ".text-body", "image": ".image-viewport", "sound": ".sound-item .wave"}


def labeled(page) -> int:
    return int(re.match(r"(\d+) labeled", page.locator(".counts").inner_text()).group(1))


def wait_for_labeled(page, count: int) -> None:
    page.wait_for_function(f"() => document.querySelector('.counts').textContent.startsWith('{count} labeled ')",
                           timeout=15_000)


def similar_ready(url) -> bool:
    status, stats = page_request(url, "GET", "/stats", {})
    return status == 200 and stats["similar"]["ready"]


def check_group_fits(page):
    """The group's bar (count and confirm button) and its first tiles are on screen; the page does not scroll."""
    scrolls = page.evaluate("() => [document.scrollingElement.scrollHeight > innerHeight,"
                            " document.scrollingElement.scrollWidth > innerWidth]")
    assert scrolls == [False, False]
    assert box_in_view(page, page.locator(".group-confirm"))
    assert box_in_view(page, page.get_by_role("button", name="Leave (Esc)"))
    tiles = page.locator(".group-tile")
    for n in range(min(4, tiles.count())):
        assert box_in_view(page, tiles.nth(n)), f"tile {n} is off screen"


@pytest.mark.parametrize("kind, width, height", [("tabular", 1280, 720), ("text", 1600, 900)])
def test_a_group_is_labeled_with_one_key_less_the_two_unticked_and_undone_from_the_groups_view(
        tmp_path, kind, width, height):
    demo = tmp_path / f"demo-{kind}"
    with labelloop_server("demo", "--type", kind, "--dir", demo, "--retrain-every", "0") as url, \
            browser_page(width, height) as page:
        assert eventually(lambda: similar_ready(url), timeout=60), "the similar items' index was not built"
        page.goto(url)
        page.wait_for_selector(ITEM[kind])
        assert labeled(page) == 0
        page.keyboard.press("Shift+G")
        page.wait_for_selector(".group-tile")
        tiles = page.locator(".group-tile")
        size = tiles.count()
        assert size == 20
        assert page.locator(".group-tile[aria-checked='true']").count() == size  # all ticked
        assert page.locator(".position").inner_text() == f"A group of {size}"
        check_group_fits(page)
        screenshot(page, f"group-{kind}-{width}x{height}")
        # untick two: one with the mouse, one with the keyboard (the grid keeps the focus)
        tiles.nth(3).click()
        page.keyboard.press("ArrowDown")
        page.keyboard.press(" ")
        columns = page.locator(".group-grid").evaluate("g => getComputedStyle(g).gridTemplateColumns.split(' ').length")
        unticked = page.locator(".group-tile[aria-checked='false']")
        assert unticked.count() == 2
        assert unticked.evaluate_all("ts => ts.map((t) => t.id)") == [f"group-tile-{n}" for n in sorted({3, 3 + columns})]
        assert page.locator(".group-count").inner_text() == f"{size - 2} of {size} ticked"
        # no model yet, so no label is proposed: the category key sets it, Enter labels the ticked items
        assert page.locator(".group-confirm").is_disabled()
        page.keyboard.press("1")
        caption = page.locator("button.category").first.get_attribute("aria-label")
        assert page.locator(".group-confirm").inner_text() == f"Label {size - 2} as {caption} (Enter)"
        screenshot(page, f"group-{kind}-{width}x{height}-two-unticked")
        page.keyboard.press("Enter")
        wait_for_labeled(page, size - 2)
        page.wait_for_selector(ITEM[kind])  # back to labeling one by one
        assert page.locator(".group-tile").count() == 0
        status, found = page_request(url, "GET", "/stats", {})
        assert status == 200 and found["labeledItems"] == size - 2
        open_view(page, "groups")
        entry = page.locator(".group-entry")
        assert entry.count() == 1 and entry.inner_text().startswith(f"{size - 2} × {caption}")
        screenshot(page, f"group-{kind}-{width}x{height}-groups-view")
        page.get_by_role("button", name=f"Undo the group of {size - 2}").click()
        wait_for_labeled(page, 0)
        page.locator(".group-entry.undone").wait_for()
        assert page.locator(".message").inner_text() == f"The group is undone: its {size - 2} item(s) go back to the queue."


def open_group(page, url, kind):
    assert eventually(lambda: similar_ready(url), timeout=60), "the similar items' index was not built"
    page.goto(url)
    page.wait_for_selector(ITEM[kind])
    page.keyboard.press("Shift+G")
    page.wait_for_selector(".group-tile")


def leave_group(page, kind):
    """Esc leaves the group with nothing labeled: the item view is back."""
    page.keyboard.press("Escape")
    page.wait_for_selector(ITEM[kind])
    assert page.locator(".group-tile").count() == 0 and labeled(page) == 0


def test_image_tiles_are_thumbnails_and_esc_leaves_the_group_unlabeled(tmp_path):
    with labelloop_server("demo", "--type", "image", "--dir", tmp_path / "demo", "--retrain-every", "0") as url, \
            browser_page(1280, 720) as page:
        open_group(page, url, "image")
        page.wait_for_function("() => [...document.querySelectorAll('.group-tile img')].every((i) => i.naturalWidth > 0)")
        assert page.locator(".group-tile img").count() == page.locator(".group-tile").count() > 1
        check_group_fits(page)
        screenshot(page, "group-image-1280x720")
        leave_group(page, "image")


def test_sound_tiles_play_by_click_and_by_backspace(tmp_path):
    with labelloop_server("demo", "--type", "sound", "--dir", tmp_path / "demo", "--retrain-every", "0") as url, \
            browser_page(1280, 720) as page:
        open_group(page, url, "sound")
        page.locator(".group-tile .tile-play").nth(1).click()
        page.wait_for_function("() => !document.querySelectorAll('.group-tile audio')[1].paused")
        page.locator(".group-tile .tile-play").nth(1).get_by_text("❚❚ Pause").wait_for()
        assert page.locator(".group-tile[aria-checked='false']").count() == 0, "playing does not untick"
        page.locator(".group-grid").focus()
        page.keyboard.press("Home")
        page.keyboard.press("Backspace")  # plays the first tile's sound, and only that one
        page.wait_for_function("() => { const a = document.querySelectorAll('.group-tile audio');"
                               " return !a[0].paused && a[1].paused; }")
        screenshot(page, "group-sound-1280x720")
        leave_group(page, "sound")


def test_a_search_opens_its_results_as_a_group(tmp_path):
    with labelloop_server("demo", "--type", "text", "--dir", tmp_path / "demo", "--retrain-every", "0") as url, \
            browser_page(1280, 720) as page:
        page.goto(url)
        page.wait_for_selector(ITEM["text"])
        page.get_by_role("searchbox", name="Search items").fill("apple")
        page.get_by_role("button", name="As a group").click()
        page.wait_for_selector(".group-tile")
        texts = page.locator(".group-tile .tile-text").all_inner_texts()
        assert len(texts) == 20 and all("apple" in text.lower() for text in texts)
        assert page.locator(".group-view strong").first.inner_text() == "Found for “apple”"
        screenshot(page, "group-search-1280x720")
        leave_group(page, "text")


def test_keys_typed_before_the_group_shows_act_on_it_in_order(tmp_path):
    """Shift+G, Space, 1, Enter typed at once: the keys wait while the group loads, then untick the
    item shown, set the label and confirm; the item left out is the one shown next."""
    with labelloop_server("demo", "--type", "tabular", "--dir", tmp_path / "demo", "--retrain-every", "0") as url, \
            browser_page(1280, 720) as page:
        assert eventually(lambda: similar_ready(url), timeout=60), "the similar items' index was not built"
        page.goto(url)
        page.wait_for_selector(ITEM["tabular"])
        anchor = current_id(page, "wine_id")
        for key in ["Shift+G", " ", "1", "Enter"]:
            page.keyboard.press(key)
        wait_for_labeled(page, 19)
        page.wait_for_selector(ITEM["tabular"])
        assert current_id(page, "wine_id") == anchor


def leased(demo) -> set:
    """The items anyone holds a lease on now, read from the project's journal."""
    project = Project.open(demo)
    try:
        return project.journal.leased_to_others("")
    finally:
        project.close()


def test_the_items_left_out_go_back_to_the_queue_and_leaving_gives_the_whole_group_back(tmp_path):
    """Unticked items, and every item of a group left with Esc, are leased to nobody once the page
    moves on, except the ones the page already held to label one by one."""
    demo = tmp_path / "demo"
    with labelloop_server("demo", "--type", "tabular", "--dir", demo, "--retrain-every", "0") as url, \
            browser_page(1280, 720) as page:
        batches = []
        page.on("response", lambda response: batches.append(response) if "/batch?" in response.url else None)
        assert eventually(lambda: similar_ready(url), timeout=60), "the similar items' index was not built"
        page.goto(url)
        page.wait_for_selector(ITEM["tabular"])
        page.keyboard.press("Shift+G")
        page.wait_for_selector(".group-tile")
        held = {item["id"] for response in batches for item in response.json()["items"]}
        ids = page.locator(".group-tile").evaluate_all("ts => ts.map((t) => t.title)")
        out = [n for n, item_id in enumerate(ids) if n and item_id not in held][:2]
        for n in out:
            page.locator(".group-tile").nth(n).click()
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        wait_for_labeled(page, len(ids) - 2)
        page.wait_for_selector(ITEM["tabular"])  # the page shows an item once it gave the others back
        assert not {ids[n] for n in out} & leased(demo)
        page.keyboard.press("Shift+G")
        page.wait_for_selector(".group-tile")
        held = {item["id"] for response in batches for item in response.json()["items"]}
        group = set(page.locator(".group-tile").evaluate_all("ts => ts.map((t) => t.title)"))
        assert group - held <= leased(demo)  # leased to the page while the group is open
        page.keyboard.press("Escape")
        page.wait_for_selector(ITEM["tabular"])
        assert not (group - held) & leased(demo)
        assert labeled(page) == len(ids) - 2


def test_a_reviewer_sees_an_annotators_group_and_undoes_it(tmp_path, monkeypatch):
    project = small_project(tmp_path, [{"key": "yes", "caption": "Yes"}, {"key": "no", "caption": "No"}], rows=40)
    issued = subprocess.run([LABELLOOP, "names", str(project), "--issue", "rev", "--json"], capture_output=True, text=True)
    token = "group-token-0123456789"
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", token)
    ada = {"Authorization": f"Bearer {token}", "X-Labelloop-User": "ada", "X-Labelloop-Key": "a" * 32}
    with labelloop_server("serve", project, "--reviewers", "rev", "--retrain-every", "0") as url, \
            browser_page(1280, 720) as page:
        ids = [item["id"] for item in page_request(url, "GET", "/batch?size=5", ada)[1]["items"]]
        status, given = page_request(url, "POST", "/label/bulk", ada, {"ids": ids, "label": "yes"})
        assert status == 200 and given["recorded"] == 5
        page.goto(url + "?token=" + token)
        sign_in(page, "rev", json.loads(issued.stdout)["key"])
        page.wait_for_selector(".row-table")
        wait_for_labeled(page, 5)
        open_view(page, "groups")
        assert page.locator(".group-entry").inner_text().startswith("5 × Yes by ada")
        page.get_by_role("button", name="Undo the group of 5").click()
        wait_for_labeled(page, 0)
        page.locator(".group-entry.undone").wait_for()
        assert page.locator(".group-entry").inner_text().endswith("undone by rev")
        screenshot(page, "group-undone-by-a-reviewer")
