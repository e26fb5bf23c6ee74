"""``labelloop serve``: loopback by default, a token to share, names for annotators."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from browser import labelloop_server
from labelloop.errors import LabelloopError
from labelloop.project import Project
from labelloop.server import check_host, create_app
from test_cli import run

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
    app, writer = create_app(project, auth_token=TOKEN)
    yield app.test_client()
    writer.close()
    project.close()


ROUTES = [("get", "/"), ("get", "/config"), ("get", "/batch"), ("post", "/label"), ("post", "/skip"),
          ("get", "/history"), ("get", "/stats"), ("get", "/resource/labelloop/app.js"), ("get", "/media/a.png")]


@pytest.mark.parametrize("method, path", ROUTES)
def test_every_route_needs_the_token(shared, method, path):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = getattr(shared, method)(path, headers=headers)
        assert response.status_code == 401 and "access token" in response.get_json()["error"]


def test_the_page_trades_the_token_for_a_cookie_and_annotators_name_themselves(shared):
    response = shared.get(f"/?token={TOKEN}")
    assert response.status_code == 302 and "labelloop_token" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert shared.get("/").status_code == 200  # the cookie now opens every route
    needs_name = shared.get("/config")
    assert needs_name.status_code == 400 and needs_name.get_json()["needName"] is True
    assert shared.get("/config", headers={"X-Labelloop-User": "<script>"}).status_code == 400
    config = shared.get("/config", headers={"X-Labelloop-User": "Ada L."}).get_json()
    assert config["user"] == "Ada L."
    bearer = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": "grace"}
    item = shared.get("/batch?size=1", headers=bearer).get_json()["items"][0]["id"]
    assert shared.post("/label", json={"id": item, "label": "a"}, headers=bearer).status_code == 200


def test_served_labels_reach_the_datasets_and_survive_a_restart(project_dir):
    def call(url, path, body=None):
        request = urllib.request.Request(url.rstrip("/") + path, method="POST" if body else "GET",
                                         data=json.dumps(body).encode() if body else None,
                                         headers={"Content-Type": "application/json"})
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
