"""The request protections of a served project, over HTTP as an attacker's client would send them
(DESIGN.md section 16; the browser's side is test_cross_site_browser.py)."""
from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from servers import labelloop_server
from test_cli import run

from labelloop.labeling.app import create_app, webapp_of
from labelloop.labeling.protections import BOUND_HOST, SECURITY_HEADERS
from labelloop.standalone.project import Project
from labelloop.standalone.server import ServeOptions, serve_settings

JSON = {"Content-Type": "application/json"}
OURS = {"X-Requested-With": "labelloop"}


@pytest.fixture(scope="module")
def server(tmp_path_factory, wine_csv_module):
    root = tmp_path_factory.mktemp("served") / "proj"
    run("init", root, "--data", wine_csv_module, "--type", "tabular", "--categories", "a,b,c", "--id-column", "wine_id")
    with labelloop_server("serve", root, "--user", "ada", "--retrain-every", "0") as url:
        yield urlsplit(url)


@pytest.fixture(scope="module")
def wine_csv_module(tmp_path_factory):
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame.drop(columns="target")
    frame.insert(0, "wine_id", range(1000, 1000 + len(frame)))
    path = tmp_path_factory.mktemp("wine") / "wine.csv"
    frame.to_csv(path, index=False)
    return path


def send(server, method: str, path: str, body: bytes | str | None = None, headers=None):
    """``(status, headers, JSON answer)`` of one raw request: any header, ``Host`` included, as given."""
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        headers = {"Host": server.netloc, **(headers or {})}
        if body is not None:
            body = body.encode() if isinstance(body, str) else body
            headers["Content-Length"] = str(len(body))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        answer = json.loads(data) if response.getheader("Content-Type", "").startswith("application/json") else data
        return response.status, response.headers, answer
    finally:
        connection.close()


def labeled(server) -> int:
    return send(server, "GET", "/stats")[2]["labeled"]


def an_item(server) -> str:
    return send(server, "GET", "/batch?size=1", headers=OURS)[2]["items"][0]["id"]


def test_state_changes_take_json_only(server):
    item = an_item(server)
    body = json.dumps({"id": item, "label": "a"})
    for content_type in ("text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x", None):
        headers = {"Content-Type": content_type} if content_type else {}
        status, _, answer = send(server, "POST", "/label", body, headers)
        assert status == 415 and answer["error"] == ("Send the request body as JSON, with the header "
                                                     "Content-Type: application/json."), content_type
    assert send(server, "PUT", "/rules", json.dumps({"rules": []}), {"Content-Type": "text/plain"})[0] == 415
    assert labeled(server) == 0
    assert send(server, "POST", "/label", body, JSON)[0] == 200
    assert labeled(server) == 1


@pytest.mark.parametrize("headers", [
    {"Origin": "http://127.0.0.1:1"},  # the same machine, another port
    {"Origin": "http://rebind.test"},
    {"Origin": "null"},  # a file opened from disk, a sandboxed frame
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},  # another port or subdomain of the same site
], ids=["other-port", "other-host", "null", "cross-site", "same-site"])
def test_no_state_change_from_another_origin(server, headers):
    before = labeled(server)
    status, _, answer = send(server, "POST", "/skip", json.dumps({"id": an_item(server)}), {**JSON, **headers})
    assert status == 403 and answer["error"] == "Requests from another site cannot change anything here."
    assert labeled(server) == before and send(server, "GET", "/stats")[2]["skipped"] == 0


def test_the_page_own_origin_may_change_things(server):
    own = {"Origin": f"http://{server.netloc}", "Sec-Fetch-Site": "same-origin"}
    assert send(server, "POST", "/skip", json.dumps({"id": an_item(server)}), {**JSON, **own})[0] == 200
    assert send(server, "POST", "/skip", json.dumps({"id": "nope"}), {**JSON, **own})[0] == 404


@pytest.mark.parametrize("path", ["/batch?size=100", "/search?q=1&size=100"])
def test_gets_that_lease_items_need_the_page_header(server, path):
    status, _, answer = send(server, "GET", path)
    assert status == 403 and "X-Requested-With: labelloop" in answer["error"]
    assert send(server, "GET", path, headers={"X-Requested-With": "XMLHttpRequest"})[0] == 403
    assert send(server, "GET", path, headers=OURS)[0] == 200
    assert send(server, "GET", "/config")[0] == 200  # a GET that leases nothing needs no header


