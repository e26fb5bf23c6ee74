"""The query sampler: score a whole pool with a model and write what to label next.

The pool is read in chunks. Only the best candidates seen so far are kept between chunks, so
memory is bounded by ``chunk_size`` plus ``max_queries`` rows (ten times as many ranked ones with
``diversity = cluster``, which picks one query per cluster of them; up to 20,000 with ``clue`` or
``badge``, which choose from the whole pool or that many of its most uncertain rows; plus 8 bytes per pool row when
rows are identified by hash, to number exact duplicates the way ``items.row_ids`` does). Items
already answered are left out before scoring. A ``random_share`` of the queries is drawn
uniformly from the rest of the pool and marked ``strategy = random``: labels on those give an
unbiased accuracy estimate. Random draws hash the item ids with the seed (``Salts``), so they do
not depend on the chunking, and the Spark engine (``spark_sampler.py``) draws the same ones.

The queries dataset (DESIGN.md section 3) has the input columns (folders: ``path``), then
``uncertainty``, ``strategy``, ``session``, ``model_version`` and ``item_id``, sorted by
``uncertainty`` descending. Rows the model did not score (a DSS model's preprocessing may drop
rows) come last, with ``strategy = unscored`` and no uncertainty (at most ``max_queries`` of
them). ``item_id`` goes beyond DESIGN.md: it is the id the webapp uses, so
nobody has to recompute it from a subset of rows (exact duplicates would then be numbered
differently).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from labelloop.errors import LabelloopError, first_line
from labelloop.learning.diversity import pick_batch, pool_wanted
from labelloop.learning.features import tabular_features
from labelloop.learning.llm_disagreement import disagreeing, predictions
from labelloop.parameters.tables import (
    CHUNK_SIZE,
    LLM_DISAGREEMENT,
    MAX_QUERIES,
    RANDOM_SHARE,
    RULES_BONUS,
    SAMPLE_DIVERSITY,
    STRATEGY,
)
from labelloop.platform.base import Platform, Probabilities
from labelloop.rules.dataset import rules_from_dataset
from labelloop.rules.spec import parse_rules
from labelloop.rules.votes import ABSTAIN, rule_votes
from labelloop.sampling import UNSCORED, check_probabilities, scores, top
from labelloop.store.item_sources import MediaFiles, Rows
from labelloop.store.items import row_hashes
from labelloop.store.sessions import current_session, next_session
from labelloop.store.skips import unavailable

QUERY_COLUMNS = ("uncertainty", "strategy", "session", "model_version", "item_id")
# Columns both engines (this one and learning/spark_sampler.py) add to the rows a Ranking keeps: the
# row's score, its random key, its place in the pool, its item id, and whether the rules help with it.
RANK_SCORE, RANK_KEY, RANK_POSITION, RANK_ID, RANK_RULES = "__score", "__key", "__position", "__id", "__rules"
RANK_COLUMNS = (RANK_SCORE, RANK_KEY, RANK_POSITION, RANK_ID, RANK_RULES)


@dataclass
class SamplerSettings:
    """How to rank, and how much to keep."""

    strategy: str = STRATEGY.default
    max_queries: int | None = MAX_QUERIES.default
    random_share: float = RANDOM_SHARE.default
    chunk_size: int = CHUNK_SIZE.default
    seed: int | None = None
    diversity: str = SAMPLE_DIVERSITY.default
    rules: tuple = ()  # checked labeling rules (rules/spec.py); their enabled ones can favour items
    rules_bonus: float = RULES_BONUS.default  # added to the score where no enabled rule votes, or they disagree
    llm_answers: dict = field(default_factory=dict)  # item id -> the LLM's answer, or None where it abstained
    llm_disagreement: float = LLM_DISAGREEMENT.default  # added where the LLM's answer is not the model's prediction

    def __post_init__(self):
        self.strategy = STRATEGY.check(self.strategy)
        self.diversity = SAMPLE_DIVERSITY.check(self.diversity)
        self.max_queries = MAX_QUERIES.check(self.max_queries)
        self.random_share = RANDOM_SHARE.check(self.random_share)
        self.rules_bonus = RULES_BONUS.check(self.rules_bonus)
        self.llm_disagreement = LLM_DISAGREEMENT.check(self.llm_disagreement)
        self.rules = tuple(rule for rule in self.rules if rule.enabled)
        self.chunk_size = CHUNK_SIZE.check(self.chunk_size)

    @property
    def diverse(self) -> bool:
        """Diversity picks which items become the ``max_queries`` queries: with every item kept, nothing to pick."""
        return self.diversity != "none" and self.max_queries is not None and self.strategy != "random"


@dataclass
class Pool:
    """The unlabeled items: the rows of a dataset (identified by an id column or by hash) or the files of a folder.

    ``scored``: the dataset is already scored (the output of DSS's Score recipe, which DSS can
    run on Spark, in the database or on Kubernetes): its ``proba_<class>`` columns are the
    probabilities, and the sampler only ranks. Those columns and ``prediction`` are not part of
    the items: they are left out of the queries and of the rows' hashed ids.
    """

    name: str
    items: MediaFiles | Rows = field(default_factory=Rows)
    scored: bool = False

    @property
    def id_column(self) -> str | None:
        return self.items.id_column


PROBA_PREFIX = "proba_"  # DSS's predictor and Score recipe name a class's probability so (fake_dataiku's Predictor)


def is_score_column(name) -> bool:
    """A Score recipe's column, not the item's: ``prediction`` and the ``proba_<class>`` ones."""
    return str(name) == "prediction" or str(name).startswith(PROBA_PREFIX)


def split_scores(chunk: pd.DataFrame, pool_name: str) -> tuple:
    """``(input columns, Probabilities)`` of a chunk of a scored dataset; rows without every
    probability (a row the model's preprocessing dropped) are left unscored."""
    columns = [c for c in chunk.columns if str(c).startswith(PROBA_PREFIX)]
    if not columns:
        raise LabelloopError(f"The dataset '{pool_name}' has no '{PROBA_PREFIX}<class>' columns: give the output of "
                             "a Score recipe with probabilities on (the Query sampler also takes a saved model instead).")
    values = chunk[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    scored = ~np.isnan(values).any(axis=1)
    probabilities = Probabilities(classes=[str(c)[len(PROBA_PREFIX):] for c in columns], matrix=values,
                                  model_version=None, scored=scored)
    inputs = chunk.drop(columns=[c for c in chunk.columns if is_score_column(c)])
    return inputs, probabilities


def answered_in_metadata(platform: Platform, metadata: str | None, queries: str | None = None) -> set:
    """Item ids to leave out of the next session's queries, from a metadata dataset (none when it
    is unset or unbuilt): labeled ones, and skipped ones still held back (store/skips.py).

    The metadata dataset keeps each annotator's current answer only, so each skip counts once
    here: in DSS an item everyone skipped comes back every few sessions instead of retiring. A
    metadata dataset without ``status``, ``session`` or ``annotator`` leaves out every answered item.
    """
    if not metadata or not platform.dataset_exists(metadata):
        return set()
    frame = platform.read_dataset(metadata)
    if queries is None or not {"status", "session", "annotator"} <= set(frame.columns):
        return set(frame["data_id"].astype(str))
    answers = zip(frame["data_id"].astype(str), frame["annotator"].astype(str), frame["status"].astype(str),
                  pd.to_numeric(frame["session"], errors="coerce").fillna(0).astype(int))
    return unavailable(answers, {}, current_session(platform, queries) + 1)


def llm_answers_in_dataset(platform: Platform, answers: str) -> dict:
    """``{item_id: answer or None}`` of an LLM answers dataset (DSS), for ``llm_disagreement``:
    its ``item_id`` and ``answer`` columns; an empty answer is an abstention; a later row of an
    item replaces an earlier one."""
    frame = platform.read_dataset(answers)
    missing = [c for c in ("item_id", "answer") if c not in frame.columns]
    if missing:
        raise LabelloopError(f"The LLM answers dataset '{answers}' has no '{missing[0]}' column (it needs item_id "
                             "and answer).")
    given = frame["answer"].astype(object).where(frame["answer"].notna() & (frame["answer"].astype(str) != ""), None)
    return dict(zip(frame["item_id"].astype(str), given))


def rules_in_dataset(platform: Platform, rules: str, pool: Pool) -> tuple:
    """The rules of a rules dataset (DSS), checked against the pool's columns, for ``rules_bonus``.

    The pool's column types come from its first rows, as the sampler reads it; the categories are
    the rules' own (the bonus only asks whether the rules vote and agree).
    """
    given = rules_from_dataset(platform.read_dataset(rules))
    first = next(pool.items.chunks(platform, pool.name, 1_000), None)
    if first is None:
        raise LabelloopError(f"The dataset '{pool.name}' has no rows to score.")
    categories = sorted({str(rule.get("label")) for rule in given})
    return tuple(parse_rules(given, first.dtypes, categories))


class _HashIds:
    """Numbers exact duplicate rows across chunks, as ``items.row_ids`` does on a whole frame."""

    def __init__(self, answered: set):
        self.prefixes = []
        self._answered = answered
        self._answered_bases = {i.split("#")[0] for i in answered}
        self._seen = {}

    def chunk(self, frame: pd.DataFrame) -> tuple:
        """Base hashes of a chunk, and a mask of rows that are not answered yet."""
        bases = row_hashes(frame)
        self.prefixes.append(np.array([int(b[:16], 16) for b in bases], dtype=np.uint64))
        fresh = np.ones(len(bases), dtype=bool)
        for n, base in enumerate(bases):
            if base in self._answered_bases:
                seen = self._seen.get(base, 0)
                self._seen[base] = seen + 1
                fresh[n] = (base if seen == 0 else f"{base}#{seen + 1}") not in self._answered
        return bases, fresh

    def final_ids(self, bases: pd.Series, positions: np.ndarray) -> list:
        """The full ids of kept rows, from their base hash and position in the pool.

        Only rows whose hash equals a kept row's are looked at: a row's suffix is the number of
        identical rows before it.
        """
        wanted = np.array([int(b[:16], 16) for b in bases], dtype=np.uint64)
        hit_positions, hit_values, offset = [], [], 0
        for prefixes in self.prefixes:
            found = np.flatnonzero(pd.Series(prefixes, copy=False).isin(wanted).to_numpy())
            hit_positions.append(found + offset)
            hit_values.append(prefixes[found])
            offset += len(prefixes)
        hit_positions, hit_values = np.concatenate(hit_positions), np.concatenate(hit_values)
        order = np.lexsort((hit_positions, hit_values))
        ordered = hit_values[order]
        starts = np.r_[0, np.flatnonzero(ordered[1:] != ordered[:-1]) + 1]
        rank_in_order = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = rank_in_order  # hits are already in position order
        ranks = rank[np.searchsorted(hit_positions, positions)]
        return [b if r == 0 else f"{b}#{r + 1}" for b, r in zip(bases, ranks)]


def _keep(candidates: pd.DataFrame, by_score: int, by_key: int) -> pd.DataFrame:
    """The rows that can still end up in the queries: best scores, or smallest random keys."""
    best = top(candidates[RANK_SCORE].to_numpy(), by_score)
    luckiest = top(-candidates[RANK_KEY].to_numpy(), by_key)
    return candidates.iloc[np.union1d(best, luckiest)].reset_index(drop=True)


def _select(candidates: pd.DataFrame, settings: SamplerSettings, features_of, probabilities_of) -> pd.DataFrame:
    """Final queries: the top by score (diverse: ``learning/diversity.pick_batch``) plus a random share."""
    total = len(candidates) if settings.max_queries is None else min(settings.max_queries, len(candidates))
    n_random = int(round(settings.random_share * total))
    uncertain = candidates[RANK_SCORE].to_numpy()
    if settings.diverse:
        best = top(uncertain, pool_wanted(total - n_random, settings.diversity))
        inputs = candidates.iloc[best].drop(columns=list(RANK_COLUMNS)).reset_index(drop=True)
        probabilities = probabilities_of(inputs) if settings.diversity == "badge" else None
        best = best[pick_batch(settings.diversity, features_of(inputs), uncertain[best], total - n_random,
                               settings.seed, probabilities)]
    else:
        best = top(uncertain, total - n_random)
    others = np.setdiff1d(np.arange(len(candidates)), best)
    lucky = others[top(-candidates[RANK_KEY].to_numpy()[others], n_random)]
    chosen = candidates.iloc[np.r_[best, lucky]].copy()
    ranked = np.where(chosen[RANK_RULES].to_numpy()[:len(best)], f"{settings.strategy}+rules", settings.strategy)
    chosen["strategy"] = list(ranked) + ["random"] * len(lucky)
    return chosen


def _with_rules_bonus(uncertainty: np.ndarray, chunk: pd.DataFrame, settings: SamplerSettings) -> tuple:
    """``(scores, where the rules are no help)``: with a ``rules_bonus``, items where no enabled
    rule votes or the rules disagree score that much higher, so annotators label where the rules
    cannot; the queue's reason says so (``strategy`` ``<strategy>+rules``)."""
    if not settings.rules or settings.rules_bonus <= 0:
        return uncertainty, np.zeros(len(chunk), dtype=bool)
    votes = rule_votes(list(settings.rules), chunk, sorted({rule.label for rule in settings.rules}))
    voted = votes != ABSTAIN
    lowest = np.where(voted, votes, np.iinfo(votes.dtype).max).min(axis=1)
    highest = np.where(voted, votes, np.iinfo(votes.dtype).min).max(axis=1)
    unhelped = ~voted.any(axis=1) | (lowest != highest)
    return uncertainty + settings.rules_bonus * unhelped, unhelped


def _chunk_ids(chunk: pd.DataFrame, pool: Pool, hashes: _HashIds | None, answered: set) -> tuple:
    """Item ids of a chunk (base hashes when rows are hashed) and a mask of unanswered rows."""
    clash = [c for c in QUERY_COLUMNS if c in chunk.columns]
    if clash:
        raise LabelloopError(f"The input already has a column '{clash[0]}', which the queries dataset adds.")
    if hashes is not None:
        return hashes.chunk(chunk)
    ids = pool.items.ids(chunk)
    return ids, np.array([i not in answered for i in ids], dtype=bool)


class Salts:
    """Where the sampler's random numbers come from: a hash of each item's id, salted by the seed.

    A row's random key (which rows the random share takes) and its ``random`` score depend only
    on the item and the seed, not on how the pool is cut into chunks or partitions: that is what
    lets the Spark engine draw exactly the queries the pandas engine draws. Exact duplicate rows
    share a key; ties go to the row that comes first in the pool.
    """

    def __init__(self, seed: int | None):
        base = secrets.token_hex(8) if seed is None else str(seed)
        self.key, self.score = (hashlib.blake2b(f"{base}:{use}".encode(), digest_size=8).hexdigest() for use in ("key", "score"))

    @staticmethod
    def uniform(ids, salt: str) -> np.ndarray:
        """Numbers in [0, 1), one per id (pandas' SipHash of the id: vectorised, the same in every process)."""
        hashed = pd.util.hash_array(np.asarray(ids, dtype=object), hash_key=salt, categorize=False)
        return (hashed >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


class Ranking:
    """What the sampler keeps of the chunks it has seen: the candidates that can still become
    queries, the first rows the model did not score, and counts. The pandas engine feeds it the
    whole pool; the Spark engine one per partition, then merges them (``merge``)."""

    def __init__(self, settings: SamplerSettings, salts: Salts):
        self.settings, self.salts = settings, salts
        self.limit = settings.max_queries
        self.n_random = 0 if self.limit is None else int(round(settings.random_share * self.limit))
        self.candidates, self.unscored, self.version, self.scored, self.dropped = None, None, None, 0, 0

    def add(self, chunk: pd.DataFrame, ids: np.ndarray, positions: np.ndarray, probabilities: Probabilities) -> None:
        """Rank a chunk of unanswered rows (``ids`` and pool ``positions`` aligned with it)."""
        self.version, kept = probabilities.model_version, probabilities.scored
        self.scored, self.dropped = self.scored + int(kept.sum()), self.dropped + int((~kept).sum())
        if not kept.all():
            self._add_unscored(chunk[~kept].assign(**{RANK_POSITION: positions[~kept], RANK_ID: ids[~kept]}))
        chunk, ids, positions = chunk[kept], ids[kept], positions[kept]
        if chunk.empty:
            return
        matrix = probabilities.matrix[kept]
        if self.settings.strategy == "random":
            check_probabilities(matrix)
            uncertainty = Salts.uniform(ids, self.salts.score)
        else:
            uncertainty = scores(matrix, self.settings.strategy)
        uncertainty, unhelped = _with_rules_bonus(uncertainty, chunk, self.settings)
        if self.settings.llm_disagreement > 0:
            apart = disagreeing(predictions(probabilities.classes, matrix), ids, self.settings.llm_answers)
            uncertainty = uncertainty + self.settings.llm_disagreement * apart
        added = pd.DataFrame({RANK_SCORE: uncertainty, RANK_RULES: unhelped, RANK_KEY: Salts.uniform(ids, self.salts.key),
                              RANK_POSITION: positions, RANK_ID: ids}, index=chunk.index)
        chunk = pd.concat([chunk, added], axis=1)  # at once: each insert into a wide chunk would copy it
        self._add_candidates(chunk)

    def _add_unscored(self, lost: pd.DataFrame) -> None:
        self.unscored = lost if self.unscored is None else pd.concat([self.unscored, lost], ignore_index=True)
        self.unscored = self.unscored if self.limit is None else self.unscored.head(self.limit)

    def _add_candidates(self, chunk: pd.DataFrame) -> None:
        self.candidates = chunk if self.candidates is None else pd.concat([self.candidates, chunk], ignore_index=True)
        if self.limit is not None:
            wanted = pool_wanted(self.limit - self.n_random, self.settings.diversity if self.settings.diverse else "none")
            self.candidates = _keep(self.candidates, wanted,
                                    self.limit)

    def merge(self, candidates: pd.DataFrame | None, unscored: pd.DataFrame | None) -> None:
        """Take in what another ranking kept (rows of any positions: they are put back in pool order)."""
        if unscored is not None and len(unscored):
            pooled = unscored if self.unscored is None else pd.concat([self.unscored, unscored], ignore_index=True)
            self.unscored = None
            self._add_unscored(pooled.sort_values(RANK_POSITION, kind="stable").reset_index(drop=True))
        if candidates is not None and len(candidates):
            pooled = candidates if self.candidates is None else pd.concat([self.candidates, candidates], ignore_index=True)
            self.candidates = None
            self._add_candidates(pooled.sort_values(RANK_POSITION, kind="stable").reset_index(drop=True))


def run_sampler(platform: Platform, model: str, pool: Pool, queries: str, answered: set,
                settings: SamplerSettings) -> dict:
    """Score the pool, write the queries dataset, move to the next session; returns a summary."""
    hashes = _HashIds(answered) if pool.items.hashed else None
    ranking, position = Ranking(settings, Salts(settings.seed)), 0
    for chunk in pool.items.chunks(platform, pool.name, settings.chunk_size):
        chunk = chunk.reset_index(drop=True)
        chunk, given = split_scores(chunk, pool.name) if pool.scored else (chunk, None)
        ids, fresh = _chunk_ids(chunk, pool, hashes, answered)
        positions = np.arange(position, position + len(chunk))
        position += len(chunk)
        chunk, ids, positions = chunk[fresh], np.asarray(ids, dtype=object)[fresh], positions[fresh]
        if not chunk.empty:
            probabilities = _probabilities(platform, model, chunk, ranking.version) if given is None else given.rows(fresh)
            ranking.add(chunk, ids, positions, probabilities)
    return write_queries(platform, model, pool, queries, ranking, hashes, position)


def write_queries(platform: Platform, model: str | None, pool: Pool, queries: str, ranking: Ranking, hashes,
                  rows: int) -> dict:
    """Pick the queries from what the ranking kept, write them, move to the next session; a summary.

    ``hashes`` gives hashed rows their full ids (``final_ids``); ``rows``: how many the pool has."""
    # The queries are written before the session moves: a webapp that sees the new session
    # loads its queries, and one that refreshes in between still has the old session.
    session = current_session(platform, queries) + 1
    version, settings = ranking.version, ranking.settings

    def features_of(inputs):
        return _cluster_features(platform, model, inputs, version, pool)

    def probabilities_of(inputs):
        """The model's probabilities of the candidates (badge's gradients); none for a scored dataset."""
        return None if pool.scored else platform.model_probabilities(model, inputs, version=version).matrix

    output = _output(ranking.candidates, ranking.unscored, settings, hashes, session, version, pool,
                     (features_of, probabilities_of))
    platform.write_dataset(queries, output)
    next_session(platform, queries)
    return {"scored": ranking.scored, "unscored": ranking.dropped, "answered": rows - ranking.scored - ranking.dropped,
            "queries": int((output["strategy"] != UNSCORED).sum()),
            "random": int((output["strategy"] == "random").sum()) if len(output) else 0,
            "session": session, "modelVersion": version, "diversity": settings.diversity if settings.diverse else "none"}


def _cluster_features(platform: Platform, model: str, inputs: pd.DataFrame, version: str, pool: Pool):
    """Where diverse batches cluster: the model's own features when the platform has them (the
    built-in model), else features of the candidates' columns (always, for a scored dataset),
    else the model's probabilities (a DSS folder, whose files are not local)."""
    features = None if pool.scored else platform.model_features(model, inputs, version=version)
    if features is not None:
        return features
    if pool.scored:  # no model to ask: the rows' own columns
        return tabular_features(inputs).fit_transform(inputs)
    if pool.items.has_columns:
        try:
            return tabular_features(inputs).fit_transform(inputs)
        except (LabelloopError, ValueError):  # no usable column: fall back on the probabilities
            pass
    return np.nan_to_num(platform.model_probabilities(model, inputs, version=version).matrix)


def _probabilities(platform: Platform, model: str, frame: pd.DataFrame, version: str | None):
    try:
        return platform.model_probabilities(model, frame, version=version)
    except LabelloopError:
        raise
    except (KeyError, ValueError, TypeError) as error:
        raise LabelloopError(f"The model could not score the input ({first_line(error)}): "
                             "does the input have the model's features?") from error


def _output(candidates, unscored, settings, hashes, session, version, pool, model_views) -> pd.DataFrame:
    """The queries, most uncertain first, then the rows the model did not score (``strategy = unscored``)."""
    parts = []
    if candidates is not None and len(candidates):
        chosen = _select(candidates, settings, *model_views)
        parts.append(chosen.sort_values([RANK_SCORE, RANK_POSITION], ascending=[False, True], kind="stable"))
    if unscored is not None:
        parts.append(unscored.assign(**{RANK_SCORE: np.nan, "strategy": UNSCORED}))
    if not parts:
        return pd.DataFrame(columns=[*pool.items.columns, *QUERY_COLUMNS])
    chosen = pd.concat(parts, ignore_index=True)
    if hashes is not None:
        chosen[RANK_ID] = hashes.final_ids(chosen[RANK_ID], chosen[RANK_POSITION].to_numpy())
    output = chosen.drop(columns=[c for c in (*RANK_COLUMNS, "strategy") if c in chosen])
    return output.assign(uncertainty=chosen[RANK_SCORE].to_numpy(dtype=float), strategy=chosen["strategy"].to_numpy(),
                         session=session, model_version=version, item_id=chosen[RANK_ID].to_numpy()).reset_index(drop=True)
