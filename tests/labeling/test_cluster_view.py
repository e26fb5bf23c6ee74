"""The Clusters view in a real browser (Chromium via Playwright): list the pool's clusters of
look-alike items, open one as a group from the keyboard, label it with one key, see the count
move by the group's size and the cluster's count go down (issue 32)."""
from __future__ import annotations

import re

import pytest
from browser import browser_page, open_view, screenshot
from polling import eventually
from servers import labelloop_server, page_request
from test_group_view import ITEM, check_group_fits, labeled, wait_for_labeled
from test_page_layout import box_in_view


def clusters_ready(url) -> bool:
    status, stats = page_request(url, "GET", "/stats", {})
    return status == 200 and stats["clusters"]["ready"]


def first_cluster(page) -> tuple:
    """The first cluster listed: its id and its number of unlabeled items."""
    text = page.locator(".cluster-open").first.inner_text()
    found = re.fullmatch(r"Cluster (\d+) · (\d+) unlabeled", text)
    assert found, text
    return int(found.group(1)), int(found.group(2))


@pytest.mark.parametrize("kind, width, height", [("tabular", 1280, 720), ("text", 1600, 900)])
def test_a_cluster_opens_as_a_group_and_is_labeled_with_one_key(tmp_path, kind, width, height):
    with labelloop_server("demo", "--type", kind, "--dir", tmp_path / "demo", "--retrain-every", "0") as url, \
            browser_page(width, height) as page:
        assert eventually(lambda: clusters_ready(url), timeout=90), "the pool's clusters were not learned"
        page.goto(url)
        page.wait_for_selector(ITEM[kind])
        button = page.locator(".dock-button[aria-controls='dock-clusters']")
        button.wait_for()  # shown once the clusters are listed
        if kind == "tabular":  # the header's button, by keyboard, then the first cluster
            button.focus()
            page.keyboard.press("Enter")
            page.locator("#dock-clusters .cluster-open").first.wait_for()
            page.locator(".cluster-open").first.focus()
        else:  # its key, which puts the focus on the first cluster
            page.keyboard.press("Shift+C")
            page.wait_for_function("() => document.activeElement.matches('.cluster-open')")
        entries = page.locator(".cluster-entry")
        assert entries.count() == min(20, page_request(url, "GET", "/stats", {})[1]["clusters"]["count"])
        assert box_in_view(page, page.locator(".cluster-open").first)
        assert all(entries.nth(n).locator(".cluster-examples li").count() == 3 for n in range(3))
        screenshot(page, f"clusters-{kind}-{width}x{height}")
        cluster, unlabeled = first_cluster(page)
        page.keyboard.press("Enter")  # opens it as a group; the Clusters view closes to give it room
        page.wait_for_selector(".group-tile")
        size = page.locator(".group-tile").count()
        assert size == min(20, unlabeled)
        assert page.locator(".group-view strong").first.inner_text() == f"Cluster {cluster}"
        assert page.locator(".group-tile[aria-checked='true']").count() == size
        assert page.locator("#dock-clusters").is_hidden()
        check_group_fits(page)
        screenshot(page, f"cluster-group-{kind}-{width}x{height}")
        page.keyboard.press("1")  # no model yet: no label is proposed, the category key sets it
        page.keyboard.press("Enter")
        wait_for_labeled(page, size)
        page.wait_for_selector(ITEM[kind])  # back to labeling one by one
        assert labeled(page) == size
        open_view(page, "clusters")
        page.wait_for_function(f"() => [...document.querySelectorAll('.cluster-open')].every((b) => "
                               f"!b.textContent.startsWith('Cluster {cluster} · {unlabeled} '))")
        left = [b for b in page.locator(".cluster-open").all_inner_texts() if b.startswith(f"Cluster {cluster} · ")]
        assert left == ([] if unlabeled == size else [f"Cluster {cluster} · {unlabeled - size} unlabeled"])
        # the header holds the Groups and Clusters buttons beside the others
        for name in ("Groups", "Clusters", "Review", "Shortcuts (?)"):
            assert box_in_view(page, page.get_by_role("button", name=name, exact=True)), name
        screenshot(page, f"clusters-{kind}-{width}x{height}-after-a-group")
