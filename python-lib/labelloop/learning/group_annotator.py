"""The annotator of ``labelloop simulate --groups``: one action labels a queried item's look-alikes.

It replays the page's group view (DESIGN.md section 13). For each item the strategy queries, in
its order, the annotator opens the group of the item and its nearest unlabeled neighbours (cosine,
in the space ``/similar`` uses: the sentence embeddings when the run has them, else the model's
features), all ticked with the item's true label, unticks the members whose true label differs
and confirms: those members go back unlabeled.

The label proposed is the item's true label, not the model's prediction: the page lets the
annotator pick the category before confirming, and an annotator who sees a wrong proposal picks
the right one rather than confirming the wrong look-alikes. Picking it is one more action, so the
model's prediction still counts: an item the model gets right is cheaper to group.

A round of the simulation gives the annotator as many actions as a round without groups gives
labels (``--batch``; serve retrains every so many labels): the groups of the queried items are
opened in the strategy's order until they are spent, so the model retrains after the same effort.

The cost of a group, in actions (one label given alone is one action):
``GROUP_ACTION`` to confirm, ``LOOK`` for each item of the group looked at (the queried item
included), and ``PICK`` when the model's prediction for the item is not its true label (or there
is no model yet). A group whose neighbours all differ therefore costs more than labeling the item
alone: that is the price of opening groups on data without look-alikes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.neighbors import NearestNeighbors

GROUP_SIZE = 20  # as /similar's default
GROUP_ACTION = 1.0
LOOK = 0.1
PICK = 1.0


@dataclass
class GroupAnnotator:
    """Labels a round of queried items group by group; ``space`` holds the vectors of every item
    (rows as in the simulation's features)."""

    space: object
    size: int = GROUP_SIZE

    def label_round(self, queries: np.ndarray, guesses, pool: np.ndarray, labeled: np.ndarray,
                    labels: np.ndarray, budget: float, room: int) -> float:
        """Open the groups of ``queries`` in turn (positions in ``pool``; ``guesses`` the model's
        predictions for them) until ``budget`` actions are spent or ``room`` labels given; mark the
        labeled items in ``labeled`` and return the actions spent."""
        unlabeled = np.flatnonzero(~labeled)
        index = NearestNeighbors(metric="cosine", algorithm="brute").fit(self.space[pool[unlabeled]])
        given, actions = 0, 0.0
        for query, guess in zip(queries, guesses):
            if actions >= budget or given >= room:
                break
            if labeled[query]:  # a group opened earlier in the round took it
                continue
            group = _group(index, self.space[[pool[query]]], unlabeled, labeled, query,
                           min(self.size, room - given), given)
            truth = labels[pool[query]]
            matching = group[labels[pool[group]] == truth]
            labeled[matching] = True
            given += len(matching)
            actions += GROUP_ACTION + LOOK * len(group) + (PICK if guess != truth else 0.0)
        return actions


def _group(index: NearestNeighbors, vector, unlabeled: np.ndarray, labeled: np.ndarray, query: int, size: int,
           given: int) -> np.ndarray:
    """The query and its ``size - 1`` nearest items still unlabeled (``index`` holds the items
    unlabeled when the round began; ``given`` were labeled since, so that many more are asked for)."""
    _, near = index.kneighbors(vector, n_neighbors=min(len(unlabeled), size + given))
    members = unlabeled[near[0]]
    members = members[(members != query) & ~labeled[members]]
    return np.concatenate([[query], members[:size - 1]]).astype(np.int64)
