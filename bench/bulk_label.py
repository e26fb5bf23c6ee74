"""Time of labeling a group of 200 items: one ``POST /label/bulk`` against 200 ``POST /label``.

Issue 32 asks that a group of 200 is one transaction whose p95 stays under 50 ms, on SQLite and
on PostgreSQL. The baseline, measured in the same run on the same journal, is what labeling the
same 200 items costs without groups: one ``/label`` request each. Both go through the complete
labeling core (Flask test client, ``labeling/app.py``; no datasets writer), each answer with its
provenance and the ``/stats`` the response carries. The 200 leases each group needs are taken
before the clock starts (the page holds them already: they came with ``/similar`` or a batch).

Each round labels 200 fresh items of a 40,000-item pool that already holds ``--existing`` labels.
Beside the wall-clock times, the CPU time of the requesting thread (``time.thread_time``): on a
shared machine the wall clock also counts the waits for a core, this does not (PostgreSQL's own
work runs in its server process and is not in it).

    python bench/bulk_label.py [--rounds 20] [--existing 10000] [--postgres URL]
"""
from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from headline import record

from labelloop.labeling.app import Settings, create_app, webapp_of
from labelloop.labeling.service import LabelingConfig
from labelloop.platform.local import LocalPlatform
from labelloop.store.items import TableSource
from labelloop.store.journal import LABELED, Journal
from labelloop.store.restore import rebuild

GROUP = 200
POOL = 40_000
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CATEGORIES = [{"key": k} for k in "abc"]


def make_app(folder: Path, journal_url: str, existing: int):
    """The labeling core over a pool whose first ``existing`` items are labeled by someone else."""
    rng = np.random.default_rng(0)
    source = TableSource(pd.DataFrame({"row": np.arange(POOL), "x": rng.normal(size=POOL)}), id_column="row")
    journal = Journal(journal_url)
    rebuild(journal, pd.DataFrame({
        "date": pd.Timestamp("2026-01-01"), "data_id": source.ids[:existing], "comment": None, "session": 0,
        "status": LABELED, "annotator": "earlier", "label": "a", "label_id": np.arange(1, existing + 1)}))
    config = LabelingConfig(type="tabular", categories=CATEGORIES, lease_seconds=3600)
    app = create_app(Settings(LocalPlatform(folder), journal, source, config, identify=lambda request: "bench"))
    return app, journal, source


def time_rounds(app, journal, free: list, rounds: int, bulk: bool) -> tuple:
    """Seconds to label each round's 200 items, one bulk request or 200 single ones: wall clock, and CPU."""
    client = app.test_client()
    client.environ_base["HTTP_X_REQUESTED_WITH"] = "labelloop"
    timings, cpu = [], []
    for _ in range(rounds):
        ids = [free.pop() for _ in range(GROUP)]
        assert len(journal.lease("bench", ids, GROUP, seconds=3600)) == GROUP
        start, start_cpu = time.perf_counter(), time.thread_time()
        if bulk:
            response = client.post("/label/bulk", json={"ids": ids, "label": "b"})
            assert response.status_code == 200, response.get_json()
        else:
            for item in ids:
                response = client.post("/label", json={"id": item, "label": "b"})
                assert response.status_code == 200, response.get_json()
        timings.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return timings, cpu


def measure(journal_url: str, rounds: int, existing: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        app, journal, source = make_app(Path(folder), journal_url, existing)
        try:
            free = list(source.ids[existing:])[::-1]
            time_rounds(app, journal, free, 2, bulk=True)  # warm both paths: statements compiled, caches filled
            time_rounds(app, journal, free, 2, bulk=False)
            return {"bulk": time_rounds(app, journal, free, rounds, bulk=True),
                    "single": time_rounds(app, journal, free, rounds, bulk=False)}
        finally:
            webapp_of(app).stop()
            journal.close()


def postgres_database(admin_url: str):
    """A fresh database on the server of ``admin_url`` (dropped by the returned function)."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"labelloop_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def load_average() -> str:
    """The machine's load: other processes' work inflates the wall-clock times, not the CPU times."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="groups of 200 timed per approach and journal")
    parser.add_argument("--existing", type=int, default=10_000, help="labels in the journal before the first round")
    parser.add_argument("--postgres", default=POSTGRES, help="a PostgreSQL server's URL (a database is made there)")
    args = parser.parse_args()
    load_before = load_average()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        results["SQLite"] = measure(f"sqlite:///{Path(folder) / 'journal.sqlite'}", args.rounds, args.existing)
    url, drop = postgres_database(args.postgres)
    try:
        results["PostgreSQL"] = measure(url, args.rounds, args.existing)
    finally:
        drop()
    print(f"Load average (1, 5, 15 min) before the run: {load_before}; after: {load_average()}")
    print(f"Labeling {GROUP} items: one POST /label/bulk vs {GROUP} POST /label ({args.rounds} rounds each, "
          f"{args.existing:,} labels already, pool of {POOL:,})")
    print(f"{'journal':<12} {'approach':<28} {'p50 ms':>9} {'p95 ms':>9} {'CPU p50 ms':>11}  baseline/ours")
    for engine, found in results.items():
        ours, base = (np.percentile(np.array(found[k][0]) * 1000, [50, 95]) for k in ("bulk", "single"))
        cpu = {k: np.median(found[k][1]) * 1000 for k in ("bulk", "single")}
        print(f"{engine:<12} {'one /label/bulk of 200':<28} {ours[0]:>9.1f} {ours[1]:>9.1f} {cpu['bulk']:>11.1f}  "
              f"p50 {base[0] / ours[0]:.0f}x, p95 {base[1] / ours[1]:.0f}x")
        print(f"{engine:<12} {'200 single /label (baseline)':<28} {base[0]:>9.1f} {base[1]:>9.1f} {cpu['single']:>11.1f}")
        # no 4.x baseline: it had no groups (the 200 single labels are this run's own comparison)
        record("bulk_label", f"labeling 200 items at once ({engine}), p95", round(float(ours[1]), 1), None, "ms")


if __name__ == "__main__":
    main()
