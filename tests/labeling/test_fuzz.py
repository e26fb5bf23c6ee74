"""Hostile input: every route, fed random JSON, wrong types, huge and odd strings, wrong methods.

Property: the server answers 2xx or 4xx with a JSON error, never a 500 or a traceback, and a
refused request leaves the journal exactly as it was.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from polling import eventually

from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.server import ServeOptions, serve_settings

pytestmark = pytest.mark.slow  # hypothesis runs every route many times: a long run, in make test-slow

TOKEN = "fuzz-token"
KEY = {"X-Labelloop-Key": "fuzz-browser-key-0123456789"}
CATEGORIES = [{"key": "cat", "caption": "Cat"}, {"key": "dog", "caption": "Dog"}]
ITEMS = ["a.png", "sub/b.png", "c d.png"]
ROUTES = ["/", "/config", "/batch", "/search", "/label", "/skip", "/release", "/history", "/stats", "/review", "/rules",
          "/label/bulk", "/label/bulk/undo", "/groups",
          "/rules/preview", "/train", "/favicon.ico", "/similar", "/clusters", "/clusters/1", "/clusters/0",
          "/media/a.png", "/media/sub/b.png", "/resource/labelloop/app.js"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

odd_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=10),  # control characters
    st.sampled_from(["", " ", "\x00", "..", "../../etc/passwd", "//etc/passwd", "%2e%2e%2f", "\u202e", "🏷️" * 50,
                     "²", "--5", "٣", "1e3", "NaN", "-1", "999999999999999999999", "<script>alert(1)</script>"]),
    st.sampled_from(ITEMS + ["cat", "dog"]),
    st.integers(1, 2_000_000).map(lambda n: "x" * n),  # up to 2 MB
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=8,
)
label_bodies = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(ITEMS), json_values), "label": st.one_of(st.sampled_from(["cat", "dog"]), json_values)},
    optional={"comment": json_values, "durationMs": json_values, "user": odd_text, "annotator": odd_text},
)
raw_bodies = st.one_of(st.none(), st.binary(max_size=200), json_values.map(json.dumps), label_bodies.map(json.dumps))
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A shared image project: media, names and the token all take part."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "pics" / "sub").mkdir(parents=True)
    for item in ITEMS:
        Image.new("RGB", (4, 4), (9, 99, 199)).save(root / "pics" / item)
    init_project(root / "proj", root / "pics", "image", CATEGORIES)
    project = Project.open(root / "proj")
    app = create_app(serve_settings(project, ServeOptions(auth_token=TOKEN, reviewers=["rev"])))
    stats = webapp_of(app).service.stats
    assert eventually(lambda: stats()["similar"]["ready"] and stats()["clusters"]["ready"])  # their 503 is not the fuzz's
    yield app.test_client(), project.journal
    webapp_of(app).stop()
    project.close()


def journal_state(journal) -> tuple:
    """What a refused request must leave as it was: the journal, and the project's rules beside it."""
    rules = Path(journal.url.removeprefix("sqlite:///")).parent / "rules.json"
    return (journal.event_count(), journal.current_frame()[["item_id", "annotator", "label", "id"]].values.tolist(),
            journal.reviews_frame().values.tolist(), rules.read_text() if rules.exists() else None)


def check(client, journal, method: str, path: str, **request) -> None:
    before = journal_state(journal)
    response = client.open(path, method=method, **request)
    assert response.status_code < 500, (method, path, response.status_code, response.get_data()[:300])
    if response.status_code >= 400:
        if method != "HEAD":
            assert isinstance(json.loads(response.get_data(as_text=True))["error"], str)
        assert journal_state(journal) == before, "a refused request changed the journal"


@FUZZ
@given(method=st.sampled_from(METHODS), route=st.sampled_from(ROUTES), body=raw_bodies,
       content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", None]),
       user=st.one_of(st.sampled_from(["ada", "bob", "rev"]), header_text))
def test_any_method_and_body_on_any_route(client, method, route, body, content_type, user):
    app, journal = client
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": user, **KEY}
    check(app, journal, method, route, data=body, content_type=content_type, headers=headers)


