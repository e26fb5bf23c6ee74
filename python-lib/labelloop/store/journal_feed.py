"""One follower of the journal: it reads each change once and hands it to every subscriber.

A labeling webapp keeps several things current with the journal: the tally behind ``/stats``
and the queue, the suggestion's pull, the datasets' writer, the online model and the rules'
final labels. Each used to poll the journal with its own cursor; here one ``JournalFeed`` reads ``Journal.changes`` after
the last event it saw and calls every subscriber with the same list, in event order. It reads
on demand (``poll``, from a request that needs the tally current) and, once started, in a
thread every ``POLL_SECONDS``, so changes other processes write reach the subscribers without a
request. Subscribers are called under the feed's lock: they must be quick (note the changes,
wake a worker), never slow work.
"""
from __future__ import annotations

import logging
import os
import threading
import weakref

from labelloop.platform.locks import Lock
from labelloop.store.journal import Journal

log = logging.getLogger(__name__)
POLL_SECONDS = 0.2


class JournalFeed:
    """The journal's changes after ``position``, handed once to each subscriber in order."""

    def __init__(self, journal: Journal):
        self.journal = journal
        self.position = 0  # the newest event handed out
        self.reads = 0  # journal reads so far: each one feeds every subscriber
        self._subscribers = []
        self._lock = Lock()
        self._wake, self._stopping = threading.Event(), threading.Event()
        self._thread = None
        _FEEDS.add(self)

    def subscribe(self, receive) -> None:
        """Call ``receive(changes)`` with every later batch of changes (a non-empty list of ``Change``)."""
        with self._lock:
            self._subscribers.append(receive)

    def poll(self) -> int:
        """Read the changes since the last read and hand them out; returns the newest event seen."""
        with self._lock:
            changes = self.journal.changes(self.position)
            self.reads += 1
            if changes:
                self.position = changes[-1].event_id
                for receive in self._subscribers:
                    _hand(receive, changes)
            return self.position

    def start(self) -> JournalFeed:
        """Follow the journal in a thread until ``stop`` or the journal's ``close``."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="labelloop-feed", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None

    def nudge(self) -> None:
        """Something was just written here: read it now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        failure = None
        while not self._stopping.is_set() and not self.journal.closed:
            try:
                self.poll()
                failure = None
            except Exception as error:  # noqa: BLE001 - an unreachable journal: try again at the next poll
                if str(error) != failure:  # once per distinct failure, not every poll
                    log.warning("Could not read the journal's changes; will retry.", exc_info=True)
                failure = str(error)
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()


def _hand(receive, changes: list) -> None:
    """One subscriber's failure is logged and leaves the others their changes (it is a bug: the
    changes are not handed to it again)."""
    try:
        receive(changes)
    except Exception:  # noqa: BLE001 - the other subscribers still get the changes
        log.exception("A follower of the journal failed on %d changes.", len(changes))


_FEEDS = weakref.WeakSet()  # this process's feeds, whose thread a forked child lacks


def _renew_after_fork() -> None:
    """A forked child (DSS forks a process per request with ``nbProcesses`` > 1) has no feed
    thread: its requests poll the feed themselves. Its lock is free there (labelloop/platform/locks.py)."""
    for feed in list(_FEEDS):
        feed._thread = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_after_fork)
