"""Helper processes of a server yield the CPU to it (processes.py)."""
from __future__ import annotations

import multiprocessing
import os
import signal

import numpy  # noqa: F401 - its BLAS is loaded in the child too, as in the real helpers
from polling import eventually, gone
from threadpoolctl import threadpool_info

from labelloop.platform.processes import BACKGROUND_NICENESS, killed_with_parent_thread, start_background_worker


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


def _stubborn(sender) -> None:
    """A grandchild that never looks at its parent: only the kernel can end it."""
    sender.send((killed_with_parent_thread(), os.getpid()))
    while True:
        pass


def _starts_stubborn(sender) -> None:
    """A stand-in server: starts the grandchild, then waits to be killed."""
    child = multiprocessing.get_context("spawn").Process(target=_stubborn, args=(sender,))
    child.start()
    child.join()


def test_a_child_asking_for_it_is_killed_by_the_kernel_when_its_server_dies():
    """A retrain round (Linux: prctl's parent-death signal), even one too busy to notice."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    server = context.Process(target=_starts_stubborn, args=(sender,))
    server.start()
    asked, pid = receiver.recv()
    try:
        assert asked and not gone(pid)
        os.kill(server.pid, signal.SIGKILL)
        server.join(timeout=30)
        assert eventually(lambda: gone(pid))
    finally:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)
