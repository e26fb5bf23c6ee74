"""The order in which items are served (DESIGN.md section 4).

Queries come first, by descending uncertainty, with the queries the sampler drew at random
(``strategy = random``) mixed in at their share; then the rest of the pool in a seeded random
order, never the order of the file. Answered items never come back, so a cursor skips the
answered prefix instead of walking it on every request.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labelloop.platform.locks import Lock
from labelloop.sampling import UNSCORED

_QUERY_FIELDS = ("item_id", "uncertainty", "strategy", "session", "model_version")


@dataclass(frozen=True)
class Query:
    """Why an item is served: the sampler's strategy, score and rank, and its session."""

    strategy: str
    uncertainty: float
    rank: int
    session: int
    model_version: str | None

    def as_json(self) -> dict:
        return {"strategy": self.strategy, "uncertainty": self.uncertainty, "rank": self.rank, "session": self.session,
                "modelVersion": self.model_version}


def interleave(ranked: list, randoms: list) -> list:
    """Ranked items with random ones spread evenly among them (the random share of the queue)."""
    if not randoms:
        return list(ranked)
    total = len(ranked) + len(randoms)
    order, taken_random = [], 0
    ranked_iter, random_iter = iter(ranked), iter(randoms)
    for position in range(total):
        # integers, not a float share: rounding once left the last random item out
        if taken_random < len(randoms) and (position + 1) * len(randoms) >= (taken_random + 1) * total:
            order.append(next(random_iter))
            taken_random += 1
        else:
            order.append(next(ranked_iter))
    return order


class Queue:
    """Serving order over a pool's ids, with the current queries first.

    Two lists, walked in turn: the queries in serving order, then the whole pool in its seeded
    random order, where queued items are passed over. Nothing is rebuilt per session: new
    queries cost what they hold, not what the pool holds (a million ids took 0.6 s to reorder,
    while every request waited on the GIL).
    """

    def __init__(self, pool_ids: list, seed: int = 0):
        self._changing = Lock()  # set_queries and add replace lists; readers need no lock
        self._rng = np.random.default_rng(seed)
        self._pool = [pool_ids[i] for i in self._rng.permutation(len(pool_ids))]
        self._known = set(pool_ids)
        self._reached = 0  # how far into the pool any cursor has been: arrivals go after it
        self.set_queries(None)

    def add(self, item_ids: list) -> None:
        """New items of a pool that grows, each at a random place in the part of the pool no one
        has been served yet. They are unscored, so they take their chances with the rest of the
        pool after the current queries, until the next sampler run ranks them. The pool is
        rebuilt by slices (pointer copies: milliseconds for a million ids); the part before the
        cursors stays as it is, so a request walking the old list meanwhile stays right."""
        with self._changing:
            item_ids = [i for i in dict.fromkeys(item_ids) if i not in self._known]
            if not item_ids:
                return
            pool = self._pool
            places = np.sort(self._rng.integers(min(self._reached, len(pool)), len(pool) + 1, size=len(item_ids)))
            shuffled = [item_ids[i] for i in self._rng.permutation(len(item_ids))]
            grown, last = [], 0
            for place, item in zip(places.tolist(), shuffled):
                grown.extend(pool[last:place])
                grown.append(item)
                last = place
            grown.extend(pool[last:])
            self._known.update(item_ids)
            self._pool = grown

    def set_queries(self, queries: pd.DataFrame | None) -> None:
        """Serve these queries first (``item_id``, ``uncertainty``, ``strategy``, ``session``...)."""
        with self._changing:
            self._set_queries(queries)

    def _set_queries(self, queries: pd.DataFrame | None) -> None:
        found = {}
        order = []
        if queries is not None and len(queries):
            # Plain Python columns: a million queries arrive at once after a retrain, while
            # annotators wait, and per-row pandas access (itertuples, Arrow-backed isin) costs 10x.
            ids = [str(i) for i in queries["item_id"].tolist()]
            known = np.fromiter((i in self._known for i in ids), dtype=bool, count=len(ids))
            rows = queries[[c for c in _QUERY_FIELDS if c in queries]].assign(item_id=ids)[known]
            rows = rows[rows["strategy"].astype(str) != UNSCORED]  # the model could not rank them
            rows = rows.sort_values("uncertainty", ascending=False, kind="stable")
            ids = rows["item_id"].tolist()
            versions = rows["model_version"].tolist() if "model_version" in rows else [None] * len(rows)
            strategies = [str(s) for s in rows["strategy"].tolist()]
            for rank, (item, strategy, uncertainty, session, version) in enumerate(
                    zip(ids, strategies, rows["uncertainty"].tolist(), rows["session"].tolist(), versions), 1):
                found[item] = Query(strategy, float(uncertainty), rank, int(session), version)
            randoms = [i for i, strategy in zip(ids, strategies) if strategy == "random"]
            order = interleave([i for i, strategy in zip(ids, strategies) if strategy != "random"], randoms)
        # Cursors start over: a new session may serve again what the last one held (skips come back).
        self.queries, self._order, self._starts = found, order, (0, 0)

    def rewind(self) -> None:
        """Walk from the start again: answers were withdrawn (a group's undo), so items the cursors
        passed as answered wait to be served again, in their places."""
        with self._changing:
            self._starts = (0, 0)

    def next_items(self, excluded, answered, limit: int, done=None) -> list:
        """Up to ``limit`` ids in serving order that are neither answered nor excluded.

        ``done``: the items nobody will be served again (default ``answered``); the cursors move
        past those only, since an overlap item one annotator answered still waits for another.
        """
        done = answered if done is None else done
        order, pool, queued = self._order, self._pool, self.queries  # one moment of each
        start, pool_start = self._starts
        while start < len(order) and order[start] in done:
            start += 1
        while pool_start < len(pool) and pool[pool_start] in done:
            pool_start += 1
        self._starts = (start, pool_start)
        self._reached = max(self._reached, pool_start)
        found = []
        walk = itertools.chain(itertools.islice(order, start, None),  # no copy of either list
                               (i for i in itertools.islice(pool, pool_start, None) if i not in queued))
        for item_id in walk:
            if len(found) == limit:
                break
            if item_id not in answered and item_id not in excluded:
                found.append(item_id)
        return found
