"""``GET /similar`` on large pools: the index of store/nearest.py against an exact scan, in one run.

Part 1, the index alone, on vectors like sentence embeddings (384 dimensions, unit rows around
2,000 topics, float16), at each ``--rows``: our cells (spherical k-means, ``PROBE`` cells
scanned) and, on pools up to ``--compare-up-to`` rows, the exact blocked numpy scan every request
would otherwise make (the baseline) and, when ``faiss`` can be imported, faiss's inverted file
with float16 codes and the same cells and probes (the well-kept library that does the same in C++).
Each runs in its own process: build time, peak memory (the process's high-water resident set,
which counts the pages of the vectors' files it touched), search p50 and p95 over ``--queries``
searches of 100 candidates (and the p95 of their CPU time: the wall's tail is mostly the time
other processes hold the cores), and recall of the true 20 nearest.

Part 2, the route: ``GET /similar?size=20`` through the Flask test client on a webapp of
``--route-rows`` items, p50 and p95 over ``--queries`` requests, beside ``GET /batch?size=20`` on
the same webapp, for each of ``--route-spaces``: texts whose sentence embeddings (the vectors of
part 1) are all in the embedding cache, and table rows (eight numeric columns, one categorical).

    python bench/similar.py [--rows 1000000 5000000] [--variants exact cells faiss] [--compare-up-to 2000000]
                            [--queries 200] [--route-rows 1000000] [--route-spaces embeddings table] [--faiss-path DIR]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

DIM, TOPICS, CHUNK = 384, 2_000, 100_000
EXACT_QUERIES = 10  # the exact scan takes a second or more each: fewer of them
RECALL_QUERIES = 10


def vectors(rows: int):
    """Chunks of unit vectors around ``TOPICS`` directions, the same on every run."""
    topics = np.random.default_rng(0).normal(size=(TOPICS, DIM)).astype(np.float32)
    for start in range(0, rows, CHUNK):
        rng = np.random.default_rng(start + 1)
        count = min(CHUNK, rows - start)
        chunk = topics[rng.integers(0, TOPICS, count)] + 0.9 * rng.normal(size=(count, DIM)).astype(np.float32)
        yield chunk / np.linalg.norm(chunk, axis=1, keepdims=True)


def peak_mb() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def percentiles(times: list) -> tuple:
    return float(np.percentile(times, 50) * 1000), float(np.percentile(times, 95) * 1000)


def one(variant: str, rows: int, queries: int) -> dict:
    """Build ``variant`` on ``rows`` vectors and search it (runs in its own process)."""
    from labelloop.store.nearest import PROBE, NearestIndex

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        index = NearestIndex(folder, DIM)
        for chunk in vectors(rows):
            index.add(chunk)
        if variant == "cells":
            index.organise()
        targets = np.random.default_rng(1).choice(rows, queries, replace=False)
        if variant == "faiss":
            search, built = _faiss(index, rows, PROBE)
        else:
            def search(vector, limit):
                return index.search(vector, limit).positions
            built = time.perf_counter() - started
        count = EXACT_QUERIES if variant == "exact" else queries
        times, cpu, recall = [], [], []
        for n, target in enumerate(targets[:count]):
            vector = index.vectors([target])[0]
            began, began_cpu = time.perf_counter(), time.process_time()
            found = search(vector, 100)
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
            if n < RECALL_QUERIES:
                truth = np.argsort(-np.concatenate([index.vectors(range(s, min(s + CHUNK, rows))) @ vector
                                                    for s in range(0, rows, CHUNK)]), kind="stable")[:20]
                recall.append(len(set(truth.tolist()) & set(np.asarray(found[:20]).tolist())) / 20)
        p50, p95 = percentiles(times)
        return {"variant": variant, "rows": rows, "build_s": built, "peak_mb": peak_mb(), "p50_ms": p50,
                "p95_ms": p95, "cpu_p95_ms": percentiles(cpu)[1], "recall": float(np.mean(recall)), "searches": count}


def _faiss(index, rows: int, probe: int):
    """faiss's inverted file over the same vectors (float16 codes, as many cells as ours, the same probes)."""
    import faiss

    from labelloop.store.nearest import CELLS_PER_ROOT

    started = time.perf_counter()
    cells = max(1, int(CELLS_PER_ROOT * np.sqrt(rows)))
    quantizer = faiss.IndexFlatIP(DIM)
    library = faiss.IndexIVFScalarQuantizer(quantizer, DIM, cells, faiss.ScalarQuantizer.QT_fp16,
                                            faiss.METRIC_INNER_PRODUCT)
    sample = np.sort(np.random.default_rng(0).choice(rows, min(rows, cells * 40), replace=False))
    library.train(index.vectors(sample))
    for start in range(0, rows, CHUNK):
        library.add(index.vectors(range(start, min(start + CHUNK, rows))))
    library.nprobe = probe
    built = time.perf_counter() - started

    def search(vector, limit):
        return library.search(vector.reshape(1, -1), limit)[1][0]
    return search, built


