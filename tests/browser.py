"""Helpers for browser tests: Debian's Chromium driven by Playwright (servers: ``servers.py``)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@contextmanager
def browser_page(width=1280, height=800, touch=False):
    """A fresh Chromium page that fails the test on any script error or dialog (alert); ``touch``:
    a phone's (a touch screen, the mobile viewport's rules)."""
    # imported here: a DSS code env (make test-compat) has no Playwright, and test files that hold
    # browser tests beside others must still be collected there (the browser tests are left out by marker)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height}, is_mobile=touch, has_touch=touch)
        problems = []
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        try:
            yield page
        finally:
            browser.close()
        assert problems == [], problems


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_view(page, view: str):
    """Open a view of the page's header ("model", "team" or "rules") beside the item, if not open."""
    button = page.locator(f".dock-button[aria-controls='dock-{view}']")
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    page.locator(f"#dock-{view}").wait_for()
