"""Simulated annotators: threads that label through a served project's HTTP API, as the page does.

Each remembers exactly which labels the server acknowledged (a 2xx answer with a label id), so a
test can check after a crash or a database fault that every one of them was kept, once.
"""
from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from collections import Counter


def call(url: str, path: str, body=None, headers=None, timeout: float = 30) -> tuple:
    """``(status, JSON answer)`` of one request; an HTTP error is an answer too.

    ``url`` is the server's as it printed it (``?token=`` included, when it has one)."""
    data = None if body is None else json.dumps(body).encode()
    base = url.split("?", 1)[0].rstrip("/")
    request = urllib.request.Request(base + "/" + path.lstrip("/"), data=data,
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json", "X-Requested-With": "labelloop",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Annotators:
    """``names`` label in parallel threads until ``stop()`` or until the server goes away.

    ``choose(item)`` gives the label of a served item. A 503 (the journal was briefly
    unreachable) is retried, as the page does; any other refusal fails the test.
    """

    def __init__(self, url: str, names: list, choose, headers=None, batch: int = 5):
        self.url, self.names, self.choose, self.batch = url, names, choose, batch
        self.headers = headers or {}
        self.acknowledged = {}  # (item, annotator) -> label id
        self.statuses = Counter()
        self.refused = []
        self.disconnected = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._work, args=(name,), daemon=True) for name in names]

    def start(self) -> Annotators:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=60)

    def count(self) -> int:
        with self._lock:
            return len(self.acknowledged)

    def _work(self, name: str) -> None:
        headers = {**self.headers, "X-Labelloop-User": name, "X-Labelloop-Key": f"key-of-{name}-0123456789"}
        try:
            while not self._stop.is_set():
                batch = self._until_served(f"batch?size={self.batch}", None, headers)
                if batch is None or batch["done"]:
                    return
                for item in batch["items"]:
                    answer = self._until_served("label", {"id": item["id"], "label": self.choose(item)}, headers)
                    if answer is None:
                        return
                    with self._lock:
                        self.acknowledged[item["id"], name] = answer["labelId"]
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError):
            with self._lock:
                self.disconnected += 1  # the server was killed under us

    def _until_served(self, path: str, body, headers):
        """The answer once it is a 2xx; ``None`` when stopped first."""
        while not self._stop.is_set():
            status, answer = call(self.url, path, body, headers)
            with self._lock:
                self.statuses[status] += 1
            if 200 <= status < 300:
                return answer
            if status != 503:
                with self._lock:
                    self.refused.append((status, path, answer))
                return None
            self._stop.wait(0.1)
        return None