@pytest.mark.parametrize("path", ["/", "/batch?size=5", "/stats"])
def test_a_foreign_host_name_is_refused(server, path):
    for host in ("rebind.test", f"rebind.test:{server.port}", "127.0.0.1.nip.io", "localhost.evil.test"):
        status, _, answer = send(server, "GET", path, headers={"Host": host, **OURS})
        assert status == 400 and "its own address" in answer["error"], host
    for host in (server.netloc, f"localhost:{server.port}", f"[::1]:{server.port}", "localhost"):
        assert send(server, "GET", path, headers={"Host": host, **OURS})[0] == 200, host


def test_every_response_carries_the_security_headers(server):
    requests = [("GET", "/", None, {}), ("GET", "/resource/labelloop/app.js", None, {}), ("GET", "/config", None, {}),
                ("GET", "/batch", None, {}), ("GET", "/no-such-route", None, {}),
                ("POST", "/label", "{}", {"Content-Type": "text/plain"}), ("GET", "/", None, {"Host": "rebind.test"})]
    for method, path, body, headers in requests:
        _, answer_headers, _ = send(server, method, path, body, headers)
        for name, value in SECURITY_HEADERS.items():
            assert answer_headers[name] == value, (path, name)
    assert "frame-ancestors 'none'" in SECURITY_HEADERS["Content-Security-Policy"]
    assert "default-src 'self'" in SECURITY_HEADERS["Content-Security-Policy"]
    _, _, page = send(server, "GET", "/")
    assert b"<script type=\"module\" src=" in page and b"<script>" not in page  # no inline script for the CSP to block


@pytest.mark.parametrize("body, message", [
    ("[" * 100_000 + "]" * 100_000, "nested more than 32 levels"),  # a RecursionError and a 500 in the parser
    ('{"id": ' + "[" * 40 + "]" * 40 + "}", "nested more than 32 levels"),
    ('{"id": "1000", "label": "a"', "not valid JSON"),
    ("\xff\xfe", "not valid JSON"),
])
def test_malformed_or_deep_json_is_a_400(server, body, message):
    data = body.encode("latin-1") if body.startswith("\xff") else body
    status, _, answer = send(server, "POST", "/label", data, JSON)
    assert status == 400 and message in answer["error"] and "Traceback" not in answer["error"]
    assert send(server, "GET", "/config")[0] == 200


def test_train_needs_a_named_annotator_on_a_shared_server(tmp_path, wine_csv_module):
    run("init", tmp_path / "proj", "--data", wine_csv_module, "--type", "tabular", "--categories", "a,b,c",
        "--id-column", "wine_id")
    project = Project.open(tmp_path / "proj")
    app = create_app(serve_settings(project, ServeOptions(auth_token="s3cret-token-of-the-team", retrain_every=1000)))
    token_only = {"Authorization": "Bearer s3cret-token-of-the-team"}
    try:
        refused = app.test_client().post("/train", json={}, headers=token_only)
        assert refused.status_code == 400 and refused.get_json()["needName"] is True
        named = {**token_only, "X-Labelloop-User": "ada", "X-Labelloop-Key": "key-of-adas-browser-01"}
        assert app.test_client().post("/train", json={}, headers=named).status_code == 202
    finally:
        webapp_of(app).stop()
        project.close()


def test_a_server_on_every_interface_or_behind_a_proxy_answers_under_its_names(tmp_path, wine_csv_module, monkeypatch):
    """Bound to 0.0.0.0, any IP address (a rebinding needs a name); the names of
    ``LABELLOOP_ALLOWED_HOSTS`` (a TLS proxy passing the browser's Host), writes from their origin included."""
    run("init", tmp_path / "proj", "--data", wine_csv_module, "--type", "tabular", "--categories", "a,b,c",
        "--id-column", "wine_id")
    monkeypatch.setenv("LABELLOOP_ALLOWED_HOSTS", "labels.example.com, other.example.com")
    project = Project.open(tmp_path / "proj")
    app = create_app(serve_settings(project))
    app.config[BOUND_HOST] = "0.0.0.0"
    client = app.test_client()
    try:
        for host in ("192.168.1.7:8080", "[fe80::1]:8080", "labels.example.com", "other.example.com:8443"):
            assert client.get("/config", headers={"Host": host}).status_code == 200, host
        assert client.get("/config", headers={"Host": "rebind.test:8080"}).status_code == 400
        item = client.get("/batch?size=1", headers={"Host": "labels.example.com"}).get_json()["items"][0]["id"]
        proxied = {"Host": "labels.example.com", "Origin": "https://labels.example.com"}
        assert client.post("/label", json={"id": item, "label": "a"}, headers=proxied).status_code == 200
        foreign = {"Host": "labels.example.com", "Origin": "https://other.example.com"}
        assert client.post("/label", json={"id": item, "label": "b"}, headers=foreign).status_code == 403
    finally:
        webapp_of(app).stop()
        project.close()
