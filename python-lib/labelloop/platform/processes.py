"""Helper processes that end with the process that started them."""
from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading

from threadpoolctl import threadpool_limits


def exit_with_parent() -> None:
    """End this child as soon as its parent is gone, even killed with SIGKILL.

    An orphaned retrain round would go on training and sampling beside the restarted server's
    own rounds; an orphaned fitting worker would wait for work forever. Exiting at any point is
    safe for both: the registry renames a version into place whole, and a fit is only a result.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="labelloop-parent-watch", daemon=True).start()


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def killed_with_parent_thread() -> bool:
    """Linux: have the kernel SIGKILL this child the moment the thread that started it ends.

    ``exit_with_parent``'s watching thread needs the GIL and a core to act; a low-priority
    child busy in a long computation on a loaded machine got neither soon enough, and an orphaned
    round went on to write the project's variables after its server was killed (test_crash).
    The kernel's parent-death signal (prctl(2), ``PR_SET_PDEATHSIG``) waits for nothing. It
    follows the starting *thread*, so only a child started by a thread that lives as long as
    its server may use it (the retrain loop's). Returns whether the kernel took the request
    (False off Linux); a child whose parent is already gone exits at once."""
    if not sys.platform.startswith("linux"):
        return False
    parent = multiprocessing.parent_process()
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if parent is not None and os.getppid() != parent.pid:  # it died before the signal was asked for
        os._exit(1)
    return True


BACKGROUND_NICENESS = 10


def start_background_worker(idle: bool = True) -> None:
    """Set up a helper that works for a server: it ends with it, and yields the CPU to it.

    The helper runs beside the requests of the same machine, with its BLAS and OpenMP pools
    (loaded by now) kept to one thread: their default, a thread per core, kept both cores of a
    2-core machine busy and slowed every request (bench/online_load.py, bench/load.py).

    ``idle``: Linux's ``SCHED_IDLE`` policy, under which the helper runs only on a core nothing
    else wants, so the server's threads never wait for it (the online model's fits, which may
    lag). Otherwise, or off Linux, a niceness of ``BACKGROUND_NICENESS``: the server wins a core
    when both want it, and the helper still gets a share (a retrain round must end).
    """
    exit_with_parent()
    if idle and hasattr(os, "SCHED_IDLE"):  # Linux
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    elif hasattr(os, "nice"):  # POSIX
        os.nice(BACKGROUND_NICENESS)
    threadpool_limits(limits=1)
