"""32 annotators for 5 minutes on a 1M-row project, with the retrain loop on.

``labelloop serve`` runs as a real server process (SQLite journal, a token in ``LABELLOOP_AUTH_TOKEN``,
so each annotator has their own name) over a 1M-row table whose true labels follow from its columns.
Each simulated annotator does what the page does: ``/config`` once, then ``/batch`` of 10,
``/label`` with the true label (one item in 20 is skipped), a look back in ``/history`` every 25
answers and ``/stats`` every 10, pausing about ``--think-ms`` between answers. Meanwhile the
retrain loop trains a model every ``--retrain-every`` labels and ranks the million rows again.

It prints throughput, p50/p99/max latency per route, the loop's rounds, and the label count check:
labels sent = labels acknowledged = labels stored in the journal (and in the labels dataset
once the server has stopped), with no item labeled twice.

    python bench/load.py [--rows 1000000] [--annotators 32] [--seconds 300] [--think-ms 1000]
                         [--retrain-every 1000] [--suggestions online,version] [--repeat 1]

With ``--suggestions online,version`` the whole run is made twice in one invocation, with online
suggestions on and off (``labelloop serve --suggestions``), and their ``/label`` p50 and p99 are
compared; ``--repeat R`` makes R runs of each, in turn, and compares all their labels together.
With ``--servers waitress,werkzeug`` the runs are made on waitress (``labelloop serve``'s server)
and on Werkzeug's development server it replaced (bench/werkzeug_serve.py), and compared the same way.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
from headline import record

from labelloop.standalone.project import init_project
from labelloop.store.journal import Journal

TOKEN = "load-bench-token-0123456789"
CLASSES = ("low", "mid", "high")


def make_data(path: Path, rows: int) -> None:
    """A table whose class follows from ``score`` and ``visits``: the loop has something to learn."""
    rng = np.random.default_rng(0)
    pd.DataFrame({
        "row_id": np.arange(rows), "age": rng.integers(18, 90, rows), "score": rng.random(rows).round(6),
        "visits": rng.integers(0, 40, rows), "city": rng.choice(["paris", "lyon", "nantes", "lille"], rows),
    }).to_parquet(path, index=False)


def truth(row: dict) -> str:
    value = row["score"] + row["visits"] / 80
    return CLASSES[0] if value < 0.5 else CLASSES[1] if value < 1.0 else CLASSES[2]


class Annotator(threading.Thread):
    """One person at the page, over one kept-alive HTTP connection."""

    def __init__(self, url: str, name: str, until: float, think: float, log: Log):
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.host, self.port, self.name, self.until, self.think, self.log = parts.hostname, parts.port, name, until, think, log
        self.headers = {"Authorization": f"Bearer {TOKEN}", "X-Labelloop-User": name,
                        "X-Labelloop-Key": f"load-bench-key-{name}", "Content-Type": "application/json",
                        "X-Requested-With": "labelloop"}
        self.pause = np.random.default_rng(abs(hash(name)) % 2**32)
        self.connection = None

    def call(self, route: str, path: str, body=None):
        if self.connection is None:
            self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        start = time.perf_counter()
        try:
            self.connection.request("POST" if body is not None else "GET", path,
                                    body=None if body is None else json.dumps(body), headers=self.headers)
            response = self.connection.getresponse()
            payload = json.loads(response.read())
        except (OSError, http.client.HTTPException, ValueError) as error:
            self.connection.close()
            self.connection = None
            self.log.error(route, repr(error))
            return None
        self.log.timing(route, time.perf_counter() - start, response.status)
        return payload if response.status < 300 else None

    def run(self) -> None:
        self.call("config", "/config")
        answers = 0
        while time.monotonic() < self.until:
            batch = self.call("batch", "/batch?size=10")
            if batch is None:
                time.sleep(1)
                continue
            for item in batch["items"]:
                if time.monotonic() >= self.until:
                    break
                answers += 1
                if answers % 20 == 0:
                    self.call("skip", "/skip", {"id": item["id"]})
                else:
                    self.log.sending()
                    answer = self.call("label", "/label", {"id": item["id"], "label": truth(item["data"])})
                    if answer is not None:
                        self.log.acknowledge(item["id"], self.name, answer["labelId"])
                if answers % 25 == 0:
                    self.call("history", "/history?direction=back")
                if answers % 10 == 0:
                    self.call("stats", "/stats")
                if self.think:
                    time.sleep(self.pause.uniform(0.5, 1.5) * self.think)


class Log:
    """Timings, statuses and labels of every annotator thread, under one lock."""

    def __init__(self):
        self.timings = defaultdict(list)
        self.statuses = defaultdict(lambda: defaultdict(int))
        self.errors = []
        self.acknowledged = []
        self.sent = 0
        self._lock = threading.Lock()

    def timing(self, route: str, seconds: float, status: int) -> None:
        with self._lock:
            self.timings[route].append(seconds)
            self.statuses[route][status] += 1

    def error(self, route: str, message: str) -> None:
        with self._lock:
            self.errors.append((route, message))

    def sending(self) -> None:
        with self._lock:
            self.sent += 1

    def acknowledge(self, item: str, annotator: str, label_id: int) -> None:
        with self._lock:
            self.acknowledged.append((item, annotator, label_id))


def start_server(project: Path, retrain_every: int, suggestions: str, httpd: str = "waitress"):
    command = ["-m", "labelloop.standalone.cli"] if httpd == "waitress" else [str(Path(__file__).with_name("werkzeug_serve.py"))]
    server = subprocess.Popen([sys.executable, *command, "serve", str(project), "--port", "0",
                               "--retrain-every", str(retrain_every), "--suggestions", suggestions],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "LABELLOOP_AUTH_TOKEN": TOKEN})
    url = re.search(r"at (http://[^/]+)", server.stdout.readline()).group(1)
    output = []
    threading.Thread(target=lambda: output.extend(server.stdout), daemon=True).start()  # never let the pipe fill
    return server, url, output


def loop_state(url: str) -> dict:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.request("GET", "/stats", headers={"Authorization": f"Bearer {TOKEN}"})
    return json.loads(connection.getresponse().read())


def report(log: Log, annotators: int, seconds: float, stats: dict, stored: pd.DataFrame,
           labels_dataset: pd.DataFrame, headline: bool = True) -> None:
    print("| route | requests | per second | p50 ms | p99 ms | max ms | non-2xx |")
    print("|---|---|---|---|---|---|---|")
    for route in ("config", "batch", "label", "skip", "history", "stats"):
        ms = np.array(log.timings[route]) * 1000
        if not len(ms):
            continue
        refused = sum(n for status, n in log.statuses[route].items() if status >= 300 and status != 429 and not
                      (route == "history" and status == 404))
        print(f"| {route} | {len(ms):,} | {len(ms) / seconds:.1f} | {np.percentile(ms, 50):.1f} | "
              f"{np.percentile(ms, 99):.1f} | {ms.max():.0f} | {refused} |")
    held = sum(statuses.get(429, 0) for statuses in log.statuses.values())
    if held:  # all annotators come from one address here: past the first 30 names, a new one waits its turn
        print(f"\n{held} requests held back (429) by the server's limit on new annotator names from one address "
              f"(30 at once, then 10 a minute); each annotator retried a second later")
    acknowledged = {(i, a, int(n)) for i, a, n in log.acknowledged}
    kept = set(zip(stored["item_id"], stored["annotator"], stored["id"].astype(int)))
    loop = stats.get("loop", {})
    print(f"\nlabels: sent {log.sent:,}, acknowledged {len(acknowledged):,}, stored {len(kept):,} "
          f"(acknowledged and stored {len(acknowledged & kept):,}), in the labels dataset "
          f"{len(set(labels_dataset['label_id']) & {n for _, _, n in acknowledged}):,}; "
          f"items labeled twice: {int(stored['item_id'].duplicated().sum())}; client errors: {len(log.errors)}")
    running = " (one more was running when labeling ended)" if loop.get("running") else ""
    print(f"retrain loop: {loop.get('rounds', 0)} rounds finished{running}, "
          f"{len(stats.get('modelVersions', []))} model versions saved, last error: {loop.get('lastError')}")
    if log.errors:
        print("first client error:", log.errors[0])
    labels_per_second = len(acknowledged) / seconds
    if not headline:
        return
    record("load", f"{annotators} annotators with the loop on: labels per second", labels_per_second, None, "labels/s")
    label_ms = np.array(log.timings["label"]) * 1000
    record("load", f"/label p99 under load (p50 {np.percentile(label_ms, 50):.1f} ms)", np.percentile(label_ms, 99), None, "ms")
    same = log.sent == len(acknowledged) == len(kept) == len(acknowledged & kept)
    record("load", "labels sent = acknowledged = stored", "yes" if same else "NO", None, "")


def run(args, suggestions: str, headline: bool = True, httpd: str = "waitress") -> np.ndarray:
    """One whole run; returns the /label latencies in ms."""
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        make_data(folder / "pool.parquet", args.rows)
        init_project(folder / "project", folder / "pool.parquet", "tabular",
                     [{"key": k, "caption": k} for k in CLASSES], id_column="row_id")
        started = time.perf_counter()
        server, url, output = start_server(folder / "project", args.retrain_every, suggestions, httpd)
        print(f"{args.annotators} annotators for {args.seconds:.0f} s on {args.rows:,} rows, pausing about "
              f"{args.think_ms:.0f} ms between answers, retraining every {args.retrain_every} labels, "
              f"{suggestions} suggestions, {httpd} (server ready after {time.perf_counter() - started:.1f} s)\n")
        log = Log()
        until = time.monotonic() + args.seconds
        annotators = [Annotator(url, f"annotator-{n:02d}", until, args.think_ms / 1000, log)
                      for n in range(args.annotators)]
        began = time.perf_counter()
        for annotator in annotators:
            annotator.start()
        for annotator in annotators:
            annotator.join()
        elapsed = time.perf_counter() - began
        stats = loop_state(url)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=300)
        journal = Journal(f"sqlite:///{folder / 'project' / 'journal.sqlite'}")
        stored = journal.events_frame(["label"])
        journal.close()
        labels_dataset = pd.read_parquet(folder / "project" / "datasets" / "labels.parquet")
        report(log, args.annotators, elapsed, stats, stored, labels_dataset, headline)
        if server.returncode != 0:
            print("server output:", "".join(output)[-2000:])
        return np.array(log.timings["label"]) * 1000


def compare(latencies: dict, annotators: int) -> None:
    """/label p50 and p99 with online suggestions on and off, measured in this run: each
    repetition's, and over all the repetitions' labels together."""
    print("\n| suggestions | labels | /label p50 ms | /label p99 ms | p99 of each run, ms |\n|---|---|---|---|---|")
    for mode, runs in latencies.items():
        ms = np.concatenate(runs)
        each = ", ".join(f"{np.percentile(r, 99):.1f}" for r in runs)
        print(f"| {mode} | {len(ms):,} | {np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f} | {each} |")
    on, off = np.concatenate(latencies["online"]), np.concatenate(latencies["version"])
    for q in (50, 99):
        record("load", f"{annotators} annotators: /label p{q} with online suggestions (without: "
               f"{np.percentile(off, q):.1f} ms)", np.percentile(on, q), None, "ms")


def compare_servers(latencies: dict, annotators: int) -> None:
    """/label p50 and p99 on waitress and on Werkzeug's development server, measured in this run."""
    print("\n| server | labels | /label p50 ms | /label p99 ms |\n|---|---|---|---|")
    for httpd, runs in latencies.items():
        ms = np.concatenate(runs)
        print(f"| {httpd} | {len(ms):,} | {np.percentile(ms, 50):.1f} | {np.percentile(ms, 99):.1f} |")
    new, old = np.concatenate(latencies["waitress"]), np.concatenate(latencies["werkzeug"])
    for q in (50, 99):
        ratio = np.percentile(new, q) / np.percentile(old, q)
        print(f"/label p{q}: waitress / werkzeug = {ratio:.2f}")
        record("load", f"{annotators} annotators: /label p{q} on waitress / on Werkzeug's development server",
               ratio, None, "x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--annotators", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--think-ms", type=float, default=1000, help="average pause of an annotator between answers")
    parser.add_argument("--retrain-every", type=int, default=1000)
    parser.add_argument("--suggestions", default="online", help="online, version, or both: online,version")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each mode, taken in turn (on, off, on, off...)")
    parser.add_argument("--servers", default="waitress", help="waitress, werkzeug, or both: waitress,werkzeug")
    args = parser.parse_args()
    latencies = {}
    modes = [m.strip() for m in args.suggestions.split(",") if m.strip()]
    servers = [m.strip() for m in args.servers.split(",") if m.strip()]
    if len(servers) > 1:
        for _ in range(args.repeat):
            for httpd in servers:
                latencies.setdefault(httpd, []).append(run(args, modes[0], headline=False, httpd=httpd))
                print()
        compare_servers(latencies, args.annotators)
        return
    for _ in range(args.repeat):  # in turn, so that a slow spell of the machine falls on both modes
        for mode in modes:
            latencies.setdefault(mode, []).append(run(args, mode, headline=len(modes) == 1 and args.repeat == 1))
            print()
    if {"online", "version"} <= set(latencies):
        compare(latencies, args.annotators)


if __name__ == "__main__":
    main()
