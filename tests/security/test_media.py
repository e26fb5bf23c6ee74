"""``GET /media/<id>`` on a shared server: streamed ranges, private caching, bombs refused (the
page of a token server showing its images: test_media_browser.py)."""
from __future__ import annotations

import email
import http.client
import signal
import struct
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image
from servers import start_server

from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.server import ServeOptions, serve_settings

CATEGORIES = [{"key": "a", "caption": "A"}, {"key": "b", "caption": "B"}]
TOKEN = "media-test-token-0123456789"
BIG = 200 * 1024 * 1024
MARKS = {0: b"RIFF-start", 50_000_000: b"fifty-mill", 123_456_789: b"odd-offset", BIG - 10: b"the-end-10"}


def bytes_read(process="self") -> int:
    """Bytes a process has read with system calls so far (Linux)."""
    fields = dict(line.split(": ") for line in Path(f"/proc/{process}/io").read_text().splitlines())
    return int(fields["rchar"])


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header announcing ``width`` x ``height`` pixels, as a decompression bomb does."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b"")


def sound_project(tmp_path) -> Path:
    """A sound project with a 200 MB file (sparse on disk) with known bytes at four places."""
    folder = tmp_path / "sounds"
    folder.mkdir()
    with open(folder / "long.wav", "wb") as file:
        file.truncate(BIG)
        for offset, mark in MARKS.items():
            file.seek(offset)
            file.write(mark)
    init_project(tmp_path / "proj", folder, "sound", CATEGORIES)
    return tmp_path / "proj"


@pytest.fixture
def sounds(tmp_path):
    project = Project.open(sound_project(tmp_path))
    app = create_app(serve_settings(project, ServeOptions(online=False)))
    yield app.test_client()
    webapp_of(app).stop()
    project.close()


def test_a_real_server_reads_only_the_ranges_asked_for(tmp_path):
    """As the issue measured it: four 10-byte ranges of a 200 MB file, then the last 10 bytes,
    from ``labelloop serve`` (waitress's file wrapper), counting what the server process reads."""
    server, url = start_server("serve", sound_project(tmp_path), "--retrain-every", "0")
    try:
        parts = urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        before = bytes_read(server.pid)
        ranges = ",".join(f"{offset}-{offset + 9}" for offset in MARKS)
        connection.request("GET", "/media/long.wav", headers={"Range": f"bytes={ranges}"})
        several = connection.getresponse()
        body = several.read()
        connection.request("GET", "/media/long.wav", headers={"Range": "bytes=-10"})
        tail = connection.getresponse()
        assert tail.status == 206 and tail.read() == MARKS[BIG - 10]
        assert bytes_read(server.pid) - before < 5 * 1024 * 1024  # not 200 MB, let alone five times
        assert several.status == 206 and all(mark in body for mark in MARKS.values())
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)


def test_four_ranges_of_a_200_mb_file_are_read_alone(sounds):
    ranges = ",".join(f"{offset}-{offset + 9}" for offset in MARKS)
    before = bytes_read()
    response = sounds.get("/media/long.wav", headers={"Range": f"bytes={ranges}"})
    body = response.get_data()
    assert bytes_read() - before < 1024 * 1024  # not the 200 MB
    assert response.status_code == 206 and response.mimetype == "multipart/byteranges"
    message = email.message_from_bytes(b"Content-Type: " + response.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
    parts = [(part["Content-Range"], part.get_payload(decode=True)) for part in message.get_payload()]
    assert parts == [(f"bytes {offset}-{offset + 9}/{BIG}", mark) for offset, mark in MARKS.items()]
    assert len(body) == int(response.headers["Content-Length"])


def test_one_range_is_streamed_and_media_are_privately_cached(sounds):
    before = bytes_read()
    response = sounds.get("/media/long.wav", headers={"Range": "bytes=123456789-123456798"})
    assert response.status_code == 206 and response.get_data() == MARKS[123_456_789]
    assert bytes_read() - before < 1024 * 1024
    assert response.headers["Content-Range"] == f"bytes 123456789-123456798/{BIG}"
    cache = response.headers["Cache-Control"]
    assert "private" in cache and "public" not in cache
    etag = response.headers["ETag"]
    assert sounds.get("/media/long.wav", headers={"If-None-Match": etag}).status_code == 304
    stale = sounds.get("/media/long.wav", headers={"Range": "bytes=0-9,20-29", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.headers["Content-Length"] == str(BIG)  # changed: the whole file
    stale.close()
    too_many = ",".join(f"{n * 10}-{n * 10 + 1}" for n in range(17))
    refused = sounds.get("/media/long.wav", headers={"Range": f"bytes={too_many}"})
    assert refused.status_code == 416 and refused.is_json


def test_a_decompression_bomb_is_refused_in_one_sentence(tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    (folder / "bomb.png").write_bytes(bomb_png(20_000, 20_000))  # 400 megapixels
    init_project(tmp_path / "proj", folder, "image", CATEGORIES)
    project = Project.open(tmp_path / "proj")
    app = create_app(serve_settings(project, ServeOptions(online=False)))
    client = app.test_client()
    for _ in range(2):
        response = client.get("/media/bomb.png")
        assert response.status_code == 400
        error = response.get_json()["error"]
        assert error == f"This image has too many pixels to decode safely (at most {Image.MAX_IMAGE_PIXELS:,})."
    original = client.get("/media/bomb.png?original=1")  # the bytes themselves are not decoded
    assert original.status_code == 200 and original.data == (folder / "bomb.png").read_bytes()
    webapp_of(app).stop()
    project.close()
