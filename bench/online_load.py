"""/label latency with online suggestions on and off: ``load.py``'s run with 8 annotators, both ways.

A thread of the server follows the journal and hands each new label's row to a worker process
(at a lower priority), which computes its features and refits the online model; this measures
whether that work slows the requests. All runs are made in this one invocation, on the same data.

The p99 of one run rests on its few dozen slowest labels, and moves by 10 ms between identical
runs on a 2-core machine; so each mode runs three times, in turn, with annotators pausing a
quarter of a second (about 30 labels a second), and the labels of the three runs are compared
together: over 8,000 per mode.

    python bench/online_load.py [--rows 100000] [--seconds 90] [--think-ms 250] [--repeat 3] [any load.py option]
"""
from __future__ import annotations

import sys

import load

DEFAULTS = ["--annotators", "8", "--rows", "100000", "--seconds", "90", "--think-ms", "250", "--retrain-every", "1000",
            "--repeat", "3", "--suggestions", "online,version"]

if __name__ == "__main__":
    sys.argv[1:] = DEFAULTS + sys.argv[1:]  # later options win
    load.main()
