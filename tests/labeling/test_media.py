"""``GET /media/<id>``: only the folder's items, real MIME types, ETag and Range, downscaled images."""
from __future__ import annotations

import io
import os
import wave

import flask
import pytest
from paths import ROOT
from PIL import Image

from labelloop.errors import LabelloopError
from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.server import serve_settings

WEBAPPS = ROOT / "webapps"
CATEGORIES = [{"key": "a", "caption": "A"}, {"key": "b", "caption": "B"}]
IMAGE_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP"}


def png(width, height, color=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def wav_bytes(frames=8000):
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(bytes(range(256)) * (frames * 2 // 256))
    return out.getvalue()


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "pics"
    (folder / "sub").mkdir(parents=True)
    for extension, kind in IMAGE_FORMATS.items():
        Image.new("RGB", (8, 6), (10, 200, 10)).save(folder / f"tiny.{extension}", format=kind)
    (folder / "big.png").write_bytes(png(3000, 1000))
    (folder / "sub" / "nested image.png").write_bytes(png(4, 4))
    (folder / "corrupt.png").write_bytes(b"\x89PNG this is not an image")
    (folder / "notes.txt").write_text("not media")
    (tmp_path / "secret.png").write_bytes(png(2, 2))
    os.symlink(tmp_path / "secret.png", folder / "escape.png")
    init_project(tmp_path / "proj", folder, "image", CATEGORIES)
    project = Project.open(tmp_path / "proj")
    app = create_app(serve_settings(project))
    yield app.test_client()
    webapp_of(app).stop()
    project.close()


def test_every_image_type_is_served_with_its_mime_type_and_an_etag(images):
    for extension in IMAGE_FORMATS:
        response = images.get(f"/media/tiny.{extension}")
        assert response.status_code == 200
        assert response.mimetype == {"jpg": "image/jpeg", "jpeg": "image/jpeg"}.get(extension, f"image/{extension}")
        etag = response.headers["ETag"]
        assert images.get(f"/media/tiny.{extension}", headers={"If-None-Match": etag}).status_code == 304


def test_batch_items_point_at_their_media(images):
    items = images.get("/batch?size=20").get_json()["items"]
    paths = sorted(i["data"]["path"] for i in items)
    assert paths == sorted(["big.png", "corrupt.png", "sub/nested image.png"] + [f"tiny.{e}" for e in IMAGE_FORMATS])
    nested = next(i for i in items if i["id"] == "sub/nested image.png")
    assert nested["data"]["mediaUrl"] == "media/sub%2Fnested%20image.png"
    response = images.get("/" + nested["data"]["mediaUrl"])
    assert response.status_code == 200 and Image.open(io.BytesIO(response.data)).size == (4, 4)


@pytest.mark.parametrize("path", ["/media/../labelloop.json", "/media/%2e%2e%2flabelloop.json", "/media/..%2Fsecret.png",
                                  "/media//etc/passwd", "/media/%2Fetc%2Fpasswd", "/media/escape.png",
                                  "/media/notes.txt", "/media/sub", "/media/sub/../big.png", "/media/nope.png"])
def test_only_listed_items_are_served(images, path):
    response = images.get(path)
    assert response.status_code == 404, path
    assert response.is_json and "Traceback" not in response.get_data(as_text=True)


def test_large_images_are_downscaled_unless_the_original_is_asked_for(images):
    small = images.get("/media/big.png")
    assert Image.open(io.BytesIO(small.data)).size == (2048, 683)
    again = images.get("/media/big.png")
    assert again.data == small.data and again.headers["ETag"] == small.headers["ETag"]
    original = images.get("/media/big.png?original=1")
    assert Image.open(io.BytesIO(original.data)).size == (3000, 1000)
    assert original.headers["ETag"] != small.headers["ETag"]


def test_a_corrupt_image_is_served_as_it_is_for_the_browser_to_report(images):
    response = images.get("/media/corrupt.png")
    assert response.status_code == 200 and response.data == b"\x89PNG this is not an image"
    item = "corrupt.png"
    assert images.post("/label", json={"id": item, "label": "a"}).status_code == 200


@pytest.fixture
def sounds(tmp_path):
    folder = tmp_path / "sounds"
    folder.mkdir()
    (folder / "one.wav").write_bytes(wav_bytes())
    for extension in ("mp3", "ogg", "flac", "m4a"):
        (folder / f"clip.{extension}").write_bytes(b"\x00" * 64)
    init_project(tmp_path / "proj", folder, "sound", CATEGORIES)
    project = Project.open(tmp_path / "proj")
    app = create_app(serve_settings(project))
    yield app.test_client(), folder
    webapp_of(app).stop()
    project.close()


def test_sounds_have_their_mime_types_and_answer_range_requests(sounds):
    client, folder = sounds
    expected = {"mp3": "audio/mpeg", "ogg": "audio/ogg", "flac": "audio/flac", "m4a": "audio/mp4"}
    for extension, mime in expected.items():
        assert client.get(f"/media/clip.{extension}").mimetype == mime
    data = (folder / "one.wav").read_bytes()
    whole = client.get("/media/one.wav")
    assert whole.mimetype == "audio/wav" and whole.data == data and whole.headers["Accept-Ranges"] == "bytes"
    part = client.get("/media/one.wav", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = client.get("/media/one.wav", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == data[-10:]
    assert client.get("/media/one.wav", headers={"Range": f"bytes={len(data) + 5}-"}).status_code == 416


def test_a_table_webapp_has_no_media(tmp_path, wine_csv):
    init_project(tmp_path / "proj", wine_csv, "tabular", CATEGORIES, id_column="wine_id")
    project = Project.open(tmp_path / "proj")
    app = create_app(serve_settings(project))
    response = app.test_client().get("/media/1000")
    assert response.status_code == 404 and "no media" in response.get_json()["error"]
    webapp_of(app).stop()
    project.close()


def test_a_dss_webapp_over_an_empty_folder_says_so(dss, tmp_path):
    folder = dss.add_folder("empty")
    (folder / "sub").mkdir()
    (folder / "readme.txt").write_text("no images here")
    dss.add_dataset("labels")
    dss.add_dataset("metadata")
    config = {"unlabeled": "empty", "categories": [{"from": "a"}, {"from": "b"}], "labels_ds": "labels",
              "metadata_ds": "metadata", "journal": dss.shared_journal(f"sqlite:///{tmp_path / 'j.sqlite'}")}
    with pytest.raises(LabelloopError, match="no image files"):
        dss.run(WEBAPPS / "image-labeling", config, init_globals={"app": flask.Flask("x")})
