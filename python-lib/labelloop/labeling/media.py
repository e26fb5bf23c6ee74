"""Media files of a folder, served to the browser (DESIGN.md section 5, ``GET /media/<id>``).

Only ids listed in the folder are served: traversal (``../``, encoded or not), absolute paths
and links leaving the folder are unknown ids. A local file is streamed from disk, never read
whole (a Range request of a large sound reads only its ranges), with an ETag from its size and
modification time; a DSS folder's download stream cannot seek, so it is read into memory and
its ETag is a hash of its bytes. An image whose longest side is over 2048 px is served
downscaled, from a cache, unless the original is asked for; an image that cannot be decoded is
served as it is, for the browser to say so; one of more pixels than Pillow's
``MAX_IMAGE_PIXELS`` (a decompression bomb, or simply too large to decode here) is refused.
"""
from __future__ import annotations

import hashlib
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from labelloop.errors import LabelloopError, NotFound
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
    """What the HTTP layer sends: an open seekable stream of ``size`` bytes, their MIME type, an
    ETag, and a modification time if known. Whoever sends it closes the stream."""

    stream: BinaryIO
    size: int
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
        extension = os.path.splitext(item_id)[1].lower()
        media = _opened(self.platform.open_folder_file(self.folder, "/" + item_id), MIME_TYPES[extension])
        if original or extension not in IMAGE_EXTENSIONS:
            return media
        try:
            return self._downscaled(media)
        except BaseException:
            media.stream.close()
            raise

    def _downscaled(self, media: MediaFile) -> MediaFile:
        cached = self.cache_dir / f"{media.etag}.png" if self.cache_dir else None
        if cached is not None and cached.is_file():
            media.stream.close()
            return _small(cached, media)
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(media.stream) as image:
                _check_pixels(image.size)
                if max(image.size) <= MAX_SIDE:
                    media.stream.seek(0)
                    return media
                image.thumbnail((MAX_SIDE, MAX_SIDE))
                out = io.BytesIO()
                image.save(out, format="PNG")
        except Image.DecompressionBombError as error:
            raise LabelloopError(_too_large_sentence()) from error
        except (UnidentifiedImageError, OSError, ValueError):
            media.stream.seek(0)
            return media  # not decodable: the browser gets the bytes and says so
        media.stream.close()
        data = out.getvalue()
        if cached is not None and self._keep(cached, data):
            return _small(cached, media)
        return MediaFile(io.BytesIO(data), len(data), "image/png", media.etag + "-small", media.last_modified)

    def _keep(self, cached: Path, data: bytes) -> bool:
        """Keep the downscaled copy; False (and a problem for /stats) when the cache cannot be written."""
        temporary = cached.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            os.replace(temporary, cached)
            return True
        except OSError as error:
            self.problem = (f"The image cache '{self.cache_dir}' cannot be written ({error.strerror or error}): "
                            "large images are downscaled again on each request.")
            return False


def _small(cached: Path, media: MediaFile) -> MediaFile:
    """The downscaled copy of ``media``, tagged after the original."""
    stream = open(cached, "rb")
    return MediaFile(stream, os.fstat(stream.fileno()).st_size, "image/png", media.etag + "-small", media.last_modified)


def _check_pixels(size: tuple) -> None:
    from PIL import Image

    if Image.MAX_IMAGE_PIXELS and size[0] * size[1] > Image.MAX_IMAGE_PIXELS:
        raise LabelloopError(_too_large_sentence())


def _too_large_sentence() -> str:
    from PIL import Image

    return f"This image has too many pixels to decode safely (at most {Image.MAX_IMAGE_PIXELS:,})."


def _opened(stream, mimetype: str) -> MediaFile:
    """A local file as it is; any other stream (DSS's download) read into memory, to seek in it."""
    try:
        status = os.fstat(stream.fileno())
        regular = stat.S_ISREG(status.st_mode)
    except (AttributeError, OSError, io.UnsupportedOperation):
        regular = False
    if regular:
        return MediaFile(stream, status.st_size, mimetype, f"{status.st_size:x}-{status.st_mtime_ns:x}", status.st_mtime)
    # A DSS download stream's fileno() is its socket: the socket's times say nothing about the
    # file, so no Last-Modified is sent then.
    with stream:
        data = stream.read()
    return MediaFile(io.BytesIO(data), len(data), mimetype, hashlib.sha1(data).hexdigest()[:20])
