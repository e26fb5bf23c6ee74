"""/label latency with online suggestions on and off: ``load.py``'s run with 8 annotators, both ways.

A thread of the server follows the journal and hands each new label's row to a worker process
(at a lower priority), which computes its features and refits the online model; this measures
whether that work slows the requests. Both runs are made in this one invocation, on the same data.

    python bench/online_load.py [--rows 100000] [--seconds 180] [--retrain-every 200] [any load.py option]
"""
from __future__ import annotations

import sys

import load

DEFAULTS = ["--annotators", "8", "--rows", "100000", "--seconds", "180", "--retrain-every", "200",
            "--suggestions", "online,version"]

if __name__ == "__main__":
    sys.argv[1:] = DEFAULTS + sys.argv[1:]  # later options win
    load.main()
