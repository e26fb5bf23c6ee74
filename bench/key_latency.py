"""Key to next item in Chromium: how long after a category key the labeling page shows the next item.

The wine demo (``labelloop demo --type tabular``) served as a real server (retrain loop off, so
training does not weigh on the timings), the page in Debian's Chromium at 1280x720 driven by
Playwright. An annotator presses a category key, waits for the next item, pauses ``--think-ms``
and goes on, ``--labels`` times; the same run measures the page as it is (the next items held
ahead, each answer sent while the next item shows) and the page with ``prefetch: false`` (each
answer waits for the server, and a batch is fetched when the page runs out, as before).

The time runs from the key event (its ``timeStamp``) to the start of the first animation frame
after the new item is in the page, the frame that draws it; measured inside the page, so
Playwright's own round trips do not count.

    python bench/key_latency.py [--labels 150] [--think-ms 120]
"""
from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from headline import record
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
ENTRY = "resource/labelloop/standalone.js"
# The page's entry, with the next items no longer held ahead (served in place of standalone.js)
WITHOUT_PREFETCH = """import { start } from "./app.js";
start(document.getElementById("labelloop-root"), { backendUrl: (path) => path, prefetch: false });
"""
# Inside the page: each key's time to the frame that draws the next item, in window.keyToItem
PROBE = """(() => {
  window.keyToItem = [];
  let pressed = null;
  window.addEventListener("keydown", (event) => { pressed = event.timeStamp; }, true);
  new MutationObserver(() => {
    if (pressed === null || !document.querySelector(".item .row-table")) return;
    const at = pressed;
    pressed = null;
    requestAnimationFrame((frame) => window.keyToItem.push(frame - at));
  }).observe(document, { childList: true, subtree: true });
})();"""


def start_server(folder: Path):
    server = subprocess.Popen([sys.executable, "-m", "labelloop.standalone.cli", "demo", "--type", "tabular", "--dir",
                               str(folder), "--port", "0", "--retrain-every", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = re.search(r"at (http://\S+)", server.stdout.readline()).group(1)
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()  # never let the pipe fill
    return server, url


def item_id(page) -> str:
    return page.locator("tr:has(th:text-is('wine_id')) td").inner_text()


def measure(browser, url: str, prefetch: bool, labels: int, think_ms: float) -> list:
    """The key-to-next-item times (ms) of ``labels`` labels, the page held ahead or not."""
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    if not prefetch:
        page.route(f"**/{ENTRY}", lambda route: route.fulfill(status=200, content_type="text/javascript",
                                                               body=WITHOUT_PREFETCH))
    page.add_init_script(PROBE)
    page.goto(url)
    page.wait_for_selector(".row-table")
    for n in range(labels):
        before = item_id(page)
        page.keyboard.press("123"[n % 3])
        page.wait_for_function("(before) => { const row = [...document.querySelectorAll('.item tr')].find("
                               "(r) => r.querySelector('th').textContent === 'wine_id');"
                               " return row && row.querySelector('td').textContent !== before; }", arg=before)
        page.wait_for_timeout(think_ms)
    page.wait_for_function(f"() => window.keyToItem.length >= {labels}")
    times = page.evaluate("() => window.keyToItem")
    page.close()
    return times[:labels]


def percentile(values: list, share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=150)
    parser.add_argument("--think-ms", type=float, default=120)
    args = parser.parse_args()
    print(f"Wine demo in Chromium 1280x720, {args.labels} labels by keyboard, {args.think_ms:.0f} ms between "
          "labels, retrain loop off; one server per page, fresh")
    print("| page | p50 ms | p95 ms | max ms | within 16 ms |")
    print("|---|---|---|---|---|")
    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for prefetch in (True, False):
            with tempfile.TemporaryDirectory() as folder:
                server, url = start_server(Path(folder) / "demo")
                try:
                    times = measure(browser, url, prefetch, args.labels, args.think_ms)
                finally:
                    server.send_signal(signal.SIGTERM)
                    server.wait(timeout=120)
            results[prefetch] = times
            within = sum(t <= 16.7 for t in times) / len(times)
            name = "next items held ahead (prefetch)" if prefetch else "each answer waits for the server"
            print(f"| {name} | {percentile(times, .5):.1f} | {percentile(times, .95):.1f} | {max(times):.1f} | "
                  f"{within:.0%} |")
        browser.close()
    without = results[False]
    record("key_latency", f"key to next item in Chromium, p95 with prefetch (p50 {percentile(results[True], .5):.1f} ms; "
           f"without prefetch p50 {percentile(without, .5):.1f} ms, p95 {percentile(without, .95):.1f} ms)",
           percentile(results[True], .95), None, "ms")


if __name__ == "__main__":
    main()
