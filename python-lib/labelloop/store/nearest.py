"""A nearest-neighbour index of item vectors, by cosine similarity (DESIGN.md section 13).

The vectors are kept as the embedding cache keeps its own: unit rows of float16 appended to a
file and read through a memory map, so a million items of 384 dimensions cost 768 MB of page
cache, not of the server's heap. Position ``p`` is the ``p``-th vector added.

Scanning every row for every request is too slow on large pools (seconds at 1M rows). So once
the index holds ``CELLS_FROM`` rows, ``organise`` groups them into cells around spherical k-means
centres (an inverted file): a search compares the vector with the centres, then scans only the
rows of the ``probe`` nearest cells, exactly. It is approximate: a neighbour in a cell not probed
is missed, which costs a little recall and never a wrong similarity.

``organise`` also copies the rows, cell after cell, to a file of their own (``cells-<n>.f16``, as
large again): a probed cell is then one slice of it, a few contiguous pages, where its rows in the
vectors' file would be scattered over the whole of it, one page read each. Rows added after
``organise`` join their nearest cell at once, in a list of positions beside the cell's slice,
read from the vectors' file; the caller organises again when the index has grown much
(``grown``), which writes a new cells file and removes the old one. The float16 rows are widened
to float32 by moving their bits (``_widened``), a few hundred rows at a time.

A search reads the cells, then the vectors' map: both are swapped whole by the one writer, so a
search never sees half a change. faiss-cpu's inverted file (MIT licence), with as many cells and
probes, searches faster still, but keeps its codes in the heap and is a compiled dependency; this
index keeps the vectors in the page cache and needs numpy alone. Figures (search and route times, recall, build time and memory
at 1M and 5M, against an exact scan and faiss's inverted file): ``bench/similar.py``,
``bench/RESULTS.md``.
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from labelloop.platform.locks import Lock

CELLS_FROM = 50_000  # below this many rows a search scans them all (a few milliseconds)
BLOCK = 65_536  # rows scanned at a time while the index has no cells
WIDEN_BLOCK = 512  # float16 rows widened at a time: their float32 copy stays in the core's cache
WIDEN_SCALE = np.float32(2.0 ** 112)  # float32's exponent bias less float16's, as a factor
WIDEN_KEEP = np.int32(-0x70000001)  # 0x8FFFFFFF: the sign bit and the 28 bits a shifted half fills
FILING_BLOCK = 8_192  # rows filed in their cells at a time: their products with 2,000 centres take 64 MB
KMEANS_ROUNDS = 8
SAMPLE_PER_CELL = 40  # rows per centre the k-means learns from
PROBE = 12  # cells scanned by default
CELLS_PER_ROOT = 2  # cells per square root of the rows: 2,000 of 500 rows at 1M, so a search scans 6,000


class Found(NamedTuple):
    """Positions, nearest first, and their cosine similarities."""

    positions: np.ndarray
    similarities: np.ndarray


class _Cells(NamedTuple):
    """Centres and the rows of each cell, swapped whole so a search never sees half a change."""

    centres: np.ndarray  # cells x dim, float32, unit rows
    filed: np.ndarray  # the rows organised, cell after cell: a memory map of their own file, float16
    bounds: np.ndarray  # cell c is filed[bounds[c]:bounds[c + 1]]
    order: np.ndarray  # the position of each filed row
    late: tuple  # one int64 array per cell: positions added since, read from the vectors' file
    organised_rows: int  # how many rows there were when the centres were learned


class NearestIndex:
    """Unit vectors in ``folder/vectors.f16``; ``add`` appends, ``search`` finds the nearest.

    One writer (``add``, ``organise``) at a time and any number of searches (threads)."""

    def __init__(self, folder, dim: int, seed: int = 0):
        self.folder, self.dim, self.seed = Path(folder), int(dim), seed
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob("cells-*.f16"):
            stale.unlink()
        self._path = self.folder / "vectors.f16"
        self._path.write_bytes(b"")
        self._rows, self._map = 0, np.zeros((0, self.dim), dtype=np.float16)
        self._cells, self._generation = None, 0
        self._write = Lock(held_long=True)

    @property
    def rows(self) -> int:
        return self._rows

    def add(self, vectors: np.ndarray) -> np.ndarray:
        """Append ``vectors`` (rows x dim; scaled to unit length, zero rows stay zero); returns their positions."""
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0).astype(np.float16)
        with self._write:
            first = self._rows
            with open(self._path, "ab") as out:
                out.write(unit.tobytes())
            rows = first + len(unit)
            self._map = np.memmap(self._path, dtype=np.float16, mode="r", shape=(rows, self.dim)) if rows else self._map
            self._rows = rows
            positions = np.arange(first, rows, dtype=np.int64)
            if self._cells is not None and len(unit):  # after the map: a search that sees these cells sees their rows
                self._cells = self._joined(self._cells, positions, unit.astype(np.float32))
        return positions

    def vectors(self, positions) -> np.ndarray:
        """The unit vectors at ``positions``, as float32 rows."""
        return np.asarray(self._map[np.asarray(positions, dtype=np.int64)], dtype=np.float32)

    def grown(self) -> bool:
        """Whether ``organise`` is due: the index is large enough and has no cells yet, or doubled since."""
        cells = self._cells
        return self._rows >= CELLS_FROM and (cells is None or self._rows >= 2 * cells.organised_rows)

    def organise(self) -> None:
        """Learn ``CELLS_PER_ROOT`` x sqrt(rows) centres on a sample, file every row in its nearest
        cell, and copy the rows cell after cell to a file of their own: a search then reads each
        cell it probes as one slice, not as rows scattered over the vectors' file."""
        rows, vectors = self._rows, self._map
        count = max(1, int(CELLS_PER_ROOT * np.sqrt(rows)))
        rng = np.random.default_rng(self.seed)
        sample = np.sort(rng.choice(rows, size=min(rows, count * SAMPLE_PER_CELL), replace=False))
        centres = _spherical_kmeans(np.asarray(vectors[sample], dtype=np.float32), count, rng)
        assigned = _nearest_centre(centres, vectors[:rows])
        order = np.argsort(assigned, kind="stable")
        bounds = np.searchsorted(assigned[order], np.arange(count + 1))
        self._generation += 1
        filed = self._filed(vectors, order, self.folder / f"cells-{self._generation}.f16")
        cells = _Cells(centres, filed, bounds, order, tuple(np.zeros(0, dtype=np.int64) for _ in range(count)), rows)
        with self._write:  # rows added meanwhile join their cells
            late = np.arange(rows, self._rows, dtype=np.int64)
            previous, self._cells = self._cells, self._joined(cells, late, self.vectors(late)) if len(late) else cells
        if previous is not None:
            _remove(previous.filed.filename)

    def _filed(self, vectors: np.ndarray, order: np.ndarray, path: Path) -> np.ndarray:
        """``vectors[order]`` written to ``path``, ``BLOCK`` rows at a time, and mapped."""
        with open(path, "wb") as out:
            for start in range(0, len(order), BLOCK):
                out.write(np.asarray(vectors[order[start:start + BLOCK]]).tobytes())
        return np.memmap(path, dtype=np.float16, mode="r", shape=(len(order), self.dim))

    @staticmethod
    def _joined(cells: _Cells, positions: np.ndarray, vectors: np.ndarray) -> _Cells:
        late, assigned = list(cells.late), _nearest_centre(cells.centres, vectors)
        for cell in np.unique(assigned):
            late[cell] = np.concatenate([late[cell], positions[assigned == cell]])
        return cells._replace(late=tuple(late))

    def search(self, vector: np.ndarray, limit: int, probe: int = PROBE) -> Found:
        """The ``limit`` rows nearest ``vector``, nearest first, among the ``probe`` nearest cells
        (all rows while the index has no cells)."""
        query = np.asarray(vector, dtype=np.float32).reshape(self.dim)
        query = query / (np.linalg.norm(query) or 1.0)
        cells = self._cells
        vectors = self._map  # read after the cells: it holds every row they name
        if cells is None:
            positions = None
            scores = np.concatenate([_dot(vectors[s:s + BLOCK], query) for s in range(0, len(vectors), BLOCK)]
                                    or [np.zeros(0, dtype=np.float32)])
        else:
            positions, scores = _probed(cells, vectors, query, probe)
        limit = min(int(limit), len(scores))
        best = np.argpartition(-scores, limit - 1)[:limit] if 0 < limit < len(scores) else np.arange(limit)
        best = best[np.argsort(-scores[best], kind="stable")]
        return Found((best if positions is None else positions[best]).astype(np.int64), scores[best])


