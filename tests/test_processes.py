"""Helper processes of a server yield the CPU to it (processes.py)."""
from __future__ import annotations

import multiprocessing
import os

import numpy  # noqa: F401 - its BLAS is loaded in the child too, as in the real helpers
from threadpoolctl import threadpool_info

from labelloop.processes import BACKGROUND_NICENESS, start_background_worker


def _report(idle: bool, sender) -> None:
    start_background_worker(idle=idle)
    sender.send((os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0),
                 {pool["num_threads"] for pool in threadpool_info()}))


def _in_child(idle: bool) -> tuple:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_report, args=(idle, sender))
    process.start()
    try:
        return receiver.recv()
    finally:
        process.join(timeout=30)


def test_an_idle_helper_runs_only_on_spare_cores_and_a_round_at_a_lower_priority():
    policy, _, threads = _in_child(idle=True)  # the online model's fitter
    assert policy == os.SCHED_IDLE and threads == {1}
    policy, niceness, threads = _in_child(idle=False)  # a retrain round: it must end, so it keeps a share
    assert policy == os.SCHED_OTHER and threads == {1}
    assert niceness == min(os.getpriority(os.PRIO_PROCESS, 0) + BACKGROUND_NICENESS, 19)
