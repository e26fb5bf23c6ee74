"""The embedding cache: each text embedded once per model, kept on disk as float16.

One folder per model identity (``embedding_model.model_identity``) holds:

- ``vectors.f16``: the vectors, ``rows x dim`` float16, appended to (1M texts of 384 dimensions
  take 768 MB). Readers read the rows they need, so a sampler that walks the whole pool holds
  one chunk's vectors at a time;
- ``keys.u64``: each row's key, a 64-bit hash of its text;
- ``state.json``: ``{rows, dim}``, replaced atomically once both files are flushed to disk.

A reader trusts only the rows ``state.json`` counts. A writer killed mid-append leaves bytes
past them, which the next writer cuts off before appending: the cache is never corrupt, and
what was committed before the kill is kept. Writers take a file lock, so a CLI run and a server
may fill the same cache.

Rows are keyed by their text, not by item id (a departure from DESIGN.md section 12, which says
"keyed by item id"): the model pipeline sees rows of input columns, not ids, and looks their texts
up; an item whose text changes gets a new vector; a text shared by several items or columns is
embedded once.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from filelock import FileLock

from labelloop.errors import LabelloopError
from labelloop.platform.local import write_json_atomic
from labelloop.store.text import as_text

_HASH_KEY = "labelloop-texts!"  # 16 characters, as pandas' SipHash wants; fixed: keys are stored
CHUNK = 512  # texts embedded, then committed, at a time: a kill loses at most this much work


def text_keys(texts) -> np.ndarray:
    """The cache keys of ``texts`` (strings), vectorised."""
    return pd.util.hash_array(np.asarray(texts, dtype=object), hash_key=_HASH_KEY, categorize=False).astype(np.uint64)


class PoolTexts(NamedTuple):
    """The texts of a pool's embedded columns: each once, in pool order, with their keys, and
    ``per_item`` (items x columns) giving each item's rows of them."""

    texts: np.ndarray
    keys: np.ndarray
    per_item: np.ndarray


def pool_texts(frame: pd.DataFrame, columns: tuple) -> PoolTexts:
    """The texts of ``frame``'s ``columns``, in pool order: the cache is filled in that order, so a
    sampler's chunk of the pool reads consecutive rows of it."""
    texts = np.concatenate([as_text(frame[c]).to_numpy() for c in columns]) if len(frame) else np.zeros(0, dtype=object)
    keys = text_keys(texts)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    in_pool_order = np.argsort(first, kind="stable")
    rank = np.empty_like(in_pool_order)
    rank[in_pool_order] = np.arange(len(first))
    kept = first[in_pool_order]
    return PoolTexts(texts[kept], keys[kept], rank[np.ravel(inverse)].reshape(len(columns), -1).T)


def fill(cache: EmbeddingCache, pool: PoolTexts, encode, on_chunk) -> None:
    """Embed the pool's texts the cache lacks, ``CHUNK`` at a time, each chunk committed before the
    next; ``on_chunk(items done)`` after each (an item is done once all its texts are)."""
    missing = cache.positions(pool.keys) < 0

    def items_done() -> int:
        return int((~missing[pool.per_item]).all(axis=1).sum()) if len(pool.per_item) else 0

    on_chunk(items_done())
    todo = np.flatnonzero(missing)
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start:start + CHUNK]
        cache.append(pool.keys[chunk], encode(pool.texts[chunk].tolist()))
        missing[chunk] = False
        on_chunk(items_done())


class _Committed(NamedTuple):
    """The committed rows as one value, swapped whole: a reader thread never sees half a refresh."""

    stamp: tuple | None = None
    rows: int = 0
    dim: int = 0
    sorted_keys: np.ndarray = np.zeros(0, dtype=np.uint64)
    order: np.ndarray = np.zeros(0, dtype=np.int64)


