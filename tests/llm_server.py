"""A stand-in LLM server for the tests: OpenAI's public chat-completions API, with faults on request.

It speaks ``POST /v1/chat/completions`` as https://platform.openai.com/docs/api-reference/chat/create
describes it: a JSON body with ``model`` and ``messages`` (``role``, ``content``), optional
``response_format`` (``{"type": "json_object"}``), ``max_tokens`` and ``temperature``; a reply with
``id``, ``object: "chat.completion"``, ``created``, ``model``, ``choices`` (``index``,
``message: {role: "assistant", content}``, ``finish_reason``) and ``usage`` (``prompt_tokens``,
``completion_tokens``, ``total_tokens``); errors as ``{"error": {"message", "type", "code"}}``,
429 with a ``Retry-After`` header.

The "model" knows each item's true category (``truth``: the item's text, as the last user
message carries it) and answers it with the configured ``accuracy`` of that category, another
category otherwise; a share of answers are off the list or not JSON. The same item always gets
the same answer. ``phases`` scripts faults by request: ``[("429", 3), ("html", 2), ("hang", None)]``
answers the first three requests 429, the next two with an HTML page, then hangs for good
(``None``: every request from then on). Modes: ok, 401, 429, 500, html, truncated, hang.
"""
from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LlmServer:
    """Serves in a thread from ``start()`` to ``stop()``; ``url`` is the base to give ``--llm-url``."""

    def __init__(self, truth: dict, accuracy: dict | None = None, off_list: float = 0.0, garbled: float = 0.0,
                 latency: float = 0.0, phases: list | None = None, refuse_response_format: bool = False, seed: int = 0):
        self.truth, self.accuracy = truth, accuracy or {}
        self.off_list, self.garbled, self.latency, self.seed = off_list, garbled, latency, seed
        self.phases = list(phases or [])
        self.refuse_response_format = refuse_response_format
        self.requests = []  # (Authorization header, body) of every request, in order of arrival
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @property
    def categories(self) -> list:
        """The categories of ``truth`` (which a test may give once the server runs)."""
        return sorted(set(self.truth.values()))

    def start(self) -> LlmServer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()  # hanging requests give up
        self.server.shutdown()
        self.server.server_close()

    def mode(self) -> str:
        """The mode of the next request, from the phases; ok once they are used up."""
        with self.lock:
            while self.phases:
                mode, count = self.phases[0]
                if count is None:
                    return mode
                if count > 0:
                    self.phases[0] = (mode, count - 1)
                    return mode
                self.phases.pop(0)
            return "ok"

    def answer(self, text: str) -> str:
        """The model's reply content for an item's text: right with the category's accuracy."""
        rng = random.Random(f"{self.seed}:{text}")
        true = self.truth.get(text)
        draw = rng.random()
        if draw < self.garbled:
            return "I think it is probably"
        if draw < self.garbled + self.off_list:
            return json.dumps({"category": "something-else"})
        if true is None:
            return json.dumps({"category": rng.choice(self.categories)})
        right = rng.random() < self.accuracy.get(true, 1.0)
        return json.dumps({"category": true if right else rng.choice([c for c in self.categories if c != true])})


def _handler(llm: LlmServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with llm.lock:
                llm.requests.append((self.headers.get("Authorization"), body))
            if not self.path.endswith("/chat/completions"):
                return self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error"}})
            mode = llm.mode()
            if mode == "hang":
                llm.stopping.wait()
                return None
            time.sleep(llm.latency)
            if mode == "429":
                return self._json(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error",
                                                  "code": "rate_limit_exceeded"}}, {"Retry-After": "0"})
            if mode == "401":
                return self._json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                                  "code": "invalid_api_key"}})
            if mode == "500":
                return self._json(500, {"error": {"message": "The server had an error", "type": "server_error"}})
            if mode == "html":
                return self._send(502, b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            if llm.refuse_response_format and "response_format" in body:
                return self._json(400, {"error": {"message": "Unrecognized request argument supplied: response_format",
                                                  "type": "invalid_request_error"}})
            return self._completion(body, truncated=mode == "truncated")

        def _completion(self, body: dict, truncated: bool):
            content = llm.answer(body["messages"][-1]["content"])
            prompt_tokens = sum(len(m["content"]) for m in body["messages"]) // 4
            reply = json.dumps({
                "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 8, "total_tokens": prompt_tokens + 8},
            }).encode("utf-8")
            return self._send(200, reply[: len(reply) // 2] if truncated else reply, "application/json")

        def _json(self, status: int, value: dict, headers: dict | None = None):
            return self._send(status, json.dumps(value).encode("utf-8"), "application/json", headers)

        def _send(self, status: int, data: bytes, kind: str, headers: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
