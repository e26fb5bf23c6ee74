"""A folder of 100k images: time to list it and to answer the first batch, against the 4.x approach.

Ours: open the project (list the folder, keep the media files), build the labeling server, and
answer ``GET /batch?size=20`` through Flask: the batch carries media URLs, the browser then
fetches each file from ``/media/<id>``.
Baseline, in the same run: what the plugin we replace does for a folder: list every path, scan
every id for the remaining ones, then read the batch's 20 files whole and base64-encode them into
the JSON answer.

    python bench/folder.py [--files 100000] [--repeat 3] [--dir DIR]
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from headline import record

from labelloop.labeling.app import create_app, webapp_of
from labelloop.standalone.project import Project, init_project
from labelloop.standalone.server import serve_settings

BATCH = 20
SUBFOLDERS = 100


def make_folder(folder: Path, files: int) -> None:
    """``files`` distinct 128x128 PNGs (noise, about 17 KB each) in 100 subfolders."""
    from PIL import Image

    rng = np.random.default_rng(0)
    tiles = []
    for _ in range(50):
        out = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (128, 128), dtype=np.uint8)).save(out, format="PNG")
        tiles.append(out.getvalue())
    for n in range(files):
        sub = folder / f"part_{n % SUBFOLDERS:03d}"
        if n < SUBFOLDERS:
            sub.mkdir(parents=True)
        # a 4-byte tail makes every file distinct without re-encoding 100k PNGs
        (sub / f"image_{n:06d}.png").write_bytes(tiles[n % len(tiles)] + n.to_bytes(4, "big"))


def ours(project_dir: Path) -> tuple:
    start = time.perf_counter()
    project = Project.open(project_dir)
    count = len(project.source)
    listed = time.perf_counter() - start
    app = create_app(serve_settings(project))
    answer = app.test_client().get(f"/batch?size={BATCH}", headers={"X-Requested-With": "labelloop"})
    assert answer.status_code == 200 and len(answer.get_json()["items"]) == BATCH, answer.data[:200]
    total = time.perf_counter() - start
    webapp_of(app).stop()
    project.close()
    return count, listed, total, len(answer.data)


def baseline(folder: Path) -> tuple:
    """4.x: every path listed (no filter), remaining ids scanned, 20 whole files base64 in the JSON."""
    start = time.perf_counter()
    paths = []
    for parent, _dirs, names in os.walk(folder):
        paths.extend("/" + os.path.relpath(os.path.join(parent, name), folder) for name in names)
    listed = time.perf_counter() - start
    labeled = set()
    remaining = [path for path in paths if path not in labeled]
    items = []
    for path in remaining[:BATCH]:
        with open(folder / path.lstrip("/"), "rb") as stream:
            items.append({"id": path, "data": {"raw": {"path": path},
                                               "enriched": base64.b64encode(stream.read()).decode()}})
    body = json.dumps({"items": items, "isLastBatch": False})
    return len(paths), listed, time.perf_counter() - start, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", help="work folder (default: a temporary one, removed at the end)")
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="labelloop-bench-folder-"))
    try:
        folder = work / "images"
        if not folder.exists():
            print(f"writing {args.files:,} PNG files ...", flush=True)
            make_folder(folder, args.files)
        project_dir = work / "project"
        shutil.rmtree(project_dir, ignore_errors=True)
        init_project(project_dir, folder, "image", [{"key": "a"}, {"key": "b"}])
        runs = {"ours": [ours(project_dir) for _ in range(args.repeat)],
                "4.x baseline": [baseline(folder) for _ in range(args.repeat)]}
        print(f"\n{args.files:,} files, best of {args.repeat} (the page cache is warm after the first run)\n")
        print("| approach | files listed | listing | listing + first batch | first batch answer size |")
        print("|---|---|---|---|---|")
        best = {}
        for name, results in runs.items():
            count, listed, total, size = min(results, key=lambda result: result[2])
            best[name] = total
            print(f"| {name} | {count:,} | {listed:.2f} s | {total:.2f} s | {size / 1024:,.0f} KB |")
        print(f"\nours / baseline, listing + first batch: {best['ours'] / best['4.x baseline']:.2f}")
        record("folder", f"{args.files:,}-image folder: listing + first batch", best["ours"], best["4.x baseline"], "s")
    finally:
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
