"""Input is never lost on the labeling page (issue 35, part 3), in a real browser at 1280x720 and 1400x900."""
from __future__ import annotations

import pandas as pd
import pytest
from browser import browser_page, screenshot
from polling import eventually
from servers import labelloop_server, page_request
from test_browser import current_id, position, sign_in, small_project

from labelloop.standalone.project import Project

SCREENS = [(1280, 720), (1400, 900)]
YES_NO = [{"key": "yes", "caption": "Yes"}, {"key": "no", "caption": "No"}]
# Every request of the page answered this much later, as on a slow network or a busy server
SLOW_FETCH = """(() => {
  const fetchNow = window.fetch.bind(window);
  window.fetch = (...args) => new Promise((resolve) => setTimeout(resolve, %d)).then(() => fetchNow(...args));
})();"""


def answers(project) -> dict:
    meta = Project.open(project).platform.read_dataset("metadata")
    return {str(row["data_id"]): (row["status"], None if pd.isna(row["label"]) else row["label"])
            for row in meta.to_dict("records")}


@pytest.mark.parametrize("width,height", SCREENS)
def test_after_a_search_a_category_key_labels_the_item_found(tmp_path, width, height):
    project = small_project(tmp_path, YES_NO, rows=12)
    with labelloop_server("serve", project, "--retrain-every", "0") as url, browser_page(width, height) as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        search = page.get_by_role("searchbox", name="Search items")
        search.fill("row 7")
        search.press("Enter")
        page.wait_for_function("() => document.querySelector('.reason').textContent.includes('Search result')")
        assert current_id(page, "id") == "7"
        assert page.evaluate("() => document.activeElement === document.querySelector('.item')")
        page.keyboard.press("2")
        page.wait_for_function("() => document.querySelector('.counts').textContent.startsWith('1 labeled')")
        assert search.input_value() == "row 7"  # the key labeled the item, it did not type into the box
        assert current_id(page, "id") != "7"
        screenshot(page, f"search-then-key-{width}x{height}")
    assert answers(project) == {"7": ("LABELED", "no")}


@pytest.mark.parametrize("width,height", SCREENS)
def test_keys_pressed_during_slow_requests_are_all_kept_in_order(tmp_path, width, height):
    project = small_project(tmp_path, YES_NO, rows=12)
    with labelloop_server("serve", project, "--retrain-every", "0") as url, browser_page(width, height) as page:
        page.add_init_script(SLOW_FETCH % 700)
        with page.expect_response(lambda response: "/batch" in response.url) as first_batch:
            page.goto(url)
        order = [str(item["id"]) for item in first_batch.value.json()["items"]]
        page.wait_for_selector(".row-table")
        # typed at once, while the answers and then the history read are still on their way
        for key in ["1", "2", "Tab", "2", "1", "Control+z", "2", "1"]:
            page.keyboard.press(key)
        page.wait_for_function("() => document.querySelector('.counts').textContent.startsWith('5 labeled · 1 skipped')",
                               timeout=30_000)
        assert eventually(lambda: position(page) == "New item" and current_id(page, "id") == order[6])
    assert answers(project) == {order[0]: ("LABELED", "yes"), order[1]: ("LABELED", "no"), order[2]: ("SKIPPED", None),
                                order[3]: ("LABELED", "no"), order[4]: ("LABELED", "no"),  # relabeled after Ctrl+Z
                                order[5]: ("LABELED", "yes")}


