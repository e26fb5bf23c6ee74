"""The labeling page in a real browser (Debian's Chromium driven by Playwright), as a person uses it."""
from __future__ import annotations

import json
import subprocess
import urllib.request

import pandas as pd
from browser import browser_page, open_view, screenshot
from polling import eventually
from servers import LABELLOOP, labelloop_server

from labelloop.standalone.project import Project, init_project


def current_id(page, id_column):
    """The item shown: its id column's cell, or for images (no id column) the file name."""
    if id_column is None:
        return page.locator(".file-name").inner_text()
    return page.locator(f"tr:has(th:text-is('{id_column}')) td").inner_text()


def position(page):
    return page.locator(".position").inner_text()


def wait_for_change(page, id_column, before):
    page.wait_for_function(
        "([column, before]) => { const rows = [...document.querySelectorAll('.item tr')];"
        " const row = rows.find((r) => r.querySelector('th').textContent === column);"
        " const name = document.querySelector('.file-name');"
        " const id = column ? (row ? row.querySelector('td').textContent : '') : (name ? name.textContent : '');"
        " return id + '|' + document.querySelector('.position').textContent !== before; }",
        arg=[id_column, before], timeout=10_000)


def act(page, key, id_column):
    before = current_id(page, id_column) + "|" + position(page)
    page.keyboard.press(key)
    wait_for_change(page, id_column, before)


def label_session(page, url, id_column, view_selector):
    """Label 5 by keyboard, undo one, walk back and relabel, skip one, reload and continue."""
    page.goto(url)
    page.wait_for_selector(view_selector)
    expected = {}
    for key in ["1", "2", "3", "1", "2"]:
        expected[current_id(page, id_column)] = ("LABELED", {"1": 0, "2": 1, "3": 2}[key])
        act(page, key, id_column)
    act(page, "Control+z", id_column)  # reopen the latest answer...
    assert position(page) == "Your answer 5 (labeled)"
    fifth = current_id(page, id_column)
    act(page, "3", id_column)  # ...and change it
    expected[fifth] = ("LABELED", 2)
    assert position(page) == "New item"
    act(page, "ArrowLeft", id_column)
    act(page, "ArrowLeft", id_column)
    assert position(page) == "Your answer 4 (labeled)"
    fourth = current_id(page, id_column)
    act(page, "2", id_column)  # relabel: moves on to the next answer in history
    expected[fourth] = ("LABELED", 1)
    assert position(page) == "Your answer 5 (labeled)"
    act(page, "End", id_column)
    skipped = current_id(page, id_column)
    act(page, "Tab", id_column)
    expected[skipped] = ("SKIPPED", None)
    page.reload()
    page.wait_for_selector(view_selector)
    after_reload = current_id(page, id_column)
    assert after_reload not in expected
    act(page, "1", id_column)
    expected[after_reload] = ("LABELED", 0)
    # the next item shows at once and the answer is sent behind it: the header follows the server's reply
    page.wait_for_function("() => document.querySelector('.counts').textContent.startsWith('6 labeled · 1 skipped')",
                           timeout=10_000)
    return expected


def check_metadata(project_dir, expected, categories):
    project = Project.open(project_dir)
    meta = project.platform.read_dataset("metadata")
    project.close()
    got = {row["data_id"]: (row["status"], row["label"]) for row in meta.to_dict("records")}
    want = {item: (status, None if index is None else categories[index]) for item, (status, index) in expected.items()}
    assert {item: (status, None if pd.isna(label) else label) for item, (status, label) in got.items()} == want
    assert len(meta) == len(want)


def test_tabular_demo_by_keyboard(tmp_path):
    demo = tmp_path / "demo-tabular"
    with labelloop_server("demo", "--type", "tabular", "--dir", demo) as url, browser_page() as page:
        expected = label_session(page, url, "wine_id", ".row-table")
        page.keyboard.press("?")
        assert page.locator("[role=dialog][aria-label='Keyboard shortcuts']").is_visible()
        screenshot(page, "tabular-help")
        page.keyboard.press("Escape")
        screenshot(page, "tabular-view")
        assert page.get_by_role("button", name="Cultivar 2").is_visible()
        numbers = page.locator(".row-table td.number")
        assert numbers.count() == 14 and numbers.first.evaluate("n => getComputedStyle(n).textAlign") == "right"
    check_metadata(demo, expected, ["cultivar_1", "cultivar_2", "cultivar_3"])


