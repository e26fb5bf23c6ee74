"""What the DSS frontend does for a plugin's standard webapp, so a real browser can use the page.

- The page, at ``/projects/<project>/webapps/<id>/view``: the webapp's ``body.html`` then its
  ``app.js``, after the standard library ``dataiku``, whose ``getWebAppBackendUrl(path)`` gives the
  backend's URL (shared/reference/dss-api.md, "Webapp backend"). DSS shows this document in a frame
  of its own UI; here it is the whole tab.
- The plugin's ``resource/`` folder at ``/plugins/<plugin id>/resource/<path>`` (dss-api.md,
  "resource/": Dataiku's error-analysis and NER plugins load their files from there).
- ``/web-apps-backends/<project>/<id>/<path>``, forwarded to the backend with the browser's own
  headers, its DSS session cookie included, which is how the backend tells who calls it
  (``get_auth_info_from_browser_headers``). The prefix is the one dataikuapi's
  ``DSSWebAppBackendClient`` builds (dataikuapi/dss/webapp.py: ``<dss>/web-apps-backends/<project
  key>/<webapp id>/``).

The page is taken to be same-origin with DSS, as a frame without a sandbox would be: Dataiku's
webapps security page says the browser's DSS session cookie is what the backend reads from the
page's own calls, and Dataiku's plugins (model error analysis) fetch ``/plugins/.../resource/``
files and their backend from the page without ``noJSSecurity``. No source we found shows the
frame's ``sandbox`` or a Content-Security-Policy on it; a sandboxed frame would make every call
cross-site (DSS versions 12.6 to 13.5 alike here; to be checked on a live DSS).

None of these sources dates what it says: the fake applies all of it on every version it knows
(12.6.4, 13.5.6).

``forwarded`` lists the backend paths the page called, so a test can check it used no other way in.
"""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import flask
from paths import ROOT
from werkzeug.serving import make_server

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


class Frontend:
    """The DSS frontend of one webapp: ``url`` is its page, ``origin`` DSS's; ``close()`` stops it."""

    def __init__(self, webapp_dir, backend_url: str, project_key: str = "LABELS", webapp_id: str = "kUDF1mQ",
                 plugin_id: str = "labelloop"):
        self.webapp_dir, self.backend_url = Path(webapp_dir), backend_url.rstrip("/")
        self.prefix = f"/web-apps-backends/{project_key}/{webapp_id}"
        self.forwarded = []
        app = flask.Flask("dss-frontend")
        app.add_url_rule(f"/projects/{project_key}/webapps/{webapp_id}/view", "page", self._page)
        app.add_url_rule(f"/projects/{project_key}/webapps/{webapp_id}/app.js", "script", self._script)
        app.add_url_rule(f"/plugins/{plugin_id}/resource/<path:path>", "resource",
                         lambda path: flask.send_from_directory(ROOT / "resource", path))
        app.add_url_rule(f"{self.prefix}/<path:path>", "backend", self._forward,
                         methods=["GET", "POST", "PUT", "DELETE"])
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.origin = f"http://127.0.0.1:{self._server.port}"
        self.url = f"{self.origin}/projects/{project_key}/webapps/{webapp_id}/view"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-dss-frontend", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join()

    def __enter__(self) -> Frontend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _page(self):
        library = (f"<script>window.getWebAppBackendUrl = function (path) {{ return {json.dumps(self.prefix)} + path; }};"
                   "window.dataiku = {getWebAppBackendUrl: window.getWebAppBackendUrl};</script>")
        body = (self.webapp_dir / "body.html").read_text(encoding="utf-8")
        return (f"<!doctype html><html><head><meta charset='utf-8'>{library}</head>"
                f"<body>{body}<script src='app.js'></script></body></html>")

    def _script(self):
        return flask.Response((self.webapp_dir / "app.js").read_text(encoding="utf-8"), mimetype="application/javascript")

    def _forward(self, path: str):
        request = flask.request
        self.forwarded.append(path)
        url = f"{self.backend_url}/{path}" + (f"?{request.query_string.decode()}" if request.query_string else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        forwarded = urllib.request.Request(url, data=request.get_data() if request.method != "GET" else None,
                                           method=request.method, headers=headers)
        try:
            with urllib.request.urlopen(forwarded, timeout=60) as answer:
                status, body, answer_headers = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            status, body, answer_headers = error.code, error.read(), error.headers
        kept = [(k, v) for k, v in answer_headers.items() if k.lower() not in HOP_BY_HOP]
        return flask.Response(body, status=status, headers=kept)
