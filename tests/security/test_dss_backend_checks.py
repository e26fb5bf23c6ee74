"""A DSS webapp's real backend gets the protections that do not depend on ``Host``: behind DSS's
proxy the browser's address is not the backend's (DESIGN.md section 16)."""
from __future__ import annotations

import json
from pathlib import Path

import flask
from sampler_models import pool

from labelloop.labeling.protections import SECURITY_HEADERS

WEBAPP = Path(__file__).resolve().parents[2] / "webapps" / "tabular-labeling"


def test_a_dss_backend_refuses_cross_site_requests_but_not_its_proxy_host(dss, tmp_path):
    dss.add_dataset("rows", pool(20))
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    app = flask.Flask("backend")
    dss.run(WEBAPP, {"unlabeled": "rows", "categories": [{"from": "low"}, {"from": "high"}], "labels_ds": "labels",
                     "metadata_ds": "metadata", "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")},
            init_globals={"app": app})
    client = app.test_client(use_cookies=False)
    alice = {**dss.login("alice"), "Host": "dss.example.com:11200"}  # as DSS's proxy may pass it: accepted

    leased = client.get("/batch?size=1", headers=alice)
    assert leased.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert leased.headers[name] == value
    item = leased.get_json()["items"][0]["id"]
    body = json.dumps({"id": item, "label": "low"})

    assert client.post("/label", data=body, headers={**alice, "Content-Type": "text/plain"}).status_code == 415
    assert client.post("/label", data=body, headers={**alice, "Content-Type": "application/json",
                                                     "Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.get("/batch?size=1", headers={**alice, "X-Requested-With": ""}).status_code == 403
    assert client.get("/stats", headers=alice).get_json()["labeled"] == 0
    assert client.post("/label", data=body, headers={**alice, "Content-Type": "application/json",
                                                     "Sec-Fetch-Site": "same-origin"}).status_code == 200