@pytest.mark.parametrize("width,height", SCREENS)
def test_tab_and_enter_belong_to_a_focused_button_and_the_help_is_a_modal_dialog(tmp_path, width, height):
    project = small_project(tmp_path, YES_NO, rows=5)
    with labelloop_server("serve", project, "--retrain-every", "0") as url, browser_page(width, height) as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        shown = current_id(page, "id")
        assert page.get_by_role("button", name="Yes").get_attribute("aria-keyshortcuts") == "1"
        progress = page.get_by_role("progressbar", name="Items answered")
        assert (progress.get_attribute("aria-valuenow"), progress.get_attribute("aria-valuemax")) == ("0", "5")
        page.get_by_role("textbox", name="Comment").click()
        for _ in range(3):  # from the comment box through First and Back to Skip: focus moves, nothing is skipped
            page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent") == "Skip (Tab)"
        assert current_id(page, "id") == shown and position(page) == "New item"
        page.keyboard.press("Enter")  # presses the focused Skip button
        page.wait_for_function("() => document.querySelector('.counts').textContent.includes('1 skipped')")
        assert progress.get_attribute("aria-valuenow") == "1"

        page.locator(".item").focus()
        page.keyboard.press("?")
        help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
        assert help_dialog.is_visible() and help_dialog.get_attribute("aria-modal") == "true"
        assert page.evaluate("() => document.activeElement.textContent") == "Close"  # focus moved in
        for _ in range(3):
            page.keyboard.press("Tab")
            assert page.evaluate("() => !!document.activeElement.closest('[role=dialog]')")  # and stays in
        page.keyboard.press("1")  # no label from behind the dialog
        page.keyboard.press("Escape")
        assert help_dialog.is_hidden()
        assert page.evaluate("() => document.activeElement === document.querySelector('.item')")  # focus is back
        assert page.locator(".counts").inner_text().startswith("0 labeled")


def test_leaving_the_page_gives_its_items_to_another_annotator_at_once(tmp_path, monkeypatch):
    project = small_project(tmp_path, YES_NO, rows=8)
    token = "leave-token-0123456789"
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", token)
    bob = {"Authorization": f"Bearer {token}", "X-Labelloop-User": "bob", "X-Labelloop-Key": "b" * 32}
    with labelloop_server("serve", project, "--retrain-every", "0") as url, browser_page(1280, 720) as page:
        page.goto(url + "?token=" + token)
        sign_in(page, "ada")
        page.wait_for_selector(".row-table")
        status, batch = page_request(url, "GET", "/batch?size=10", bob)
        assert status == 200 and batch["items"] == [] and not batch["done"]  # ada's page holds all 8
        page.goto("about:blank")  # ada leaves
        assert eventually(lambda: len(page_request(url, "GET", "/batch?size=10", bob)[1]["items"]) == 8)


def test_while_others_hold_every_item_the_page_waits_with_its_keys_working(tmp_path, monkeypatch):
    project = small_project(tmp_path, YES_NO, rows=4)
    token = "wait-token-0123456789"
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", token)
    ada = {"Authorization": f"Bearer {token}", "X-Labelloop-User": "ada", "X-Labelloop-Key": "a" * 32}
    with labelloop_server("serve", project, "--retrain-every", "0") as url, browser_page(1280, 720) as page:
        held = [item["id"] for item in page_request(url, "GET", "/batch?size=10", ada)[1]["items"]]
        assert len(held) == 4
        page.goto(url + "?token=" + token)
        sign_in(page, "bob")
        page.get_by_text("Waiting: the remaining items are being labeled by others.").wait_for()
        assert page.locator("#labelloop-root").get_attribute("data-mode") == "waiting"
        page.keyboard.press("1")  # no item is shown: nothing is labeled
        page.keyboard.press("?")  # the help answers while the page waits
        assert page.get_by_role("dialog", name="Keyboard shortcuts").is_visible()
        page.keyboard.press("Escape")
        assert page_request(url, "POST", "/release", ada, {"ids": held[:1]}) == (200, {"released": 1})
        page.wait_for_selector(".row-table", timeout=20_000)  # the page asks again by itself
        assert current_id(page, "id") == held[0]
        page.keyboard.press("1")
        page.wait_for_function("() => document.querySelector('.counts').textContent.startsWith('1 labeled')")
    assert answers(project) == {held[0]: ("LABELED", "yes")}
