"""Media files of a folder, served to the browser (DESIGN.md section 5, ``GET /media/<id>``).

Only ids listed in the folder are served: traversal (``../``, encoded or not), absolute paths
and links leaving the folder are unknown ids. The bytes come from the platform (a directory, or
``Folder.get_download_stream`` in DSS) with the file's real MIME type and an ETag, and the HTTP
layer answers Range requests (audio seeking needs them). An image whose longest side is over
2048 px is served downscaled, from a cache, unless the original is asked for; an image that
cannot be decoded is served as it is, for the browser to say so.
"""
from __future__ import annotations

import hashlib
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from labelloop.errors import NotFound
from labelloop.platform.base import Platform
from labelloop.store.items import IMAGE_EXTENSIONS

MAX_SIDE = 2048
MIME_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
    ".bmp": "image/bmp", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".flac": "audio/flac",
    ".m4a": "audio/mp4",
}


@dataclass
class MediaFile:
    """What the HTTP layer sends: bytes, their MIME type, an ETag, and a modification time if known."""

    data: bytes
    mimetype: str
    etag: str
    last_modified: float | None = None


class MediaStore:
    """The media of one folder, by item id.

    Downscaled images are kept in ``cache_dir``; without one, or when it cannot be written, they
    are made again on each request and ``problem`` says why in one sentence (for ``/stats``).
    """

    def __init__(self, platform: Platform, folder: str, source, cache_dir, problem: str | None = None):
        self.platform, self.folder, self.source = platform, folder, source
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.problem = problem

    def get(self, item_id: str, original: bool = False) -> MediaFile:
        if item_id not in self.source:
            raise NotFound("Unknown item id.")
        with self.platform.open_folder_file(self.folder, "/" + item_id) as stream:
            data = stream.read()
            last_modified = _modified(stream)
        extension = os.path.splitext(item_id)[1].lower()
        etag = hashlib.sha1(data).hexdigest()[:20]
        media = MediaFile(data, MIME_TYPES[extension], etag, last_modified)
        if original or extension not in IMAGE_EXTENSIONS:
            return media
        return self._downscaled(media)

    def _downscaled(self, media: MediaFile) -> MediaFile:
        cached = self.cache_dir / f"{media.etag}.png" if self.cache_dir else None
        if cached is not None and cached.is_file():
            return MediaFile(cached.read_bytes(), "image/png", media.etag + "-small", media.last_modified)
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(media.data)) as image:
                if max(image.size) <= MAX_SIDE:
                    return media
                image.thumbnail((MAX_SIDE, MAX_SIDE))
                out = io.BytesIO()
                image.save(out, format="PNG")
        except (UnidentifiedImageError, OSError, ValueError):
            return media  # not decodable: the browser gets the bytes and says so
        if cached is not None:
            self._keep(cached, out.getvalue())
        return MediaFile(out.getvalue(), "image/png", media.etag + "-small", media.last_modified)

    def _keep(self, cached: Path, data: bytes) -> None:
        temporary = cached.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            os.replace(temporary, cached)
        except OSError as error:
            self.problem = (f"The image cache '{self.cache_dir}' cannot be written ({error.strerror or error}): "
                            "large images are downscaled again on each request.")


def _modified(stream) -> float | None:
    """The file's modification time, when the stream is a regular file.

    A DSS download stream is an HTTP response whose ``fileno()`` is its socket: the socket's
    times say nothing about the file, so no Last-Modified is sent then (the ETag still is).
    """
    try:
        status = os.fstat(stream.fileno())
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None
    return status.st_mtime if stat.S_ISREG(status.st_mode) else None
