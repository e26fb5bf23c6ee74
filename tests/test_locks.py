"""A fork while another thread holds a lock (DSS forking a backend process per request): the child
must find every lock free, and what a waited-for lock guards whole."""
from __future__ import annotations

import os
import threading
import time

import pytest
from test_layout import PACKAGE

from labelloop.platform.locks import Lock

# forking a threaded process is what these tests are about: Python 3.12's warning that it may deadlock is the point
pytestmark = pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")


def forked(check) -> int:
    """Fork; the child exits with ``check()``'s number (within 10 s), the parent returns it."""
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = check()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8


def holding(lock: Lock, state: dict, seconds: float) -> threading.Thread:
    """A thread that holds ``lock`` for ``seconds`` while it changes ``state`` in two steps."""
    started = threading.Event()

    def change():
        with lock:
            state["first"] = 1
            started.set()
            time.sleep(seconds)
            state["second"] = 1
    thread = threading.Thread(target=change)
    thread.start()
    started.wait()
    return thread


def test_a_fork_waits_for_a_held_lock_so_the_child_finds_it_free_and_the_state_whole():
    lock, state = Lock(), {}
    thread = holding(lock, state, 0.3)
    code = forked(lambda: 0 if lock.acquire(timeout=5) and state == {"first": 1, "second": 1} else 1)
    thread.join()
    assert code == 0
    assert lock.acquire(blocking=False)  # the parent got it back too
    lock.release()


def test_a_lock_held_long_is_not_waited_for_and_the_child_finds_it_free():
    lock, state = Lock(held_long=True), {}
    thread = holding(lock, state, 2.0)
    code = forked(lambda: 0 if lock.acquire(timeout=5) and state == {"first": 1} else 1)  # forked mid-change
    assert lock.locked()  # the parent's thread still holds it
    thread.join()
    assert code == 0


def test_a_thread_taking_two_locks_in_any_order_does_not_deadlock_a_fork():
    first, second = Lock(), Lock()
    stop = threading.Event()

    def take_both():
        while not stop.is_set():
            with second:
                with first:
                    pass
    thread = threading.Thread(target=take_both)
    thread.start()
    try:
        codes = [forked(lambda: 0 if first.acquire(timeout=5) and second.acquire(timeout=5) else 1) for _ in range(20)]
    finally:
        stop.set()
        thread.join()
    assert codes == [0] * 20


def test_every_lock_of_the_package_is_made_by_platform_locks():
    made = PACKAGE / "platform" / "locks.py"
    plain = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
             if path != made and any(f"threading.{kind}(" in path.read_text() for kind in ("Lock", "RLock"))]
    assert plain == []
