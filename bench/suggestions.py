"""How often the shown suggestion is the right label: online suggestions against retrain-only ones.

The digits image demo (``labelloop demo --type image``, 1,797 handwritten digits), served as a
real server with the loop retraining every ``--retrain-every`` labels. An oracle annotator goes
through the API as the page does (``/batch`` of one, the true label, a short pause) for the first
``--labels`` labels, once with online suggestions and once with the version's only
(``--suggestions version``), and counts the labels that equal the suggestion shown with the item.

    python bench/suggestions.py [--labels 200] [--retrain-every 20] [--think-ms 300]
"""
from __future__ import annotations

import argparse
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

from headline import record
from sklearn.datasets import load_digits


def start(folder: Path, retrain_every: int, suggestions: str):
    server = subprocess.Popen([sys.executable, "-m", "labelloop.standalone.cli", "demo", "--type", "image", "--dir",
                               str(folder), "--port", "0", "--retrain-every", str(retrain_every),
                               "--suggestions", suggestions], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = re.search(r"at (http://\S+)", server.stdout.readline()).group(1)
    threading.Thread(target=lambda: [None for _ in server.stdout], daemon=True).start()  # never let the pipe fill
    return server, url


def call(url: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers={"Content-Type": "application/json",
                                                                    "X-Requested-With": "labelloop"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def oracle(url: str, labels: int, think: float) -> tuple:
    """``(labels equal to the shown suggestion, labels shown with a suggestion)`` over ``labels`` labels."""
    truth = {f"digit_{n:04d}.png": str(d) for n, d in enumerate(load_digits().target, 1)}
    agreed = suggested = 0
    for _ in range(labels):
        (item,) = call(url, "batch?size=1")["items"]
        answer = truth[item["id"]]
        if item["suggestion"] and item["suggestion"].get("label") is not None:
            suggested += 1
            agreed += item["suggestion"]["label"] == answer
        call(url, "label", {"id": item["id"], "label": answer})
        time.sleep(think)
    return agreed, suggested


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=200)
    parser.add_argument("--retrain-every", type=int, default=20)
    parser.add_argument("--think-ms", type=float, default=300)
    args = parser.parse_args()
    print(f"Digits image demo, an oracle through the API, first {args.labels} labels, retraining every "
          f"{args.retrain_every}, {args.think_ms:.0f} ms between labels")
    print("| suggestions | labels equal to the suggestion | share of all labels | labels shown with a suggestion |")
    print("|---|---|---|---|")
    shares = {}
    for mode in ("online", "version"):
        with tempfile.TemporaryDirectory() as folder:
            server, url = start(Path(folder) / "demo", args.retrain_every, mode)
            try:
                agreed, suggested = oracle(url, args.labels, args.think_ms / 1000)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=120)
        shares[mode] = agreed / args.labels
        print(f"| {mode} | {agreed} | {shares[mode]:.1%} | {suggested} |", flush=True)
    record("suggestions", f"first {args.labels} labels equal to the online suggestion (retrain-only: "
           f"{shares['version']:.1%})", f"{shares['online']:.1%}", None, "")


if __name__ == "__main__":
    main()