def test_text_demo_by_keyboard(tmp_path):
    demo = tmp_path / "demo-text"
    with labelloop_server("demo", "--type", "text", "--dir", demo) as url, browser_page() as page:
        expected = label_session(page, url, "tweet_id", ".text-body")
        size = page.locator(".text-body").evaluate("n => parseFloat(getComputedStyle(n).fontSize)")
        assert size >= 20
        screenshot(page, "text-view")
    check_metadata(demo, expected, ["positive", "neutral", "negative"])


def test_cell_values_are_shown_as_text_never_as_html(tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    data = tmp_path / "hostile.csv"
    pd.DataFrame({"id": [1], "note": [hostile], "long": ["word " * 300]}).to_csv(data, index=False)
    from labelloop.standalone.project import init_project

    init_project(tmp_path / "proj", data, "tabular", [{"key": "a", "caption": "A"}, {"key": "b", "caption": "B"}],
                 id_column="id", columns_first=["note"])
    with labelloop_server("serve", tmp_path / "proj") as url, browser_page() as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        assert page.locator("tr:has(th:text-is('note')) td").inner_text() == hostile
        assert page.locator(".row-table th").first.inner_text() == "note"  # the chosen column comes first
        assert page.locator(".item img").count() == 0
        width = page.locator(".row-table").evaluate("n => n.scrollWidth <= n.parentElement.clientWidth + 1")
        assert width, "a long value must wrap, not widen the table"
        screenshot(page, "hostile-cell")


def small_project(tmp_path, categories, rows=3, multi_label=False, **options):
    data = tmp_path / "small.csv"
    pd.DataFrame({"id": range(1, rows + 1), "text": [f"row {i}" for i in range(1, rows + 1)]}).to_csv(data, index=False)
    init_project(tmp_path / "proj", data, "tabular", categories, id_column="id", multi_label=multi_label, **options)
    return tmp_path / "proj"


def test_multi_label_choices_are_toggled_then_saved_and_the_done_screen_comes_last(tmp_path):
    categories = [{"key": k, "caption": k.title()} for k in ("red", "green", "blue")]
    project = small_project(tmp_path, categories, rows=2, multi_label=True)
    with labelloop_server("serve", project) as url, browser_page() as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        first = current_id(page, "id")
        page.keyboard.press("1")
        page.keyboard.press("3")
        page.keyboard.press("1")  # toggled off again
        page.keyboard.press("2")
        assert page.get_by_role("button", name="Green").get_attribute("aria-pressed") == "true"
        assert page.get_by_role("button", name="Red").get_attribute("aria-pressed") == "false"
        act(page, "Enter", "id")
        page.get_by_role("button", name="Red").click()
        page.get_by_role("button", name="Save (Enter)").click()
        page.wait_for_selector(".done:not([hidden])")
        assert page.locator(".done").inner_text().startswith("All items are labeled.")
        screenshot(page, "multi-label-done")
    meta = Project.open(project).platform.read_dataset("metadata").set_index("data_id")
    assert meta.loc[first, "label"] == '["green", "blue"]'
    assert len(meta) == 2


def test_sixty_categories_fit_and_the_ones_past_z_have_no_shortcut(tmp_path):
    categories = [{"key": f"c{n}", "caption": f"Category {n}"} for n in range(60)]
    project = small_project(tmp_path, categories)
    with labelloop_server("serve", project) as url, browser_page() as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        buttons = page.locator("button.category")
        assert buttons.count() == 60 and page.locator("button.category kbd").count() == 35
        box = page.locator(".categories").bounding_box()
        assert box["y"] + box["height"] <= 800, "the category list scrolls instead of pushing the page"
        first = current_id(page, "id")
        act(page, "z", "id")  # the 35th category
        screenshot(page, "sixty-categories")
    meta = Project.open(project).platform.read_dataset("metadata").set_index("data_id")
    assert meta.loc[first, "label"] == "c34"


def label_digit_files(page):
    """On a digits demo (images or sounds): label 3 by keyboard, undo and change one, skip one."""
    expected = {}
    for key in ["1", "7", "3"]:
        expected[current_id(page, None)] = ("LABELED", key)
        act(page, key, None)
    act(page, "Control+z", None)
    third = current_id(page, None)
    act(page, "9", None)
    expected[third] = ("LABELED", "9")
    skipped = current_id(page, None)
    act(page, "Tab", None)
    expected[skipped] = ("SKIPPED", None)
    return expected


def check_digit_answers(demo, expected):
    meta = Project.open(demo).platform.read_dataset("metadata")
    got = {row["data_id"]: (row["status"], None if pd.isna(row["label"]) else str(row["label"]))
           for row in meta.to_dict("records")}
    assert got == expected


def test_image_demo_by_keyboard_with_zoom(tmp_path):
    demo = tmp_path / "demo-image"
    with labelloop_server("demo", "--type", "image", "--dir", demo) as url, browser_page() as page:
        page.goto(url)
        page.wait_for_selector(".image-viewport img")
        page.wait_for_function("() => document.querySelector('.image-viewport img').naturalWidth === 128")
        fitted = page.locator(".zoom").inner_text()
        page.keyboard.press("+")
        page.keyboard.press("+")
        zoomed = page.locator(".zoom").inner_text()
        assert zoomed != fitted and int(zoomed.split("·")[1].strip(" %")) > int(fitted.split("·")[1].strip(" %"))
        assert page.locator(".image-viewport img.pixelated").count() == 1  # a small image enlarged stays crisp
        page.mouse.move(300, 300)
        page.mouse.wheel(0, 400)
        assert page.locator(".zoom").inner_text() != zoomed
        screenshot(page, "image-view")
        page.keyboard.press("0")
        assert page.locator(".zoom").inner_text() == fitted
        expected = label_digit_files(page)
    check_digit_answers(demo, expected)


def test_sound_demo_plays_by_keyboard_and_labels(tmp_path):
    demo = tmp_path / "demo-sound"
    with labelloop_server("demo", "--type", "sound", "--dir", demo) as url, browser_page() as page:
        page.goto(url)
        page.wait_for_selector(".sound-item .wave")
        page.wait_for_function("() => document.querySelector('.sound-item .waveform').width > 0")
        page.wait_for_function("() => /\\/ 0:0\\d\\.\\d/.test(document.querySelector('.sound-controls .time').textContent)")
        page.keyboard.press(" ")  # play
        page.wait_for_function("() => { const a = document.querySelector('.sound-item audio');"
                               " return a.played.length > 0 && a.played.end(0) > 0; }")
        page.keyboard.press("]")
        assert page.locator(".sound-controls select").input_value() == "1.25"
        page.locator(".wave").click(position={"x": 5, "y": 50})  # seek to the start and play
        page.wait_for_function("() => document.querySelector('.sound-item audio').played.length > 0")
        screenshot(page, "sound-view")
        expected = label_digit_files(page)
        assert page.evaluate("() => document.querySelectorAll('audio').length") == 1  # the old players are gone
    check_digit_answers(demo, expected)


def test_a_sound_that_cannot_be_decoded_says_so_and_can_be_labeled(tmp_path):
    folder = tmp_path / "sounds"
    folder.mkdir()
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really a sound")
    init_project(tmp_path / "project", folder, "sound", [{"key": "yes"}, {"key": "no"}])
    with labelloop_server("serve", tmp_path / "project") as url, browser_page() as page:
        page.goto(url)
        page.wait_for_selector(".sound-item .media-error")
        assert "cannot be decoded" in page.locator(".media-error").inner_text()
        page.keyboard.press("2")
        page.wait_for_selector(".done:not([hidden])")
    meta = Project.open(tmp_path / "project").platform.read_dataset("metadata")
    assert meta[["data_id", "status", "label"]].values.tolist() == [["broken.wav", "LABELED", "no"]]


def test_the_page_shows_the_model_and_its_stopping_verdict_as_the_loop_retrains(tmp_path):
    demo = tmp_path / "demo-tabular"
    with labelloop_server("demo", "--type", "tabular", "--dir", demo, "--retrain-every", "6") as url, \
            browser_page(1280, 720) as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        open_view(page, "model")
        assert page.locator(".model-title").inner_text() == "No model yet"
        assert "Retrains every 6 labels" in page.locator(".model-panel").inner_text()
        for n in range(40):
            act(page, "123"[n % 3], "wine_id")
            if any(word in page.locator(".model-panel").inner_text() for word in ("Training", "Model v0001")):
                break
        page.wait_for_function("() => document.querySelector('.model-panel').textContent.includes('Model v0001')",
                               timeout=90_000)  # the panel follows the training by itself
        panel = page.locator(".model-panel").inner_text()
        assert "Model v0001" in panel and "Keep labeling" in panel
        page.get_by_role("button", name="Train now").click()
        # v0002 is listed as soon as it is saved; its stopping metrics follow within the same round
        page.wait_for_function("() => document.querySelector('.model-panel').textContent.includes('changed since v0001')",
                               timeout=90_000)
        assert "Model v0002" in page.locator(".model-panel").inner_text()
        screenshot(page, "model-panel")


def test_on_a_shared_server_a_name_belongs_to_the_browser_that_took_it(tmp_path, monkeypatch):
    categories = [{"key": k, "caption": k.title()} for k in ("yes", "no")]
    project = small_project(tmp_path, categories, rows=40)
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", "shared-token-0123456789")
    with labelloop_server("serve", project, "--retrain-every", "0") as served, browser_page() as page:
        url = served + "?token=shared-token-0123456789"
        page.goto(url)  # ?token= is traded for a cookie
        sign_in(page, "ada")
        page.wait_for_selector(".row-table")
        assert page.locator(".user").inner_text() == "ada"
        act(page, "1", "id")

        other = page.context.browser.new_context().new_page()  # another person's browser
        other.goto(url)
        sign_in(other, "ada")
        taken = other.get_by_role("alert")
        taken.wait_for()
        assert taken.inner_text() == "The name 'ada' is taken by another annotator: choose another."
        screenshot(other, "shared-name-taken")
        sign_in(other, "bob")
        other.wait_for_selector(".row-table")
        assert other.locator(".user").inner_text() == "bob"
        act(other, "2", "id")
    meta = Project.open(project).platform.read_dataset("metadata")
    assert sorted(zip(meta["annotator"], meta["label"])) == [("ada", "yes"), ("bob", "no")]


def team_stats(url: str, token: str) -> dict:
    request = urllib.request.Request(url.split("?")[0] + "stats", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def sign_in(page, name, key=None):
    page.get_by_role("textbox", name="Your name").fill(name)
    if key:
        page.get_by_label("Your key").fill(key)
    page.get_by_role("button", name="Start").click()


def test_two_annotators_disagree_and_the_reviewer_settles_the_item(tmp_path, monkeypatch):
    categories = [{"key": k, "caption": k.title()} for k in ("yes", "no")]
    project = small_project(tmp_path, categories, rows=1, overlap_share=1.0)  # every item to two annotators
    issued = subprocess.run([LABELLOOP, "names", str(project), "--issue", "rev", "--json"], capture_output=True, text=True)
    reviewer_key = json.loads(issued.stdout)["key"]
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", "team-token-0123456789")
    with labelloop_server("serve", project, "--reviewers", "rev", "--retrain-every", "0") as served, \
            browser_page() as page:
        url = served + "?token=team-token-0123456789"
        browser = page.context.browser
        for name, key in (("ada", "1"), ("bob", "2")):
            annotator = browser.new_context().new_page()
            annotator.goto(url)
            sign_in(annotator, name)
            annotator.wait_for_selector(".row-table")
            assert annotator.get_by_role("button", name="Review").is_hidden()  # not a reviewer
            annotator.keyboard.press(key)
            annotator.wait_for_selector(".done:not([hidden])")
        # agreement is recomputed at most once per ten times its cost (labeling/team_agreement.py): on a
        # busy machine the answer right after bob's may still be the one before it
        assert eventually(lambda: team_stats(url, "team-token-0123456789")["agreement"]["items"] == 1)

        page.goto(url)
        sign_in(page, "rev", reviewer_key)
        page.get_by_role("button", name="Review").click()
        page.locator(".answers").wait_for()
        assert page.locator(".reason").inner_text() == "The annotators disagree."
        answers = page.locator(".answer").all_inner_texts()
        assert [a.split(" · ")[0] for a in answers] == ["ada: Yes", "bob: No"]
        open_view(page, "team")
        team = page.locator(".team-panel")
        assert "over 1 item(s) labeled by two or more" in team.inner_text()
        screenshot(page, "review-disagreement")
        page.keyboard.press("2")  # bob was right
        page.wait_for_selector(".done:not([hidden])")
        assert page.locator(".done h2").inner_text() == "Nothing to review."
        assert page.locator(".message").inner_text() == "Settled: no."
    labels = Project.open(project).platform.read_dataset("labels")
    assert labels[["id", "label", "reviewed", "annotators", "agreement"]].values.tolist() == [[1, "no", True, 2, 0.5]]


def test_a_rule_is_written_in_the_rules_panel_previewed_saved_and_gives_weak_labels(tmp_path):
    texts = ["I want a refund", "refund please", "a refund, now", "still no refund", "thanks a lot", "great help"]
    pd.DataFrame({"n": range(len(texts)), "message": texts}).to_csv(tmp_path / "texts.csv", index=False)
    init_project(tmp_path / "proj", tmp_path / "texts.csv", "text", [{"key": "complaint"}, {"key": "praise"}],
                 id_column="n", text_column="message")
    with labelloop_server("serve", tmp_path / "proj", "--retrain-every", "100") as url, browser_page() as page:
        page.goto(url)
        for key in "112":  # three items labeled: at least one of them mentions a refund
            page.wait_for_selector(".text-body")
            before = page.locator(".text-body").inner_text()
            page.keyboard.press(key)
            page.wait_for_function("(before) => { const t = document.querySelector('.text-body');"
                                   " return t && t.textContent !== before; }", arg=before, timeout=10_000)
        open_view(page, "rules")
        page.get_by_text("No rules yet.").wait_for()
        page.get_by_role("textbox", name="Rule name").fill("refund")
        page.get_by_role("combobox", name="Rule kind").select_option("keywords")
        assert page.get_by_role("combobox", name="Rule column").input_value() == "message"
        page.get_by_role("textbox", name="Rule value").press("2")  # typing in the panel never labels
        page.get_by_role("textbox", name="Rule value").fill("refund, money back")
        page.get_by_role("button", name="Preview").click()
        preview = page.locator(".rule-preview p")
        preview.wait_for()
        assert preview.inner_text().startswith("This rule votes on 4 item(s) (66.7%)")
        assert "right on " in preview.inner_text() and " labeled item(s) (" in preview.inner_text()
        assert sorted(page.locator(".rule-examples li").all_inner_texts()) == sorted(texts[:4])
        screenshot(page, "rules-panel-preview")
        page.get_by_role("button", name="Save rule").click()
        page.locator(".rules-list .rule").wait_for()
        assert page.locator(".rules-list .rule").inner_text().startswith("refund → complaint: votes on 4 item(s)")
        assert page.locator(".counts").inner_text().startswith("3 labeled")
        open_view(page, "model")
        page.get_by_role("button", name="Train now").click()  # the loop offers the trainer the weak labels
        weak_line = page.locator(".weak-training")
        weak_line.wait_for(timeout=90_000)
        assert weak_line.inner_text().startswith("Weak labels: ") and " offered" in weak_line.inner_text()
    run_weak = subprocess.run([LABELLOOP, "weak", str(tmp_path / "proj"), "--json"], capture_output=True, text=True)
    assert run_weak.returncode == 0, run_weak.stderr
    weak = Project.open(tmp_path / "proj").platform.read_dataset("weak_labels")
    assert sorted(weak["message"]) == sorted(texts[:4]) and set(weak["weak_label"]) == {"complaint"}


def test_a_failing_first_batch_says_why_and_a_reload_recovers(tmp_path):
    project = small_project(tmp_path, [{"key": "a", "caption": "A"}, {"key": "b", "caption": "B"}])
    with labelloop_server("serve", project) as url, browser_page() as page:
        failing = {"left": 1}

        def fail_once(route):
            if failing["left"]:
                failing["left"] -= 1
                return route.fulfill(status=500, content_type="application/json",
                                     body='{"error": "Something went wrong on the server."}')
            return route.continue_()

        page.route("**/batch*", fail_once)
        page.goto(url)
        message = page.locator(".message.error")
        message.wait_for()
        assert "Something went wrong" in message.inner_text()
        page.reload()
        page.wait_for_selector(".row-table")


def test_undo_after_the_done_screen_shows_the_answer_without_the_done_message(tmp_path):
    project = small_project(tmp_path, [{"key": "a", "caption": "A"}, {"key": "b", "caption": "B"}], rows=1)
    with labelloop_server("serve", project) as url, browser_page() as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        page.keyboard.press("a")  # a category named by one letter keeps it as its key
        page.wait_for_selector(".done:not([hidden])")
        page.keyboard.press("Control+z")
        page.wait_for_selector(".row-table")
        assert position(page) == "Your answer 1 (labeled)"
        assert page.locator(".done").is_hidden()


def test_search_a_word_label_two_results_then_see_the_learning_curve(tmp_path):
    demo = tmp_path / "demo-text"
    with labelloop_server("demo", "--type", "text", "--dir", demo, "--retrain-every", "6") as url, \
            browser_page(1280, 720) as page:
        page.goto(url)
        page.wait_for_selector(".text-item")
        page.get_by_role("searchbox", name="Search items").fill("car")
        page.get_by_role("button", name="Search").click()
        page.wait_for_function("() => document.querySelector('.reason').textContent.includes('Search result')")
        assert page.locator(".reason").inner_text() == "Search result for “car”."
        searched = []
        for key in ("1", "2"):
            assert "car" in page.locator(".text-body").inner_text().lower()
            searched.append(current_id(page, "tweet_id"))
            act(page, key, "tweet_id")
        for n in range(200):  # label on, at a person's pace, until two model versions are measured
            if page.locator(".learning-curve-figure").count() and "2 version(s)" in page.locator(
                    ".learning-curve-figure figcaption").inner_text():
                break
            act(page, "123"[n % 3], "tweet_id")
            page.wait_for_timeout(300)
        page.wait_for_function("() => { const f = document.querySelector('.learning-curve-figure figcaption');"
                               " return f && f.textContent.includes('2 version(s), latest v0002'); }", timeout=120_000)
        caption = page.locator(".learning-curve-figure figcaption").inner_text()
        assert "accuracy on items picked at random, so not flattered by the queue" in caption
        assert page.locator("svg.learning-curve circle.curve-contradiction").count() == 1  # v0002 against v0001
        held = page.locator(".model-panel .suggestions-held")  # labels given in a cycle may teach a model nothing
        for n in range(20):  # items held ahead before the model earned its place, and the audit slice, show none
            if held.count() or page.locator(".suggestion").inner_text():
                break
            act(page, "123"[n % 3], "tweet_id")
        if held.count():  # then it suggests nothing, even on items served before, and the panel says why (DESIGN.md section 15)
            assert held.inner_text().startswith("No suggestions yet: on ") and page.locator(".suggestion").inner_text() == ""
        else:
            assert "Suggestions: the online model, which learns from every label" in page.locator(".model-panel").inner_text()
            assert page.locator(".suggestion").inner_text().startswith("The online model suggests: ")
        open_view(page, "model")
        screenshot(page, "learning-curve")
    meta = Project.open(demo).platform.read_dataset("metadata")
    by_id = meta.set_index(meta["data_id"].astype(str))
    assert [by_id.loc[i, "strategy"] for i in searched] == ["search", "search"]
