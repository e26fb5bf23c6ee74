"""``GET /clusters`` on large pools: learning the clusters, and the routes once they are learned.

Part 1, the clustering alone (labeling/clustering.py), on ``--rows`` vectors like sentence
embeddings (384 dimensions, float16, as bench/similar.py makes them), in its own process: the
time to learn the centres and file every row, peak memory (the process's high-water resident set,
the index's file pages included), and the time to file 1% more rows (a growing pool).

Part 2, the routes through the Flask test client on a webapp of ``--route-rows`` table rows (as
bench/similar.py's route part): seconds from the start until the similar items' index, then the
clusters, are ready; ``--answered`` items labeled in groups of 200, cluster after cluster, and
listed once; then ``--queries`` rounds of: ``GET /clusters/<id>?size=20`` on the largest
cluster, ``POST /label/bulk`` of its items, ``GET /clusters?size=20`` (which sees the new
answers), beside ``GET /batch?size=20``. The baseline is the listing without ``_Answered``: each
request checks every item of the pool against the tally to count the unanswered ones per cluster.

    python bench/clusters.py [--rows 1000000] [--route-rows 1000000] [--answered 10000] [--queries 50]
"""
from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from similar import DIM, peak_mb, percentiles, vectors

HEADERS = {"X-Requested-With": "labelloop"}