@FUZZ
@given(route=st.sampled_from(["/batch", "/search", "/similar", "/clusters", "/clusters/1", "/history", "/config", "/stats",
                              "/review", "/media/a.png", "/"]),
       query=st.dictionaries(st.sampled_from(["size", "cursor", "direction", "original", "token", "q", "column", "match",
                                              "id", "x"]), odd_text,
                             max_size=3))
def test_any_query_string(client, route, query):
    app, journal = client
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": "rev", **KEY}
    check(app, journal, "GET", route, query_string=query, headers=headers)


@FUZZ
@given(route=st.sampled_from(["/label", "/skip"]), body=label_bodies, user=st.sampled_from(["ada", "bob"]))
def test_labels_and_skips_with_any_fields(client, route, body, user):
    app, journal = client
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": user, **KEY}
    check(app, journal, "POST", route, json=body, headers=headers)


@FUZZ
@given(body=label_bodies, user=st.sampled_from(["ada", "rev"]))
def test_reviews_with_any_fields(client, body, user):
    app, journal = client
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": user, **KEY}
    app.post("/label", json={"id": "a.png", "label": "cat"}, headers={**headers, "X-Labelloop-User": "bob"})
    check(app, journal, "POST", "/review", json=body, headers=headers)


bulk_ids = st.one_of(
    st.lists(st.sampled_from(ITEMS + ["not-an-item.png"]), max_size=5),  # leased or not, known or not, repeated
    st.just([f"{n}.png" for n in range(10_000)]),
    json_values,
)
bulk_bodies = st.fixed_dictionaries({"ids": bulk_ids, "label": st.one_of(st.sampled_from(["cat", "dog"]), json_values)},
                                    optional={"comment": json_values})
undo_bodies = st.fixed_dictionaries({"group": st.one_of(st.sampled_from(["g1", "g2", "g999"]), json_values)})


@FUZZ
@given(body=bulk_bodies, undo=undo_bodies, user=st.sampled_from(["ada", "bob", "rev"]), lease=st.booleans())
def test_groups_and_their_undo_with_any_fields(client, body, undo, user, lease):
    app, journal = client
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": user, **KEY}
    if lease:
        app.get("/batch?size=3", headers=headers)
    check(app, journal, "POST", "/label/bulk", json=body, headers=headers)
    check(app, journal, "POST", "/label/bulk/undo", json=undo, headers=headers)


rule_bodies = st.fixed_dictionaries({
    "name": st.one_of(st.just("r"), odd_text), "label": st.one_of(st.sampled_from(["cat", "dog"]), json_values),
    "column": st.one_of(st.just("path"), odd_text),
}, optional={"keywords": json_values, "regex": odd_text, "op": odd_text, "value": json_values, "all": json_values,
             "enabled": json_values})


@FUZZ
@given(rule=rule_bodies, user=st.sampled_from(["ada", "rev"]), save=st.booleans())
def test_rules_with_any_fields(client, rule, user, save):
    app, journal = client
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": user, **KEY}
    if save:
        check(app, journal, "PUT", "/rules", json={"rules": [rule]}, headers=headers)
    else:
        check(app, journal, "POST", "/rules/preview", json={"rule": rule}, headers=headers)


@FUZZ
@given(item=odd_text, prefix=st.sampled_from(["/media/", "/resource/", "/resource/labelloop/", "/clusters/"]))
def test_any_media_resource_or_cluster_path(client, item, prefix):
    app, journal = client
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": "ada", **KEY}
    check(app, journal, "GET", prefix + item, headers=headers)


@FUZZ
@given(authorization=header_text, cookie=header_text)
def test_any_credentials(client, authorization, cookie):
    app, journal = client
    app.set_cookie("labelloop_token", cookie)
    try:
        check(app, journal, "GET", "/config", headers={"Authorization": authorization, "X-Labelloop-User": "ada", **KEY})
    finally:
        app.delete_cookie("labelloop_token")
