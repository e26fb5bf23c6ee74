"""The one app factory (labeling/app.py): the complete standalone webapp, built and used without a process."""
from __future__ import annotations

import pytest
from flask import jsonify, request

import labelloop.labeling.app as app_module
from labelloop.labeling.app import create_app, webapp_of
from labelloop.labeling.extensions import EXTENSIONS
from labelloop.labeling.extensions.base import Extension
from labelloop.labeling.protections import SECURITY_HEADERS
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.server import ServeOptions, serve_settings

PAGE = {"X-Requested-With": "labelloop"}  # what the page sends with a GET that leases items


@pytest.fixture
def project(tmp_path, wine_csv):
    init_project(tmp_path / "proj", wine_csv, "tabular", [{"key": k} for k in "abc"], id_column="wine_id")
    project = Project.open(tmp_path / "proj", user="ada")
    yield project
    project.close()


def test_the_complete_standalone_app_labels_through_the_test_client_and_stops_with_its_datasets_written(project):
    options = ServeOptions(retrain_every=1000, watch_pool=3600)  # every feature on, no round due
    app = create_app(serve_settings(project, options))
    webapp = webapp_of(app)
    client = app.test_client()
    try:
        assert client.get("/").status_code == 200  # the page, as labelloop serve gives it
        batch = client.get("/batch?size=3", headers=PAGE).get_json()
        items = [item["id"] for item in batch["items"]]
        assert len(items) == 3
        for item in items[:2]:
            assert client.post("/label", json={"id": item, "label": "b"}).status_code == 200
        assert client.post("/skip", json={"id": items[2]}).status_code == 200
        found = client.get("/search?q=1&column=wine_id&match=substring&size=2", headers=PAGE).get_json()
        assert found["items"] and found["items"][0]["query"]["strategy"] == "search"
        stats = client.get("/stats").get_json()
        assert (stats["labeled"], stats["skipped"]) == (2, 1)
        assert stats["loop"]["retrainEvery"] == 1000 and stats["loop"]["running"] is False
        assert stats["pool"]["items"] == len(project.source) and stats["pool"]["error"] is None
        assert stats["features"]["kind"] == "tfidf"
        assert client.get("/history?direction=back").get_json()["item"]["id"] == items[2]
        assert client.get("/review").get_json()["remaining"] == 0  # the one user of a server without a token
        assert client.get("/rules").get_json()["canEdit"] is True
        assert client.post("/train", json={}).status_code == 202
        assert client.get("/media/x.png").status_code == 404
    finally:
        webapp.stop()
    assert not webapp.settings.loop._thread.is_alive()  # one stop ended every feature
    labels = project.platform.read_dataset("labels")
    assert sorted(labels["item_id"]) == sorted(items[:2]) and set(labels["label"]) == {"b"}


def test_every_route_of_the_built_app_gets_the_request_protections(project):
    app = create_app(serve_settings(project, ServeOptions(retrain_every=1000, watch_pool=3600)))
    client = app.test_client()
    try:
        routes = {(rule.rule, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
                  for method in rule.methods - {"HEAD", "OPTIONS"}}
        assert {("/search", "GET"), ("/review", "POST"), ("/rules", "PUT"), ("/train", "POST"),
                ("/media/<path:item_id>", "GET")} <= routes
        for path, method in sorted(routes):
            url = path.replace("<path:item_id>", "x.png").replace("<path:name>", "labelloop/labelloop.css")
            response = client.open(url, method=method, headers={"Host": "rebind.test"})
            assert response.status_code == 400, (method, path)  # a DNS-rebound name
            assert all(response.headers.get(name) == value for name, value in SECURITY_HEADERS.items())
            if method != "GET":
                cross = client.open(url, method=method, json={}, headers={"Sec-Fetch-Site": "cross-site"})
                assert cross.status_code == 403, (method, path)
    finally:
        webapp_of(app).stop()


class Echo(Extension):
    """A feature as a test writes one: a route, a part of /stats, a start and a stop."""

    events = []

    def init_app(self, app) -> None:
        @app.get("/echo")
        def echo():
            return jsonify(user=self.webapp.identify(request), labeled=self.webapp.service.tally().labeled)

    def start(self) -> None:
        self.events.append("start")

    def stop(self) -> None:
        self.events.append("stop")

    def stats(self) -> dict:
        return {"echo": len(self.events)}


def test_a_feature_is_its_module_and_one_line_in_the_list(project, monkeypatch):
    monkeypatch.setattr(app_module, "EXTENSIONS", (*EXTENSIONS, Echo))
    app = create_app(serve_settings(project))
    client = app.test_client()
    item = client.get("/batch?size=1", headers=PAGE).get_json()["items"][0]["id"]
    answer = client.post("/label", json={"id": item, "label": "a"}).get_json()
    assert answer["stats"]["echo"] == 1 and Echo.events == ["start"]
    assert client.get("/echo").get_json() == {"user": "ada", "labeled": 1}
    webapp_of(app).stop()
    webapp_of(app).stop()  # a second stop (atexit after SIGTERM in DSS) does nothing
    assert Echo.events == ["start", "stop"]


def test_every_extension_module_is_listed_once_and_each_line_names_an_extension():
    """A feature is its module plus its line in FEATURES: a module left out of the list would never run."""
    import pkgutil

    import labelloop.labeling.extensions as package

    modules = {info.name for info in pkgutil.iter_modules(package.__path__)} - {"base"}
    listed = [feature.split(":")[0] for feature in package.FEATURES]
    assert sorted(listed) == sorted(modules)
    assert all(issubclass(kind, Extension) and kind is not Extension for kind in EXTENSIONS)
