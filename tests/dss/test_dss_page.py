"""The labeling page as DSS shows it: a real browser, the fake DSS frontend (its page, the plugin's
resources, the backend's path) and a real backend process, the annotator known by the DSS session."""
from __future__ import annotations

import pytest
from browser import browser_page, screenshot
from fake_dataiku.backend_process import BackendProcess
from fake_dataiku.frontend import Frontend
from paths import ROOT
from polling import eventually
from sampler_models import pool
from test_browser import act, current_id
from test_dss_webapps import write_png

from labelloop.store.items import row_ids

TABULAR = ROOT / "webapps" / "tabular-labeling"
IMAGE = ROOT / "webapps" / "image-labeling"
LABELS = ("low", "mid", "high")


@pytest.mark.parametrize("width, height", [(1280, 720), (1600, 900)])
def test_an_annotator_labels_in_the_dss_page_known_by_the_dss_session(dss, tmp_path, width, height):
    dss.add_dataset("rows", pool(60))
    for name in ("labels", "metadata"):
        dss.add_dataset(name)
    cookie = dss.login("ada")["Cookie"].split("=", 1)[1]
    config = {"unlabeled": "rows", "categories": [{"from": label} for label in LABELS], "labels_ds": "labels",
              "metadata_ds": "metadata", "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")}
    backend = BackendProcess(dss, TABULAR, config, processes=0)  # multi-threaded, as DSS 13.5.3 sets up new webapps
    try:
        with Frontend(TABULAR, backend.url) as frontend, browser_page(width, height) as page:
            page.context.add_cookies([{"name": "dss_session", "value": cookie, "url": frontend.origin}])
            page.goto(frontend.url)
            page.wait_for_selector("tr:has(th:text-is('name'))")
            labeled = {}
            for key in ("1", "2", "3"):
                labeled[current_id(page, "name")] = LABELS[int(key) - 1]
                act(page, key, "name")
            page.wait_for_function("() => document.querySelector('.counts').textContent.startsWith('3 labeled')")
            screenshot(page, f"dss-page-{width}x{height}")
        assert {"config", "batch", "label"} <= set(frontend.forwarded)  # through the backend path, the only way in
        assert eventually(lambda: len(dss.platform.read_dataset("metadata")) == 3, timeout=30)
        metadata = dss.platform.read_dataset("metadata")
        assert set(metadata["annotator"]) == {"ada"}  # the DSS session's user, not a name typed in the page
        name_of = dict(zip(row_ids(dss.read_as_dss("rows")), dss.read_as_dss("rows")["name"]))
        assert {name_of[i]: label for i, label in zip(metadata["data_id"].astype(str), metadata["label"])} == labeled
    finally:
        backend.stop()


def test_the_image_webapp_shows_a_folders_images_through_the_backend_path(dss, tmp_path):
    folder = dss.add_folder("media")
    for name in ("a.png", "b.png"):
        write_png(folder / name)
    for name in ("labels", "metadata"):
        dss.add_dataset(name)
    config = {"unlabeled": "media", "categories": [{"from": label} for label in LABELS], "labels_ds": "labels",
              "metadata_ds": "metadata", "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")}
    cookie = dss.login("ada")["Cookie"].split("=", 1)[1]
    backend = BackendProcess(dss, IMAGE, config, processes=0)
    try:
        with Frontend(IMAGE, backend.url) as frontend, browser_page(1280, 720) as page:
            page.context.add_cookies([{"name": "dss_session", "value": cookie, "url": frontend.origin}])
            page.goto(frontend.url)
            page.wait_for_function("() => { const image = document.querySelector('img');"
                                   " return image && image.complete && image.naturalWidth === 10; }")  # loaded, 10 px wide
            shown = current_id(page, None)
            act(page, "3", None)
        assert any(path.startswith("media/") for path in frontend.forwarded)
        assert eventually(lambda: dss.platform.dataset_exists("labels") and len(dss.platform.read_dataset("labels")) == 1)
        assert dss.platform.read_dataset("labels")[["path", "label"]].values.tolist() == [[shown, "high"]]
    finally:
        backend.stop()
