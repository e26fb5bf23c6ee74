"""The labeling server under 8 concurrent annotators, and its start-up on a 1M-row dataset.

1. Start-up: building the served state for a 1M-row table (read the data, give every row its id,
   build the queue), against the approach of the plugin we replace in the same run: hash every
   row with ``iterrows`` and ``pd.util.hash_pandas_object``.
2. Load: ``labelloop serve`` (a real server process, SQLite journal) and 8 annotator threads that
   each fetch a batch and label it, for 60 s; p50/p99 of ``/batch`` and ``/label``; then a check
   that every acknowledged label is in the journal once, and nothing else is. Annotators pause
   about ``--think-ms`` between labels (0.5 s is a very fast human); a second, shorter run with no
   pause at all measures the server's throughput limit, where latency is mostly queueing.

    python bench/webapp.py [--rows 1000000] [--seconds 60] [--annotators 8] [--think-ms 500]
                           [--stress-seconds 20] [--baseline-rows N]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from labelloop.items import TableSource
from labelloop.journal import Journal
from labelloop.project import init_project
from labelloop.queue import Queue

TOKEN = "bench-token"
SERVER = [sys.executable, "-m", "labelloop.cli", "serve"]


def make_data(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    pd.DataFrame({
        "age": rng.integers(18, 90, rows), "income": rng.normal(50_000, 15_000, rows).round(2),
        "city": rng.choice(["paris", "lyon", "nantes", "lille", "nice"], rows),
        "score": rng.random(rows), "visits": rng.integers(0, 40, rows),
    }).to_parquet(path, index=False)


def startup_ours(path: Path) -> float:
    start = time.perf_counter()
    frame = pd.read_parquet(path)
    source = TableSource(frame)
    Queue(list(source.ids))
    return time.perf_counter() - start


def startup_baseline(path: Path, rows: int | None) -> tuple:
    """4.x: ``iterrows`` over the frame, SHA-256 of each row's ``hash_pandas_object``."""
    start = time.perf_counter()
    frame = pd.read_parquet(path)
    if rows:
        frame = frame.head(rows)
    ids = [hashlib.sha256(pd.util.hash_pandas_object(row).values).hexdigest() for _, row in frame.iterrows()]
    return time.perf_counter() - start, len(ids)


def call(url: str, path: str, user: str, body=None):
    request = urllib.request.Request(url + path, method="POST" if body is not None else "GET",
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json", "X-Labelloop-User": user,
                                              "X-Labelloop-Key": f"bench-key-of-{user}",
                                              "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def annotate(url: str, user: str, until: float, think: float, timings: dict, acknowledged: list, errors: list) -> None:
    pause = np.random.default_rng(abs(hash(user)) % 2**32)
    while time.monotonic() < until:
        try:
            start = time.perf_counter()
            batch = call(url, "/batch?size=10", user)
            timings["batch"].append(time.perf_counter() - start)
            for item in batch["items"]:
                if time.monotonic() >= until:
                    break
                start = time.perf_counter()
                answer = call(url, "/label", user, {"id": item["id"], "label": ("a", "b", "c")[len(acknowledged) % 3]})
                timings["label"].append(time.perf_counter() - start)
                acknowledged.append((item["id"], user, answer["labelId"]))
                if think:
                    time.sleep(pause.uniform(0.5, 1.5) * think)
        except Exception as error:  # noqa: BLE001 - counted and reported
            errors.append(repr(error))


def load(project: Path, seconds: float, annotators: int, think: float) -> None:
    started = time.perf_counter()
    journal = Journal(f"sqlite:///{project / 'journal.sqlite'}")
    before = journal.event_count() and int(journal.events_frame()["id"].max())
    journal.close()
    server = subprocess.Popen(SERVER + [str(project), "--port", "0", "--auth-token", TOKEN], stdout=subprocess.PIPE, text=True)
    url = re.search(r"at (http://[^/]+)", server.stdout.readline()).group(1)
    ready = time.perf_counter() - started
    timings, acknowledged, errors = {"batch": [], "label": []}, [], []
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=annotate, args=(url, f"annotator-{n}", until, think, timings, acknowledged, errors))
               for n in range(annotators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    server.send_signal(signal.SIGTERM)
    server.communicate(timeout=120)
    journal = Journal(f"sqlite:///{project / 'journal.sqlite'}")
    stored = journal.events_frame(["label"])
    stored = stored[stored["id"] > before]
    journal.close()
    sent = {(i, u, lid) for i, u, lid in acknowledged}
    stored_set = set(zip(stored["item_id"], stored["annotator"], stored["id"]))
    pace = f"pausing about {think * 1000:.0f} ms between labels" if think else "with no pause (stress)"
    print(f"\nServer process ready to answer after {ready:.1f} s (Python start-up and imports included)")
    print(f"{annotators} annotators for {seconds:.0f} s, {pace}:")
    print(f"{'route':<8} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for route, values in timings.items():
        ms = np.array(values) * 1000
        print(f"{route:<8} {len(ms):>9} {np.percentile(ms, 50):>8.1f} {np.percentile(ms, 99):>8.1f} {ms.max():>8.1f}")
    print(f"labels acknowledged {len(sent)}, stored {len(stored)}, acknowledged and stored {len(sent & stored_set)}, "
          f"items labeled twice {int(stored['item_id'].duplicated().sum())}, client errors {len(errors)}")
    if errors:
        print("  first error:", errors[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--annotators", type=int, default=8)
    parser.add_argument("--think-ms", type=float, default=500, help="average pause of an annotator between labels")
    parser.add_argument("--stress-seconds", type=float, default=20, help="length of the no-pause run (0: skip it)")
    parser.add_argument("--baseline-rows", type=int, help="hash only this many rows for the baseline and scale up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        data = folder / "pool.parquet"
        make_data(data, args.rows)
        ours = startup_ours(data)
        base, hashed = startup_baseline(data, args.baseline_rows)
        scaled = base * args.rows / hashed
        note = "" if hashed == args.rows else f" (measured on {hashed:,} rows, scaled to {args.rows:,})"
        print(f"Start-up on {args.rows:,} rows x 5 columns: ours {ours:.1f} s, "
              f"4.x iterrows hashing {scaled:.1f} s{note}: {scaled / ours:.0f}x faster")
        init_project(folder / "project", data, "tabular", [{"key": k, "caption": k} for k in "abc"])
        load(folder / "project", args.seconds, args.annotators, args.think_ms / 1000)
        if args.stress_seconds:
            load(folder / "project", args.stress_seconds, args.annotators, 0.0)


if __name__ == "__main__":
    main()
