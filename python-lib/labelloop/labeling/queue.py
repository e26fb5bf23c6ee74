"""The order in which items are served (DESIGN.md section 4).

Queries come first, by descending uncertainty, with the queries the sampler drew at random
(``strategy = random``) mixed in at their share; then the rest of the pool in a seeded random
order, never the order of the file. Answered items never come back, so a cursor skips the
answered prefix instead of walking it on every request.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    """Serving order over a pool's ids, with the current queries first."""

    def __init__(self, pool_ids: list, seed: int = 0):
        self._changing = threading.Lock()  # set_queries and add replace the order; readers need no lock
        self._rng = np.random.default_rng(seed)
        self._pool = [pool_ids[i] for i in self._rng.permutation(len(pool_ids))]
        self._known = set(pool_ids)
        self.set_queries(None)

    def add(self, item_ids: list) -> None:
        """New items of a pool that grows, each at a random place among the items not served yet.

        They are unscored, so they take their chances with the rest of the pool after the
        current queries, until the next sampler run ranks them. The served prefix of the order
        stays as it is: the cursor stays valid for a request running meanwhile.
        """
        with self._changing:
            item_ids = [i for i in item_ids if i not in self._known]
            if not item_ids:
                return
            self._known.update(item_ids)
            self._pool = self._scattered(self._pool, 0, item_ids)
            self._order = self._scattered(self._order, max(self._start, self._queries_end), item_ids)

    def _scattered(self, order: list, first: int, item_ids: list) -> list:
        """``order`` with ``item_ids`` inserted at random places from position ``first`` on."""
        places = np.sort(self._rng.integers(first, len(order) + 1, size=len(item_ids)))
        shuffled = [item_ids[i] for i in self._rng.permutation(len(item_ids))]
        return np.insert(np.array(order, dtype=object), places, np.array(shuffled, dtype=object)).tolist()

    def set_queries(self, queries: pd.DataFrame | None) -> None:
        """Serve these queries first (``item_id``, ``uncertainty``, ``strategy``, ``session``...)."""
        with self._changing:
            self._set_queries(queries)

    def _set_queries(self, queries: pd.DataFrame | None) -> None:
        self.queries = {}
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
                self.queries[item] = Query(strategy, float(uncertainty), rank, int(session), version)
            randoms = [i for i, strategy in zip(ids, strategies) if strategy == "random"]
            order = interleave([i for i, strategy in zip(ids, strategies) if strategy != "random"], randoms)
        queued = set(order)
        self._order = order + [i for i in self._pool if i not in queued]
        self._queries_end = len(order)
        self._start = 0

    def next_items(self, excluded, answered, limit: int, done=None) -> list:
        """Up to ``limit`` ids in serving order that are neither answered nor excluded.

        ``done``: the items nobody will be served again (default ``answered``); the cursor moves
        past those only, since an overlap item one annotator answered still waits for another.
        """
        done = answered if done is None else done
        while self._start < len(self._order) and self._order[self._start] in done:
            self._start += 1
        found = []
        for item_id in itertools.islice(self._order, self._start, None):  # no copy of the order
            if len(found) == limit:
                break
            if item_id not in answered and item_id not in excluded:
                found.append(item_id)
        return found