def _probed(cells: _Cells, vectors: np.ndarray, query: np.ndarray, probe: int) -> tuple:
    """The positions and similarities of the rows of the ``probe`` cells nearest ``query``: each
    cell's filed slice, then the rows added since it was filed."""
    nearest = np.argsort(-_dot(cells.centres, query), kind="stable")[:probe]
    spans = [(cells.bounds[c], cells.bounds[c + 1]) for c in nearest]
    late = np.sort(np.concatenate([cells.late[c] for c in nearest]))
    positions = np.concatenate([cells.order[start:end] for start, end in spans] + [late])
    scores = np.concatenate([_dot(cells.filed[start:end], query) for start, end in spans] + [_dot(vectors[late], query)])
    return positions, scores


def _remove(path: str) -> None:
    """Delete a file of cells replaced by a newer one. A search may still read it: on POSIX its
    pages stay until that search's map goes; Windows refuses, and the file stays until the next start."""
    with contextlib.suppress(OSError):
        Path(path).unlink()


def _dot(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Each row's dot product with ``query``, in this thread: BLAS's threads, woken for one product
    per request, cost more than they save on a busy machine. Float16 rows are widened
    ``WIDEN_BLOCK`` at a time by ``_widened``, and the query scaled to match."""
    if rows.dtype != np.float16:
        return np.einsum("ij,j->i", np.asarray(rows, dtype=np.float32), query)
    scaled = query * WIDEN_SCALE
    return np.concatenate([np.einsum("ij,j->i", _widened(rows[s:s + WIDEN_BLOCK]), scaled)
                           for s in range(0, len(rows), WIDEN_BLOCK)] or [np.zeros(0, dtype=np.float32)])


def _widened(rows: np.ndarray) -> np.ndarray:
    """Float16 ``rows`` as float32 numbers ``WIDEN_SCALE`` times smaller, exactly, in three passes
    where numpy's cast converts one number at a time: each half, read as an int16 and widened to
    int32, has its sign in bits 15 to 31; shifted left 13 bits, its exponent and fraction land in
    float32's (bits 13 to 27) and ``WIDEN_KEEP`` clears the sign's copies but bit 31. Finite
    halves only, as unit rows are."""
    bits = np.asarray(rows).view(np.int16).astype(np.int32)
    bits <<= 13
    bits &= WIDEN_KEEP
    return bits.view(np.float32)


def _nearest_centre(centres: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Each row's nearest centre, ``FILING_BLOCK`` rows at a time (their products with the centres stay small)."""
    return np.concatenate([np.argmax(np.asarray(vectors[s:s + FILING_BLOCK], dtype=np.float32) @ centres.T, axis=1)
                           for s in range(0, len(vectors), FILING_BLOCK)] or [np.zeros(0, dtype=np.int64)])


def _spherical_kmeans(sample: np.ndarray, count: int, rng) -> np.ndarray:
    """``count`` unit centres of the unit rows of ``sample``; an emptied centre restarts on a random row."""
    centres = sample[rng.choice(len(sample), size=count, replace=False)]
    for _ in range(KMEANS_ROUNDS):
        assigned = _nearest_centre(centres, sample)
        members = sp.csr_matrix((np.ones(len(sample), dtype=np.float32), (assigned, np.arange(len(sample)))),
                                shape=(count, len(sample)))
        sums = np.asarray(members @ sample)
        empty = np.flatnonzero(~sums.any(axis=1))
        sums[empty] = sample[rng.choice(len(sample), size=len(empty))]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centres = sums / np.where(norms > 0, norms, 1.0)
    return centres.astype(np.float32)
