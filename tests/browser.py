"""Helpers for browser tests: a real ``labelloop`` server process and Debian's Chromium."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
LABELLOOP = str(Path(sys.executable).parent / "labelloop")


def start_server(*args) -> tuple:
    """Start ``labelloop <args> --port 0``; return the process and its URL once it listens."""
    process = subprocess.Popen([LABELLOOP, *map(str, args), "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    line = process.stdout.readline()
    match = re.search(r"at (http://\S+)", line)
    if not match:
        process.kill()
        raise AssertionError(f"the server did not start: {line}{process.stdout.read()}")
    return process, match.group(1)


@contextmanager
def labelloop_server(*args):
    """Run ``labelloop <args> --port 0``; yield its URL; stop it with SIGTERM (which flushes)."""
    process, url = start_server(*args)
    try:
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
        assert "datasets are written" in output, output


@contextmanager
def browser_page(width=1280, height=800):
    """A fresh Chromium page that fails the test on any script error or dialog (alert)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
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
