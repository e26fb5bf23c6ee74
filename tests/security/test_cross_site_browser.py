"""A page on another origin, in real Chromium, attacks a served project without a token: requests
the browser sends without asking (a no-cors text/plain fetch, an auto-submitted form, an image),
a page opened from disk, and an almost invisible frame the user clicks and types into. Nothing
gets recorded or leased; the project's own page still labels (DESIGN.md section 16)."""
from __future__ import annotations

import functools
import http.server
import json
import threading
from contextlib import contextmanager

import pytest
from browser import browser_page
from polling import eventually
from servers import labelloop_server
from test_cli import run

from labelloop.standalone.project import Project

ATTACK = """<!doctype html><html><body>
<img src="{target}batch?size=100">
<iframe src="{target}" style="position:absolute; left:0; top:0; width:1200px; height:680px; opacity:0.05; border:0"></iframe>
<script>
const send = (path, body) => fetch("{target}" + path, {{method: "POST", mode: "no-cors", credentials: "include",
  headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify(body)}});
Promise.allSettled([
  send("label", {{id: "1000", label: "a"}}),
  send("label", {{id: "1001", label: "b"}}),
  send("review", {{id: "1002", label: "c"}}),
  send("skip", {{id: "1003"}}),
  fetch("{target}batch?size=100", {{mode: "no-cors", credentials: "include"}}),
  fetch("{target}search?q=1&size=100", {{mode: "no-cors", credentials: "include"}}),
]).then(() => {{ document.title = "sent"; }});
</script></body></html>"""

# A text/plain form whose one field, name=value, makes a JSON body: {"id": "1004", ..., "x": "="}.
FORM = """<!doctype html><html><body>
<form method="POST" action="{target}{path}" enctype="text/plain">
<input name='{{"id": "1004", "label": "a", "x": "' value='"}}'></form>
<script>document.forms[0].submit();</script></body></html>"""


@pytest.fixture
def project_dir(tmp_path, wine_csv):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c", "--id-column", "wine_id")
    return tmp_path / "proj"


@contextmanager
def attacker_site(folder):
    """Another origin: a static web server on its own port, serving the attacker's pages."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def recorded(project_dir) -> dict:
    """How many events of each kind the journal holds (answers, reviews, leases)."""
    project = Project.open(project_dir)
    try:
        return project.journal.events_frame()["kind"].value_counts().to_dict()
    finally:
        project.close()


def test_a_page_on_another_origin_records_and_leases_nothing(project_dir, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    with labelloop_server("serve", project_dir, "--user", "ada", "--retrain-every", "0") as url, \
            attacker_site(site) as attacker, browser_page(width=1280, height=720) as page:
        (site / "attack.html").write_text(ATTACK.format(target=url), encoding="utf-8")
        for route in ("label", "review"):
            (site / f"form-{route}.html").write_text(FORM.format(target=url, path=route), encoding="utf-8")

        page.goto(attacker + "attack.html")
        page.wait_for_function("document.title === 'sent'")
        page.wait_for_function("document.querySelector('img').complete")
        page.wait_for_timeout(1000)  # the frame has had time to load, if it may
        framed = page.frames[1].evaluate("document.querySelector('#labelloop-root') !== null")
        page.mouse.click(600, 340)  # the victim clicks the page and types: inside the frame, if it showed
        for key in ("a", "b", "a", "c"):  # the categories' own shortcuts
            page.keyboard.press(key)

        for route in ("label", "review"):
            page.goto(attacker + f"form-{route}.html")
            page.wait_for_load_state("load")
            assert page.url == url + route  # the form was sent: the browser shows the server's answer
            assert "cannot change anything here" in page.content()

        (tmp_path / "from-disk.html").write_text(ATTACK.format(target=url), encoding="utf-8")
        page.goto((tmp_path / "from-disk.html").as_uri())  # Origin: null
        page.wait_for_function("document.title === 'sent'")
        page.wait_for_timeout(500)

        assert recorded(project_dir) == {}
        assert not framed  # frame-ancestors 'none': the page never showed inside the attacker's

        page.goto(url)  # the project's own page, under its Content-Security-Policy, still labels
        page.wait_for_selector(".row-table")
        page.keyboard.press("a")

        def stats():
            return json.loads(page.evaluate("() => fetch('stats').then((r) => r.text())"))
        assert eventually(lambda: stats()["labeled"] == 1)
        assert stats()["perAnnotator"] == {"ada": {"labeled": 1, "skipped": 0}}
        assert recorded(project_dir)["label"] == 1
