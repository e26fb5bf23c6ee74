"""The labeling page fits the screens people have (1280x720 and 1400x900), in a real browser:
the labeling controls without scrolling, views that open beside the item, the Review empty state
on screen, a readable learning curve, and a screenshot of each demo."""
from __future__ import annotations

import pytest
from browser import browser_page, screenshot
from servers import labelloop_server
from test_browser import act, current_id, small_project

from labelloop.standalone.project import Project

SIZES = [(1280, 720), (1400, 900)]
ITEM = {"tabular": ".row-table", "text": ".text-body", "image": ".image-viewport", "sound": ".sound-item .wave"}


def box_in_view(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return (box is not None and box["x"] >= 0 and box["y"] >= 0
            and box["x"] + box["width"] <= size["width"] + 0.5 and box["y"] + box["height"] <= size["height"] + 0.5)


def item_in_view(page, selector) -> bool:
    """The item's top-left part is on screen and wide enough to read (a long table may go on below)."""
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    return (box is not None and 0 <= box["x"] and box["x"] + box["width"] <= size["width"] + 0.5
            and 0 <= box["y"] < size["height"] - 150 and box["width"] >= 400)


def check_controls_fit(page):
    """Every category, the comment box and the navigation are on screen; nothing scrolls."""
    scrolls = page.evaluate("() => { const page = document.scrollingElement, aside = document.querySelector('aside');"
                            " return [page.scrollHeight > innerHeight, page.scrollWidth > innerWidth,"
                            " aside.scrollHeight > aside.clientHeight, aside.scrollWidth > aside.clientWidth]; }")
    assert scrolls == [False] * 4, "the page or the controls column scrolls"
    buttons = page.locator("button.category")
    for n in range(buttons.count()):
        assert box_in_view(page, buttons.nth(n)), buttons.nth(n).inner_text()
    assert box_in_view(page, page.locator(".comment"))
    assert box_in_view(page, page.get_by_role("button", name="Skip (Tab)"))


def check_views_leave_the_item_in_view(page, selector):
    """Each view of the header opens beside the item, which stays where it is, on screen; it closes
    with its button, or with Escape from inside it (the focus goes back to its button)."""
    views = page.locator(".dock-button:visible")
    assert views.count() >= 1
    for n in range(views.count()):
        before = page.locator(selector).first.bounding_box()
        views.nth(n).click()
        panel = page.locator(f"#{views.nth(n).get_attribute('aria-controls')}")
        panel.wait_for()
        assert box_in_view(page, panel.locator(".dock-title")), "the view opens on screen"
        assert item_in_view(page, selector), f"{views.nth(n).inner_text()} moved the item out of view"
        assert page.locator(selector).first.bounding_box()["y"] == before["y"]
        if n % 2:
            panel.locator(".dock-close").focus()
            page.keyboard.press("Escape")
            assert views.nth(n).evaluate("b => document.activeElement === b")
        else:
            views.nth(n).click()
        panel.wait_for(state="hidden")


@pytest.mark.parametrize("kind", ["tabular", "text", "image", "sound"])
def test_each_demo_fits_the_screen_with_its_views_open_and_the_review_empty_state_on_top(tmp_path, kind):
    demo = tmp_path / f"demo-{kind}"
    with labelloop_server("demo", "--type", kind, "--dir", demo, "--retrain-every", "0") as url, \
            browser_page(*SIZES[0]) as page:
        page.goto(url)
        page.wait_for_selector(ITEM[kind])
        if kind == "image":
            page.wait_for_function("() => document.querySelector('.image-viewport img').naturalWidth > 0")
            keys = page.locator("button.category kbd").all_inner_texts()
            assert len(set(keys)) == 10, keys  # every digit has a key of its own (checked on screen below)
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            check_controls_fit(page)
            assert item_in_view(page, ITEM[kind])
            check_views_leave_the_item_in_view(page, ITEM[kind])
        page.set_viewport_size({"width": 1280, "height": 720})
        if kind == "sound":
            page.wait_for_function("() => document.querySelector('.sound-item .waveform').width > 0")
        screenshot(page, f"demo-{kind}-1280x720")
        page.get_by_role("button", name="Review").click()
        empty = page.locator(".done h2")
        empty.wait_for()
        assert empty.inner_text() == "Nothing to review."
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            assert box_in_view(page, empty)
            assert empty.bounding_box()["y"] < 150, "the empty state is at the top"


@pytest.mark.parametrize("kind", ["text", "image"])
def test_on_a_phone_nothing_is_wider_than_the_screen_and_a_tap_labels(tmp_path, kind):
    """A phone held upright (390x844, touch): the header wraps, every control is within the
    screen's width, and tapping a category labels the item and shows the next."""
    demo = tmp_path / f"demo-{kind}"
    with labelloop_server("demo", "--type", kind, "--dir", demo, "--retrain-every", "0") as url, \
            browser_page(390, 844, touch=True) as page:
        page.goto(url)
        page.wait_for_selector(ITEM[kind])
        assert page.evaluate("() => document.scrollingElement.scrollWidth <= innerWidth"), "the page scrolls sideways"
        controls = [page.locator("header button:visible"), page.locator("button.category"),
                    page.get_by_role("button", name="Skip (Tab)"), page.get_by_role("button", name="Latest (End)")]
        for locator in controls:
            for n in range(locator.count()):
                box = locator.nth(n).bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= 390.5, locator.nth(n).inner_text()
        shown = page.locator(".counts").inner_text()
        page.locator("button.category").first.tap()
        page.wait_for_function(f"() => document.querySelector('.counts').textContent !== {shown!r}")
        assert page.locator(".counts").inner_text().startswith("1 labeled")
        screenshot(page, f"demo-{kind}-phone")


def test_twenty_categories_fit_at_1280x720_and_more_get_a_filter(tmp_path):
    (tmp_path / "twenty").mkdir()
    (tmp_path / "thirty").mkdir()
    categories = [{"key": f"c{n}", "caption": f"Category {n}"} for n in range(20)]
    with labelloop_server("serve", small_project(tmp_path / "twenty", categories)) as url, \
            browser_page(1280, 720) as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        assert page.locator("button.category").count() == 20 and page.locator(".category-filter").count() == 0
        check_controls_fit(page)
        screenshot(page, "twenty-categories-1280x720")
    categories = [{"key": f"c{n}", "caption": f"Category {n}"} for n in range(30)]
    project = small_project(tmp_path / "thirty", categories)
    with labelloop_server("serve", project) as url, browser_page(1280, 720) as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        first = current_id(page, "id")
        page.get_by_role("searchbox", name="Filter categories").fill("category 27")
        screenshot(page, "thirty-categories-filtered")
        shown = page.locator("button.category:visible").evaluate_all("bs => bs.map((b) => b.getAttribute('aria-label'))")
        assert shown == ["Category 27"]
        act(page, "Enter", "id")  # the one category left is chosen
        assert page.locator("button.category:visible").count() == 30  # and the filter is cleared
    meta = Project.open(project).platform.read_dataset("metadata").set_index("data_id")
    assert meta.loc[first, "label"] == "c27"


CURVES = {
    "one version": [{"version": "v0001", "labels": 24, "accuracy": 0.7, "low": 0.5, "high": 0.85, "items": 10,
                     "contradiction": None}],
    "three versions": [
        {"version": "v0001", "labels": 24, "accuracy": 0.6, "low": 0.4, "high": 0.8, "items": 10, "contradiction": None},
        {"version": "v0002", "labels": 48, "accuracy": 0.72, "low": 0.55, "high": 0.85, "items": 18,
         "contradiction": 0.2},
        {"version": "v0003", "labels": 96, "accuracy": 0.8, "low": 0.68, "high": 0.9, "items": 30,
         "contradiction": 0.08}],
}

MEASURE_CURVE = """async (curve) => {
  const { learningCurve } = await import('./resource/labelloop/learning-curve.js');
  const figure = learningCurve(curve);
  const box = document.createElement('div');
  box.id = 'labelloop-root';
  box.style.cssText = 'position: static; width: 400px';
  box.append(figure);
  document.body.replaceChildren(box);
  const texts = [...figure.querySelectorAll('text')].map((t) => t.getBoundingClientRect());
  const overlaps = texts.flatMap((a, i) => texts.slice(i + 1).filter((b) =>
    a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)).length;
  const band = figure.querySelector('.curve-band').getBoundingClientRect();
  const chart = figure.querySelector('svg').getBoundingClientRect();
  const sizes = [...figure.querySelectorAll('text')].map((t) => parseFloat(getComputedStyle(t).fontSize));
  return { overlaps, band: [band.width, band.height], chart: [chart.width, chart.height],
           smallestText: Math.min(...sizes), texts: [...figure.querySelectorAll('text')].map((t) => t.textContent) };
}"""


@pytest.mark.parametrize("name", list(CURVES))
def test_the_learning_curve_has_axes_titles_and_a_band_that_do_not_overlap(tmp_path, name):
    project = small_project(tmp_path, [{"key": "a"}, {"key": "b"}])
    with labelloop_server("serve", project) as url, browser_page(1280, 720) as page:
        page.goto(url)
        page.wait_for_selector(".row-table")
        found = page.evaluate(MEASURE_CURVE, CURVES[name])
        page.screenshot(path=str(screenshot(page, f"learning-curve-{name.replace(' ', '-')}")))
    assert found["overlaps"] == 0, found["texts"]
    assert found["band"][0] > 5 and found["band"][1] > 20, "the 95% interval shows, even for one version"
    assert found["chart"][0] >= 380 and found["chart"][1] >= 200
    assert found["smallestText"] >= 12
    assert {"labels", "share of items", "0%", "100%", "0"} <= set(found["texts"])