def learn(rows: int) -> dict:
    """Learn the clusters of ``rows`` vectors, then file 1% more (runs in its own process)."""
    from labelloop.labeling.clustering import Clustering
    from labelloop.store.nearest import NearestIndex

    with tempfile.TemporaryDirectory() as folder:
        index = NearestIndex(folder, DIM)
        for chunk in vectors(rows):
            index.add(chunk)
        started = time.perf_counter()
        clustering = Clustering.learn(index, seed=0)
        learned = time.perf_counter() - started
        index.add(np.random.default_rng(1).normal(size=(rows // 100, DIM)))
        started = time.perf_counter()
        clustering.filed(index)
        filed = time.perf_counter() - started
        sizes = clustering.sizes()
        return {"rows": rows, "clusters": len(sizes), "learn_s": learned, "file_1pct_s": filed, "peak_mb": peak_mb(),
                "smallest": int(sizes.min()), "largest": int(sizes.max())}


def route(rows: int, answered: int, queries: int) -> dict:
    """Seconds until ready, then p50 and p95 of the cluster routes, /batch and the full-count baseline."""
    import pandas as pd

    from labelloop.labeling.app import Settings, create_app, webapp_of
    from labelloop.labeling.service import LabelingConfig
    from labelloop.platform.local import LocalPlatform
    from labelloop.store.items import TableSource
    from labelloop.store.journal import Journal

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{n}": rng.normal(size=rows) for n in range(8)})
    frame.insert(0, "id", np.arange(rows))
    frame["kind"] = rng.choice(["red", "white", "rosé"], rows)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        app = create_app(Settings(LocalPlatform(Path(folder)), Journal(f"sqlite:///{folder}/journal.sqlite"),
                                  TableSource(frame, id_column="id"),
                                  LabelingConfig(type="tabular", categories=[{"key": "a"}, {"key": "b"}], online=False),
                                  identify=lambda request: "ada"))
        client, webapp = app.test_client(), webapp_of(app)
        ready = {}
        for part in ("similar", "clusters"):
            while not client.get("/stats").get_json()[part]["ready"]:
                time.sleep(0.2)
            ready[part] = time.perf_counter() - started
        times = {"GET /clusters": [], "GET /clusters/<id>": [], "GET /batch": [], "full count (baseline)": []}

        def timed(name, call):
            began = time.perf_counter()
            result = call()
            times[name].append(time.perf_counter() - began)
            return result
        label_clusters(client, answered)
        largest = client.get("/clusters?size=1", headers=HEADERS).get_json()["clusters"][0]["id"]
        for _ in range(queries):
            served = timed("GET /clusters/<id>", lambda: client.get(f"/clusters/{largest}?size=20", headers=HEADERS))
            ids = [item["id"] for item in served.get_json()["items"]]
            assert client.post("/label/bulk", json={"ids": ids, "label": "a"}, headers=HEADERS).status_code == 200
            listed = timed("GET /clusters", lambda: client.get("/clusters?size=20", headers=HEADERS))
            assert listed.status_code == 200, listed.get_json()
            timed("GET /batch", lambda: client.get("/batch?size=20", headers=HEADERS))
            timed("full count (baseline)", lambda: full_count(webapp))
        webapp.stop()
    return {"ready_s": ready, "answered": answered, "answers": queries * 20,
            **{name: percentiles(found) for name, found in times.items()}}


def label_clusters(client, count: int) -> None:
    """Label ``count`` items in groups of 200, each of the cluster with the most unanswered items."""
    while count > 0:
        cluster = client.get("/clusters?size=1", headers=HEADERS).get_json()["clusters"][0]["id"]
        items = client.get(f"/clusters/{cluster}?size={min(200, count)}", headers=HEADERS).get_json()["items"]
        given = client.post("/label/bulk", json={"ids": [item["id"] for item in items], "label": "b"}, headers=HEADERS)
        assert given.status_code == 200, given.get_json()
        count -= len(items)


def full_count(webapp) -> np.ndarray:
    """The unanswered items per cluster counted the plain way: every item of the pool against the tally."""
    clusters = next(e for e in webapp.extensions if type(e).__name__ == "Clusters")
    clustering, built = clusters._ready()  # noqa: SLF001 - the benchmark reads what the request reads
    service = webapp.service
    done = service.tally().held(service.project.current().session)
    unanswered = np.fromiter((built.ids[p] not in done for p in range(clustering.rows)), dtype=bool, count=clustering.rows)
    return np.bincount(clustering.cluster[unanswered], minlength=len(clustering.centres))


def main() -> None:
    from headline import record

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="vectors the clustering alone learns on (0: none)")
    parser.add_argument("--route-rows", type=int, default=1_000_000, help="table rows of the route part (0: none)")
    parser.add_argument("--answered", type=int, default=10_000, help="items labeled before the routes are timed")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    if args.rows:
        found = in_own_process(learn, args.rows)
        print(f"{'rows':>10} {'clusters':>9} {'learn s':>8} {'file 1% s':>10} {'peak MB':>8} {'smallest':>9} {'largest':>8}")
        print(f"{found['rows']:>10,} {found['clusters']:>9} {found['learn_s']:>8.1f} {found['file_1pct_s']:>10.2f} "
              f"{found['peak_mb']:>8,.0f} {found['smallest']:>9,} {found['largest']:>8,}", flush=True)
        record("clusters", f"learning the clusters of {args.rows:,} vectors (384 dims)", round(found["learn_s"], 1), None, "s")
    if args.route_rows:
        found = in_own_process(route, args.route_rows, args.answered, args.queries)
        ready = found["ready_s"]
        print(f"\nroutes on {args.route_rows:,} table rows (similar index ready after {ready['similar']:.1f} s, "
              f"clusters after {ready['clusters']:.1f} s; {found['answered']:,} items labeled before, "
              f"{found['answers']:,} during the timed rounds):")
        print(f"{'request':>22} {'p50 ms':>9} {'p95 ms':>9}")
        for name in ("GET /clusters", "GET /clusters/<id>", "GET /batch", "full count (baseline)"):
            print(f"{name:>22} {found[name][0]:>9.1f} {found[name][1]:>9.1f}")
        baseline = found["full count (baseline)"][1]
        record("clusters", f"GET /clusters p95 at {args.route_rows:,} rows ({baseline:,.0f} ms counting the whole pool)",
               round(found["GET /clusters"][1], 1), None, "ms")


def in_own_process(function, *arguments) -> dict:
    """``function(*arguments)`` in a new process: its peak memory is its own."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *arguments).result()


if __name__ == "__main__":
    main()