class EmbeddingCache:
    """The vectors of one model's cache folder, for reading and appending."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self._committed = _Committed()

    @property
    def rows(self) -> int:
        return self._committed.rows

    @property
    def dim(self) -> int:
        return self._committed.dim

    @property
    def _state(self) -> Path:
        return self.folder / "state.json"

    def refresh(self) -> EmbeddingCache:
        """Re-read the committed rows if another process appended since."""
        try:
            info = self._state.stat()
        except FileNotFoundError:
            return self
        stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        if stamp != self._committed.stamp:
            state = json.loads(self._state.read_text(encoding="utf-8"))
            rows, dim = int(state["rows"]), int(state["dim"])
            keys = np.fromfile(self.folder / "keys.u64", dtype=np.uint64, count=rows)
            order = np.argsort(keys, kind="stable")
            self._committed = _Committed(stamp, rows, dim, keys[order], order)
        return self

    def positions(self, keys: np.ndarray) -> np.ndarray:
        """Each key's row in the cache, -1 where it has none."""
        committed = self.refresh()._committed
        keys = np.asarray(keys, dtype=np.uint64)
        if not committed.rows:
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(committed.sorted_keys, keys), committed.rows - 1)
        return np.where(committed.sorted_keys[at] == keys, committed.order[at], -1)

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        """The vectors at ``positions`` (all found by ``positions``) as float32 rows.

        Read with ``pread``, a run of consecutive rows at a time, not through a memory map: the
        kernel maps the neighbours of every page a map faults in, so scattered rows (a sampler's
        chunk) would map the whole file into the reader, 768 MB for 1M texts.
        """
        dim, positions = self._committed.dim, np.asarray(positions, dtype=np.int64)
        found = np.empty((len(positions), dim), dtype=np.float16)
        if not len(positions):
            return found.astype(np.float32)
        order = np.argsort(positions, kind="stable")
        ordered = positions[order]
        breaks = np.r_[0, np.flatnonzero(np.diff(ordered) != 1) + 1, len(ordered)]
        row_bytes = dim * 2
        with open(self.folder / "vectors.f16", "rb") as stream:
            for start, end in zip(breaks[:-1], breaks[1:]):
                data = os.pread(stream.fileno(), (end - start) * row_bytes, int(ordered[start]) * row_bytes)
                found[order[start:end]] = np.frombuffer(data, dtype=np.float16).reshape(end - start, dim)
        return found.astype(np.float32)

    def dot(self, vector: np.ndarray, block_rows: int = 50_000) -> np.ndarray:
        """Every committed row's dot product with ``vector``, the file read a block at a time."""
        committed = self.refresh()._committed
        found = np.empty(committed.rows, dtype=np.float32)
        with open(self.folder / "vectors.f16", "rb") as stream:
            for start in range(0, committed.rows, block_rows):
                count = min(block_rows, committed.rows - start)
                block = np.fromfile(stream, dtype=np.float16, count=count * committed.dim)
                found[start:start + count] = block.reshape(count, committed.dim).astype(np.float32) @ vector
        return found

    def append(self, keys: np.ndarray, vectors: np.ndarray) -> int:
        """Add the vectors of keys not in the cache yet; returns how many rows it now commits.

        A folder this user cannot write (another user's, read-only) is one sentence, not a traceback.
        """
        try:
            return self._append(keys, vectors)
        except OSError as error:
            raise LabelloopError(f"The embedding cache '{self.folder}' cannot be written "
                                 f"({error.strerror or error}).") from error

    def _append(self, keys: np.ndarray, vectors: np.ndarray) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.folder / "write.lock")):
            self._committed = self._committed._replace(stamp=None)  # under the lock, re-read: the files are the truth
            new = self.positions(keys) < 0
            keys, vectors = np.asarray(keys, dtype=np.uint64)[new], np.asarray(vectors)[new]
            first = np.sort(np.unique(keys, return_index=True)[1])  # each key once, in the order given
            if not len(first):
                return self.rows
            dim = self.dim or vectors.shape[1]
            self._write(self.folder / "keys.u64", keys[first].tobytes(), self.rows * 8)
            self._write(self.folder / "vectors.f16", vectors[first].astype(np.float16).tobytes(), self.rows * dim * 2)
            write_json_atomic(self._state, {"rows": self.rows + len(first), "dim": dim})
            return self.refresh().rows

    @staticmethod
    def _write(path: Path, data: bytes, committed: int) -> None:
        """Append ``data`` after the first ``committed`` bytes (dropping a killed writer's tail), durably."""
        with open(path, "ab") as out:
            out.truncate(committed)
            out.seek(committed)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())


_READERS: dict = {}


def shared_reader(folder) -> EmbeddingCache:
    """One reader per cache folder and process: its key index is built once, not per transform."""
    folder = str(folder)
    if folder not in _READERS:
        _READERS[folder] = EmbeddingCache(folder)
    return _READERS[folder]


def vectors_of(cache: EmbeddingCache, texts) -> np.ndarray:
    """The vectors of ``texts`` as float32 rows, zeros for a text the cache lacks."""
    found = cache.positions(text_keys(texts))
    rows = np.zeros((len(found), cache.dim), dtype=np.float32)
    rows[found >= 0] = cache.vectors(found[found >= 0])
    return rows
