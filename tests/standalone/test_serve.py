"""``labelloop serve``: loopback by default, a token to share, names for annotators."""
from __future__ import annotations

import hmac
import json
import urllib.error
import urllib.request

import pytest
from servers import labelloop_server
from test_cli import run

from labelloop.errors import LabelloopError
from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.project import Project
from labelloop.standalone.server import ServeOptions, check_host, serve_settings

TOKEN = "s3cret-token"


@pytest.fixture
def project_dir(tmp_path, wine_csv):
    run("init", tmp_path / "proj", "--data", wine_csv, "--type", "tabular", "--categories", "a,b,c", "--id-column", "wine_id")
    return tmp_path / "proj"


def test_only_loopback_without_a_token(project_dir):
    check_host("127.0.0.1", None)
    check_host("::1", None)
    check_host("localhost", None)
    with pytest.raises(LabelloopError, match="--auth-token"):
        check_host("0.0.0.0", None)
    check_host("0.0.0.0", TOKEN)
    result = run("serve", project_dir, "--host", "0.0.0.0", ok=False)
    assert result.returncode == 2 and "--auth-token" in result.stderr


@pytest.fixture
def shared(project_dir):
    project = Project.open(project_dir)
    app = create_app(serve_settings(project, ServeOptions(auth_token=TOKEN)))
    yield app.test_client()
    webapp_of(app).stop()
    project.close()


def key(who: str) -> dict:
    """The header a browser of ``who`` sends: its own random key, the same on every request."""
    return {"X-Labelloop-Key": f"browser-of-{who}-0123456789"}


ROUTES = [("get", "/"), ("get", "/config"), ("get", "/batch"), ("post", "/label"), ("post", "/skip"), ("post", "/release"),
          ("get", "/history"), ("get", "/stats"), ("get", "/resource/labelloop/app.js"), ("get", "/media/a.png"),
          ("post", "/train"), ("get", "/favicon.ico"), ("get", "/no-such-route")]


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_needs_the_token(shared, method, path):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = getattr(shared, method)(path, headers=headers)
        assert response.status_code == 401 and "access token" in response.get_json()["error"]


def test_the_page_trades_the_token_for_a_cookie_and_annotators_name_themselves(shared):
    response = shared.get(f"/?token={TOKEN}")
    assert response.status_code == 302 and "labelloop_session" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"] and TOKEN not in response.headers["Set-Cookie"]
    assert shared.get("/").status_code == 200  # the cookie now opens every route
    needs_name = shared.get("/config")
    assert needs_name.status_code == 400 and needs_name.get_json()["needName"] is True
    assert shared.get("/config", headers={"X-Labelloop-User": "<script>", **key("x")}).status_code == 400
    assert shared.get("/config", headers={"X-Labelloop-User": "Ada L."}).get_json()["needName"] is True  # no key
    config = shared.get("/config", headers={"X-Labelloop-User": "Ada L.", **key("ada")}).get_json()
    assert config["user"] == "Ada L."
    bearer = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": "grace", **key("grace")}
    item = shared.get("/batch?size=1", headers=bearer).get_json()["items"][0]["id"]
    assert shared.post("/label", json={"id": item, "label": "a"}, headers=bearer).status_code == 200


def test_served_labels_reach_the_datasets_and_survive_a_restart(project_dir):
    def call(url, path, body=None):
        request = urllib.request.Request(url.rstrip("/") + path, method="POST" if body else "GET",
                                         data=json.dumps(body).encode() if body else None,
                                         headers={"Content-Type": "application/json", "X-Requested-With": "labelloop"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    with labelloop_server("serve", project_dir, "--user", "ada") as url:
        items = [i["id"] for i in call(url, "/batch?size=3")["items"]]
        for item in items:
            call(url, "/label", {"id": item, "label": "b"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            call(url, "/label", {"id": "nope", "label": "b"})
        assert refused.value.code == 404
    project = Project.open(project_dir)
    labels = project.platform.read_dataset("labels")
    assert sorted(labels["item_id"]) == sorted(items) and set(labels["label"]) == {"b"}
    assert set(project.platform.read_dataset("metadata")["annotator"]) == {"ada"}
    project.close()
    with labelloop_server("serve", project_dir) as url:
        assert call(url, "/stats")["labeled"] == 3


def test_the_token_is_compared_in_constant_time_over_equal_lengths(shared, monkeypatch):
    """Whatever its length, a token sent is hashed, then compared with ``hmac.compare_digest``."""
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append((len(a), len(b))) or real(a, b))
    for sent in ("", "s", "s3cret-token-but-longer", TOKEN):
        shared.get("/stats", headers={"Authorization": f"Bearer {sent}"})
    assert compared == [(32, 32)] * 4


def test_an_annotator_cannot_read_or_change_another_s_history(shared, project_dir):
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    ada = {**bearer, "X-Labelloop-User": "ada", **key("ada")}
    bob = {**bearer, "X-Labelloop-User": "bob", **key("bob")}
    eve_as_ada = {**bearer, "X-Labelloop-User": "ada", **key("eve")}
    item = shared.get("/batch?size=1", headers=ada).get_json()["items"][0]["id"]
    label_id = shared.post("/label", json={"id": item, "label": "a", "comment": "ada's note"}, headers=ada).get_json()["labelId"]

    # Another browser cannot take ada's name, on any route ...
    for method, path, body in [("get", "/history", None), ("get", f"/history?cursor={label_id}", None),
                               ("post", "/label", {"id": item, "label": "c"}), ("post", "/skip", {"id": item}),
                               ("get", "/batch", None), ("get", "/config", None)]:
        refused = getattr(shared, method)(path, json=body, headers=eve_as_ada)
        assert refused.status_code == 403 and refused.get_json() == {
            "error": "The name 'ada' is taken by another annotator: choose another.", "needName": True}
    # ... and bob's own history does not reach ada's answers, even with her label id.
    assert shared.get("/history", headers=bob).status_code == 404
    assert shared.get(f"/history?cursor={label_id}&direction=next", headers=bob).status_code == 404
    # bob labeling the same item records his own answer; ada's stays as it was.
    assert shared.post("/label", json={"id": item, "label": "b"}, headers=bob).status_code == 200
    mine = shared.get("/history", headers=ada).get_json()
    assert mine["labelId"] == label_id and mine["annotation"] == {"label": "a", "comment": "ada's note", "status": "LABELED"}

    restarted = Project.open(project_dir)  # the claim is kept in the journal
    app = create_app(serve_settings(restarted, ServeOptions(auth_token=TOKEN)))
    try:
        assert app.test_client().get("/history", headers=eve_as_ada).status_code == 403
        assert app.test_client().get("/history", headers=ada).get_json()["labelId"] == label_id
    finally:
        webapp_of(app).stop()
        restarted.close()