def route(space: str, rows: int, queries: int) -> dict:
    """p50 and p95 of /similar and /batch on a webapp of ``rows`` items of ``space`` (``POOLS``)."""
    from labelloop.labeling.app import Settings, create_app, webapp_of
    from labelloop.platform.local import LocalPlatform
    from labelloop.store.journal import Journal

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        source, config, embeddings = POOLS[space](rows, Path(folder))
        started = time.perf_counter()
        app = create_app(Settings(LocalPlatform(Path(folder)), Journal(f"sqlite:///{folder}/journal.sqlite"),
                                  source, config, identify=lambda request: "ada", embeddings=embeddings))
        client = app.test_client()
        headers = {"X-Requested-With": "labelloop"}
        while not client.get("/stats").get_json()["similar"]["ready"]:
            time.sleep(0.5)
        ready = time.perf_counter() - started
        times = {"/similar": [], "/batch": []}
        for target in rng.choice(rows, queries, replace=False):
            for path, url in (("/similar", f"/similar?id={target}&size=20"), ("/batch", "/batch?size=20")):
                began = time.perf_counter()
                response = client.get(url, headers=headers)
                times[path].append(time.perf_counter() - began)
                assert response.status_code == 200 and len(response.get_json()["items"]) == 20, response.get_json()
        webapp_of(app).stop()
    return {"ready_s": ready, **{path: percentiles(found) for path, found in times.items()}}


def table_pool(rows: int, folder: Path) -> tuple:
    """Table rows of eight numeric columns and one categorical (136 dimensions in /similar's space)."""
    import pandas as pd

    from labelloop.labeling.service import LabelingConfig
    from labelloop.store.items import TableSource

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{n}": rng.normal(size=rows) for n in range(8)})
    frame.insert(0, "id", np.arange(rows))
    frame["kind"] = rng.choice(["red", "white", "rosé"], rows)
    config = LabelingConfig(type="tabular", categories=[{"key": "a"}, {"key": "b"}], online=False)
    return TableSource(frame, id_column="id"), config, None


def text_pool(rows: int, folder: Path) -> tuple:
    """Texts whose sentence embeddings (``vectors``, 384 dimensions) are all in the embedding cache,
    as the background embedding leaves them."""
    import pandas as pd

    from labelloop.labeling.service import LabelingConfig
    from labelloop.store.embedding_cache import EmbeddingCache, text_keys
    from labelloop.store.items import TableSource

    frame = pd.DataFrame({"id": np.arange(rows), "text": [f"text number {n}" for n in range(rows)]})
    cache = EmbeddingCache(folder / "cache")
    for start, chunk in zip(range(0, rows, CHUNK), vectors(rows)):
        cache.append(text_keys(frame["text"].to_numpy()[start:start + CHUNK]), chunk)
    embeddings = _Embedded(_Meaning(cache, ("text",)))
    config = LabelingConfig(type="text", text_column="text", categories=[{"key": "a"}, {"key": "b"}], online=False)
    return TableSource(frame, id_column="id"), config, embeddings


class _Meaning(NamedTuple):
    cache: object
    columns: tuple


