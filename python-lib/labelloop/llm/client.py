"""A client of an OpenAI-compatible chat-completions endpoint (DESIGN.md section 14).

The project POSTs to ``<url>/chat/completions``, as OpenAI's clients do with a base URL such as
``http://127.0.0.1:11434/v1`` (Ollama), llama.cpp's server or vLLM. The key comes from an
environment variable only and travels in the ``Authorization: Bearer`` header: it is never
written to the project, a log or the page. The standard library's ``urllib`` does the HTTP, so
nothing is added to the dependencies.

Every failure becomes an ``EndpointError`` saying in one sentence what went wrong; ``retry``
tells whether trying again later may help (429, a timeout, a 5xx, an HTML page from a proxy).
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request

from labelloop.errors import LabelloopError

DEFAULT_KEY_ENV = "LABELLOOP_LLM_API_KEY"
DEFAULT_TIMEOUT = 60.0  # seconds per request: a small local model may take a while per item
MAX_REPLY_BYTES = 1024 * 1024


class EndpointError(LabelloopError):
    """The endpoint did not give a usable reply; ``retry_after`` (seconds) when a 429 said so."""

    def __init__(self, message: str, retry: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


def check_url(url: str) -> str:
    """An endpoint's base URL: http(s), with no credentials or query in it (they would be written to the project)."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise LabelloopError(f"--llm-url '{url}' is not an http(s) URL such as http://127.0.0.1:11434/v1.")
    if parsed.username or parsed.password or parsed.query:
        raise LabelloopError("--llm-url must not hold credentials or a query: put the key in an environment variable "
                             f"({DEFAULT_KEY_ENV}, or the one --llm-key-env names).")
    return url.strip().rstrip("/")


class ChatClient:
    """Chat completions of one ``model`` at ``url``; the key is read from ``key_env`` when the client is made."""

    def __init__(self, url: str, model: str, key_env: str = DEFAULT_KEY_ENV, timeout: float = DEFAULT_TIMEOUT):
        self.endpoint = check_url(url) + "/chat/completions"
        self.model = model
        self.timeout = timeout
        self._key = os.environ.get(key_env) or None  # local servers need none
        self._json_mode = True  # dropped once if the server refuses response_format

    def complete(self, messages: list, max_tokens: int = 50) -> str:
        """The assistant's reply to ``messages`` (its content, as the server sent it)."""
        body = {"model": self.model, "messages": messages, "temperature": 0, "max_tokens": max_tokens}
        json_mode = self._json_mode
        try:
            reply = self._post({**body, "response_format": {"type": "json_object"}} if json_mode else body)
        except EndpointError as error:
            if not json_mode or "response_format" not in str(error):
                raise
            self._json_mode = False  # an older or smaller server: the prompt still asks for JSON
            reply = self._post(body)
        return _content(reply)

    def _post(self, body: dict) -> dict:
        request = urllib.request.Request(self.endpoint, data=json.dumps(body).encode("utf-8"), method="POST",
                                         headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (checked http(s))
                raw = response.read(MAX_REPLY_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise _http_error(error) from None
        except (socket.timeout, TimeoutError):
            raise EndpointError(f"The LLM endpoint did not answer within {self.timeout:g} s.", retry=True) from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            reason = getattr(error, "reason", error)
            raise EndpointError(f"The LLM endpoint cannot be reached ({reason}).", retry=True) from None
        return _json_reply(raw)

    def _headers(self) -> dict:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        return headers


def _http_error(error: urllib.error.HTTPError) -> EndpointError:
    """A 4xx or 5xx reply in one sentence, with the server's own message when it gave one in JSON."""
    try:
        detail = json.loads(error.read(4096).decode("utf-8"))["error"]
        detail = detail.get("message") if isinstance(detail, dict) else str(detail)
    except (ValueError, KeyError, TypeError, AttributeError, OSError):
        detail = None
    said = f": {str(detail).splitlines()[0][:200]}" if detail else ""
    if error.code == 429:
        return EndpointError(f"The LLM endpoint is rate-limiting requests (HTTP 429){said}.", retry=True,
                             retry_after=_seconds(error.headers.get("Retry-After")))
    if error.code in (401, 403):
        return EndpointError(f"The LLM endpoint refused the key (HTTP {error.code}){said}: set it in the "
                             "environment variable the project names (--llm-key-env).", retry=False)
    return EndpointError(f"The LLM endpoint answered HTTP {error.code}{said}.", retry=error.code >= 500)


def _seconds(text: str | None) -> float | None:
    try:
        return max(0.0, float(text)) if text is not None else None
    except ValueError:
        return None


def _json_reply(raw: bytes) -> dict:
    if len(raw) > MAX_REPLY_BYTES:
        raise EndpointError(f"The LLM endpoint's reply is larger than {MAX_REPLY_BYTES // 1024:,} KB.", retry=False)
    try:
        reply = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        start = raw[:200].decode("utf-8", "replace").lstrip().lower()
        kind = "an HTML page" if start.startswith(("<!doctype", "<html")) else "a reply that is not complete JSON"
        raise EndpointError(f"The LLM endpoint sent {kind} instead of a chat completion (a proxy or the wrong "
                            "--llm-url?).", retry=True) from None
    if not isinstance(reply, dict):
        raise EndpointError("The LLM endpoint's reply is not a chat completion.", retry=True)
    return reply


def _content(reply: dict) -> str:
    """The first choice's message content; a reply without one is the endpoint's fault, not an abstention."""
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise EndpointError("The LLM endpoint's reply has no choices[0].message.content.", retry=True) from None
    return content if isinstance(content, str) else ""
