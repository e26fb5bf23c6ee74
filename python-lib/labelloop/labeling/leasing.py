"""Leasing items to an annotator: what a batch, a search or the online model's look-ahead share."""
from __future__ import annotations

from labelloop.errors import LabelloopError
from labelloop.labeling.answers import MAX_BATCH, request_object
from labelloop.platform.locks import Lock

LEASE_CAP = 2 * MAX_BATCH  # the most items one annotator holds: a batch and the next, whatever they ask
UPCOMING_ITEMS = 200  # items past the leased ones whose online features are computed ahead (a few seconds of batches)


class Leasing:
    """Leases on the journal, as the webapp's config says (duration, overlap)."""

    def __init__(self, journal, config, queue):
        self.journal, self.config, self.queue = journal, config, queue
        self.last_leases = []  # the ``LastLeases`` of the requests that give their leases back

    def claimed(self, user: str, item_ids: list) -> None:
        """``user``'s batch leased ``item_ids``: no search or group request gives them back now."""
        for last in self.last_leases:
            last.forget(user, item_ids)

    def until_full(self, user: str, size: int, propose, replacing=()) -> list:
        """Lease ``size`` items of those ``propose(proposed, count)`` proposes, asking again for
        others while some were lost to another annotator; ``replacing``: leases given back first.

        Annotators asking at the same moment are proposed the same first items, and only one
        gets each: the others are proposed the next ones, until their batch is full or nothing
        more is proposed (each round leaves out what it proposed, so this ends)."""
        taken, proposed = [], set()
        while len(taken) < size:
            candidates = propose(proposed, (size - len(taken)) * 2)
            if not candidates:
                break
            proposed.update(candidates)
            taken += self.journal.lease(user, candidates, size - len(taken), seconds=self.config.lease_seconds,
                                        needed=self.config.overlap.needed, cap=LEASE_CAP, replacing=replacing)
            replacing = ()
        return taken

    def open_to(self, user: str, answered: set, proposed: set):
        """Whether an item may be served to ``user``: not ``answered`` by them, not leased to
        another, not already ``proposed``."""
        busy = self.journal.leased_to_others(user)
        return lambda i: i not in answered and i not in busy and i not in proposed

    def upcoming(self, held: set) -> list:
        """The items the next batches will likely serve, in order (``held``: those answered enough)."""
        return self.queue.next_items(self.journal.leased_to_others(""), held, UPCOMING_ITEMS, done=held)

    def release(self, user: str, body) -> dict:
        """Give back ``user``'s leases on ``body["ids"]`` at once (the page left): others get them now, not when they expire."""
        ids = request_object(body).get("ids")
        if not isinstance(ids, list) or len(ids) > LEASE_CAP or not all(isinstance(i, str) for i in ids):
            raise LabelloopError(f"ids must be a list of at most {LEASE_CAP} item ids.")
        return {"released": self.journal.release(user, ids)}


class LastLeases:
    """What each annotator's last request of one kind (``/search``, ``/similar``, a cluster) leased:
    their next such request gives it back, so searching or browsing groups does not pile up leases.
    Items the annotator held already (their page's batch), or that their batch leased again since
    (``Leasing.claimed``), stay theirs: only what the request leased for itself is given back."""

    def __init__(self, leasing: Leasing):
        self.leasing = leasing
        self._lock = Lock()
        self._taken = {}  # annotator -> the ids their last request leased and they did not hold before
        leasing.last_leases.append(self)

    def renew(self, user: str, size: int, propose) -> list:
        """Lease up to ``size`` items ``propose`` offers (``Leasing.until_full``), replacing the last ones."""
        with self._lock:
            previous = self._taken.pop(user, [])
        held = self.leasing.journal.leased_to(user).difference(previous)
        taken = self.leasing.until_full(user, size, propose, replacing=previous)
        with self._lock:
            self._taken[user] = [i for i in taken if i not in held]
        return taken

    def forget(self, user: str, item_ids: list) -> None:
        """Items ``user``'s batch leased since: they are the batch's now, not given back with these."""
        dropped = set(item_ids)
        with self._lock:
            if self._taken.get(user):
                self._taken[user] = [i for i in self._taken[user] if i not in dropped]
