"""The HTTP response of a media file: streamed, conditional, with one or several byte ranges.

Flask's ``send_file`` answers Range requests only when it knows the size of what it sends
(a path or a BytesIO) and only for one range; a file stream here has its size known, and
several ranges (``bytes=0-9,500-509``) are answered as ``multipart/byteranges`` by seeking to
each, so no request reads more of the file than it asked for. Media are private to the
project's annotators: shared caches must not keep them.
"""
from __future__ import annotations

import secrets

from werkzeug.datastructures import Range
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.http import parse_if_range_header, parse_range_header
from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

from labelloop.labeling.media import MediaFile

MAX_AGE_SECONDS = 3600
MAX_RANGES = 16  # more ranges in one request is a way to make the server work, not a player seeking
CHUNK_BYTES = 64 * 1024


def media_response(file: MediaFile, environ) -> Response:
    """``file`` as a 200, a 304, a 206 of one range or of several; closes the file when sent."""
    try:
        spans = _ranges(file, environ)
        if spans is not None:
            return _multipart(file, spans)
        response = Response(wrap_file(environ, file.stream, CHUNK_BYTES), mimetype=file.mimetype,
                            direct_passthrough=True)
        _describe(response, file)
        response.content_length = file.size
        return response.make_conditional(environ, accept_ranges=True, complete_length=file.size)
    except BaseException:
        file.stream.close()
        raise


def _describe(response: Response, file: MediaFile) -> None:
    response.set_etag(file.etag)
    if file.last_modified is not None:
        response.last_modified = file.last_modified
    response.cache_control.private = True
    response.cache_control.max_age = MAX_AGE_SECONDS


def _ranges(file: MediaFile, environ) -> list | None:
    """``(start, stop)`` of each range of a request for several that still applies to ``file``;
    None for any other request (werkzeug answers those)."""
    asked = parse_range_header(environ.get("HTTP_RANGE"))
    if asked is None or len(asked.ranges) < 2 or environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
        return None
    if "HTTP_IF_RANGE" in environ and parse_if_range_header(environ["HTTP_IF_RANGE"]).etag != file.etag:
        return None  # the file changed since the client's copy: the whole file
    if len(asked.ranges) > MAX_RANGES:
        raise RequestedRangeNotSatisfiable(file.size, description=f"At most {MAX_RANGES} ranges per request.")
    spans = [Range("bytes", [span]).range_for_length(file.size) for span in asked.ranges]
    if None in spans:
        raise RequestedRangeNotSatisfiable(file.size)
    return spans


def _multipart(file: MediaFile, spans: list) -> Response:
    boundary = secrets.token_hex(16)
    heads = [(f"\r\n--{boundary}\r\nContent-Type: {file.mimetype}\r\n"
              f"Content-Range: bytes {start}-{stop - 1}/{file.size}\r\n\r\n").encode("ascii") for start, stop in spans]
    tail = f"\r\n--{boundary}--\r\n".encode("ascii")

    def body():
        with file.stream as stream:
            for head, (start, stop) in zip(heads, spans):
                yield head
                stream.seek(start)
                left = stop - start
                while left > 0:
                    chunk = stream.read(min(left, CHUNK_BYTES))
                    if not chunk:
                        return
                    left -= len(chunk)
                    yield chunk
            yield tail

    response = Response(body(), status=206, mimetype=f"multipart/byteranges; boundary={boundary}", direct_passthrough=True)
    _describe(response, file)
    response.content_length = sum(len(head) + stop - start for head, (start, stop) in zip(heads, spans)) + len(tail)
    return response
