"""Locks that keep their promise across a fork: every lock this package's threads share is made here.

DSS may run a webapp backend forking a process per request (``nbProcesses`` > 1, see
tests/fake_dataiku/backend_process.py). A plain lock that another thread of the parent held at the
fork stays held in the child for good, and its request waits forever; the state it guarded may
also be half-changed there. So a fork first takes every ``Lock`` (all of them or none, trying
again after a millisecond, so it never waits while holding one and cannot deadlock with a thread
that takes two): the child starts with each free and what each guards whole, and the parent gives
them back. A lock ``held_long`` (a dataset write, reading a project, loading a model) is not
waited for: the child gets it free, so what it guards must be replaced whole, never changed in
place. Spawned processes (multiprocessing's ``spawn``, subprocess) run no fork hooks.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import weakref

log = logging.getLogger(__name__)
PATIENCE_SECONDS = 5.0  # how long a fork waits for the locks before its child takes them free anyway

_ALL = weakref.WeakSet()  # every Lock of this process
_REGISTRY = threading.Lock()  # guards _ALL
_TAKEN = []  # the locks this fork holds, given back after it
_FORKING = threading.Lock()  # one fork at a time takes the locks (two threads may fork at once)


class Lock:
    """A ``threading.Lock`` that a forked child finds free, and (unless ``held_long``) whole."""

    __slots__ = ("_lock", "held_long", "__weakref__")

    def __init__(self, held_long: bool = False):
        self._lock = threading.Lock()
        self.held_long = held_long
        with _REGISTRY:
            _ALL.add(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc) -> None:
        self._lock.release()


def _take_all() -> None:
    """Before a fork: hold every lock that is not ``held_long``, or none (then wait a millisecond).
    A lock made meanwhile is not waited for; the child gets it free like the others."""
    _FORKING.acquire()
    with _REGISTRY:
        waited = [lock for lock in _ALL if not lock.held_long]
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        for lock in waited:
            if not lock._lock.acquire(blocking=False):
                _give_back()
                break
            _TAKEN.append(lock)
        else:
            return
        if time.monotonic() > deadline:  # e.g. a library forking from a thread that holds one
            log.warning("A fork did not get every lock within %s s; its child takes them free.", PATIENCE_SECONDS)
            return
        time.sleep(0.001)


def _give_back() -> None:
    while _TAKEN:
        _TAKEN.pop()._lock.release()


def _after_in_parent() -> None:
    _give_back()
    _FORKING.release()


def _after_in_child() -> None:
    """Every lock fresh: those taken before the fork were free, the others may be held by a thread the child lacks."""
    global _REGISTRY, _FORKING
    _TAKEN.clear()
    for lock in _ALL:
        lock._lock = threading.Lock()
    _REGISTRY, _FORKING = threading.Lock(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_take_all, after_in_parent=_after_in_parent, after_in_child=_after_in_child)