class _Embedded(NamedTuple):
    """The webapp's text features with every text embedded (the part of ServedFeatures /similar reads)."""

    meaning: _Meaning

    @staticmethod
    def status() -> dict:
        return {"ready": True}


POOLS = {"table": table_pool, "embeddings": text_pool}
ROUTE_WORDS = {"table": "table rows (136 dims)", "embeddings": "texts (384-dim embeddings)"}


def run_child(function: str, arguments: list, faiss_path: str | None) -> dict:
    """``function(*arguments)`` of this file in a new process (its own peak memory); faiss's folder last on its path."""
    bench = Path(__file__).resolve().parent
    code = (f"import sys, json; sys.path[:0] = [{str(bench.parent / 'python-lib')!r}, {str(bench)!r}]; "
            f"sys.path.append({faiss_path or ''!r}); import similar; "
            f"print(json.dumps(similar.{function}(*{arguments!r})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def has_faiss(faiss_path: str | None) -> bool:
    code = f"import sys; sys.path.append({faiss_path!r}); import faiss" if faiss_path else "import faiss"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def main() -> None:
    from headline import record

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000],
                        help="pool sizes (5M takes about 15 minutes on a busy 2-core machine)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--route-rows", type=int, default=1_000_000, help="0: no route part")
    parser.add_argument("--route-spaces", nargs="+", choices=sorted(POOLS), default=["embeddings", "table"])
    parser.add_argument("--variants", nargs="+", default=["exact", "cells", "faiss"])
    parser.add_argument("--compare-up-to", type=int, default=2_000_000,
                        help="larger pools build and search our cells only (the exact scan and faiss take long)")
    parser.add_argument("--faiss-path", help="a folder faiss-cpu is installed in (pip install --target)")
    args = parser.parse_args()
    variants = [v for v in args.variants if v != "faiss" or has_faiss(args.faiss_path)]
    print(f"{'rows':>10} {'variant':>8} {'build s':>9} {'peak MB':>9} {'p50 ms':>9} {'p95 ms':>9} "
          f"{'p95 vs exact':>13} {'CPU p95 ms':>11} {'recall@20':>10}")
    for rows in args.rows:
        exact = None
        for variant in [v for v in variants if v == "cells" or rows <= args.compare_up_to]:
            found = run_child("one", [variant, rows, args.queries], args.faiss_path)
            exact = found if variant == "exact" else exact
            ratio = f"{found['p95_ms'] / exact['p95_ms']:>13.3f}" if exact else f"{'':>13}"
            print(f"{rows:>10,} {variant:>8} {found['build_s']:>9.1f} {found['peak_mb']:>9,.0f} {found['p50_ms']:>9.1f} "
                  f"{found['p95_ms']:>9.1f} {ratio} {found['cpu_p95_ms']:>11.1f} {found['recall']:>10.2f}", flush=True)
            if variant == "cells" and exact:
                record("similar", f"search p95 at {rows:,} vectors (384 dims)", round(found["p95_ms"], 1),
                       round(exact["p95_ms"], 1), "ms")
            if variant == "cells":
                record("similar", f"index build at {rows:,} vectors (vectors made and added, organised)",
                       round(found["build_s"], 1), None, "s")
                record("similar", f"index peak resident memory at {rows:,} vectors (with the files' pages)",
                       round(found["peak_mb"]), None, "MB")
    for space in args.route_spaces if args.route_rows else []:
        found = run_child("route", [space, args.route_rows, args.queries], None)
        print(f"\nroute on {args.route_rows:,} {ROUTE_WORDS[space]} (index ready after {found['ready_s']:.1f} s):")
        print(f"{'route':>10} {'p50 ms':>9} {'p95 ms':>9}")
        for path in ("/similar", "/batch"):
            print(f"{path:>10} {found[path][0]:>9.1f} {found[path][1]:>9.1f}")
        record("similar", f"GET /similar p95 at {args.route_rows:,} {ROUTE_WORDS[space]}", round(found["/similar"][1], 1),
               None, "ms")


if __name__ == "__main__":
    main()
