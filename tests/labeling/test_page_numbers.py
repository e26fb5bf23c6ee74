"""One set of numbers on the page, in a real browser at 1280x720: the header counts items and,
with a team, the labels given; the Model button carries the stopping verdict; the Model view says
how many labeled items its version learned from and what it learns from."""
from __future__ import annotations

import pandas as pd
from browser import browser_page, screenshot
from servers import labelloop_server
from test_cli import run

from labelloop.standalone.project import Project
from labelloop.store.journal import LABELED, SKIPPED, Annotation


def test_the_header_and_the_model_view_agree_with_stats_and_status(tmp_path):
    rows = 40
    frame = pd.DataFrame({"id": range(1, rows + 1), "size": [n % 10 for n in range(rows)],
                          "colour": ["red", "blue"] * (rows // 2)})
    frame.to_csv(tmp_path / "rows.csv", index=False)
    root = tmp_path / "proj"
    run("init", root, "--data", tmp_path / "rows.csv", "--type", "tabular", "--categories", "small,large",
        "--id-column", "id")
    project = Project.open(root)
    for n in range(1, 21):  # ada labels 20 rows, bob labels 4 of them again and skips one more
        project.journal.record(Annotation(str(n), "ada", LABELED, "small" if n % 10 < 5 else "large", session=1))
    for n in range(1, 5):
        project.journal.record(Annotation(str(n), "bob", LABELED, "small", session=1))
    project.journal.record(Annotation("30", "bob", SKIPPED, session=1))
    project.close()
    run("train", root)
    status = run("status", root).stdout
    assert "Items     20 labeled   1 skipped   19 remaining" in status and "Answers   24 labels   1 skips" in status

    with labelloop_server("serve", root, "--retrain-every", "0") as url, browser_page(1280, 720) as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        counts = page.locator(".counts")
        assert counts.inner_text() == "20 labeled · 1 skipped · 19 remaining of 40 · 24 labels given"
        model = page.locator(".dock-button[aria-controls='dock-model']")
        assert model.inner_text() == "Model v0001 · keep labeling"
        assert model.get_attribute("title").startswith("Keep labeling:")
        model.click()
        view = page.locator("#dock-model")
        view.wait_for()
        assert "trained on 20 labeled items (20 now)" in view.inner_text()
        assert "Features: 1 numeric column(s), 1 categorical column(s)" in view.inner_text()
        counted = [page.get_by_role("button", name=key, exact=True).locator(".count").inner_text()
                   for key in ("small", "large")]
        assert counted == ["14", "10"]  # answers: ada's 10 and 10, and bob's 4 small ones
        screenshot(page, "numbers-1280x720")
