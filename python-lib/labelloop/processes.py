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
