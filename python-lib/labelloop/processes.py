"""Helper processes that end with the process that started them."""
from __future__ import annotations

import multiprocessing
import os
import threading


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


BACKGROUND_NICENESS = 10


def start_background_worker() -> None:
    """Set up a helper that works for a server: it ends with it, and yields the CPU to it.

    The online model's fits run beside the requests of the same machine. Under Linux's
    ``SCHED_IDLE`` policy the helper runs only on a core nothing else wants, so the server's
    threads never wait for it; elsewhere a high niceness is the nearest thing.
    """
    exit_with_parent()
    if hasattr(os, "SCHED_IDLE"):  # Linux
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    elif hasattr(os, "nice"):  # other POSIX systems
        os.nice(BACKGROUND_NICENESS)
