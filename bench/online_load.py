"""/label latency with online suggestions on and off: ``load.py``'s run with 8 annotators, both ways.

The online model is refitted in a thread of the server after each label; this measures whether
that thread slows the requests. Both runs are made in this one invocation, on the same data.

    python bench/online_load.py [--rows 100000] [--seconds 90] [--retrain-every 200] [any load.py option]
"""
from __future__ import annotations

import sys

import load

DEFAULTS = ["--annotators", "8", "--rows", "100000", "--seconds", "90", "--retrain-every", "200",
            "--suggestions", "online,version"]

if __name__ == "__main__":
    sys.argv[1:] = DEFAULTS + sys.argv[1:]  # later options win
    load.main()
