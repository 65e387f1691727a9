"""The faiss vector store against exact numpy search, at forum scale (default 400k passages).

Two sets of 384-d vectors: "clustered" (random centres, noisy members) and "real-ish" (the
e5 vectors of the seed forum's passages, each copied many times with noise, so the set keeps
e5's shape: every vector leans the same way, unrelated texts score about 0.75; queries are
the seed's question titles, encoded as queries). Documents have 1-3 passages, like posts.

For each: building the store as a full sync does (chunks of 256 passages, generations
written as it grows, IVF trained past the threshold), query p50/p95 for k=10 and k=100 (what
the engine asks for), recall@10 of documents against exact search, a tag-like filter (10 %
of documents), nprobe 8/16/32, adding and removing a document, a new generation, and a
reader process's load time and memory (the index is memory-mapped).

    python bench/vector_speed.py [--passages 400000] [--queries 200] [--models-dir DIR]
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search.faiss_vectors import FaissVectorStore  # noqa: E402
from search.vectors import PassageMatrix, VectorEntry  # noqa: E402

DIM = 384


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def clustered(passages: int, queries: int, rng) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.normal(size=(2000, DIM))
    members = centres[rng.integers(0, len(centres), passages)]
    vectors = unit(members + 0.6 * rng.normal(size=(passages, DIM)))
    asked = centres[rng.integers(0, len(centres), queries)]
    return vectors, unit(asked + 0.6 * rng.normal(size=(queries, DIM)))


def realish(passages: int, models_dir: Path, rng) -> tuple[np.ndarray, np.ndarray]:
    """Seed passages and titles through the forum's encoder (ONNX if prepared), then copies."""
    from bench.encoder_speed import seed_texts
    from forum.model_setup import make_encoder

    encoder = make_encoder("auto", "auto", models_dir, threads=1)
    titles, texts, _per_post = seed_texts()
    print(f"real-ish: {len(texts)} seed passages and {len(titles)} titles "
          f"through {encoder.name}")
    anchors = encoder.encode_passages(texts)
    queries = encoder.encode_queries(titles)
    # Noise chosen so a copy keeps a cosine of about 0.9 with its anchor, as paraphrases do.
    copies = anchors[rng.integers(0, len(anchors), passages)]
    noise = rng.normal(size=(passages, DIM)) * (0.45 / np.sqrt(DIM))
    return unit(copies + noise), queries


def documents(vectors: np.ndarray, rng) -> list[VectorEntry]:
    counts = rng.choice([1, 1, 1, 2, 3], size=len(vectors))
    entries, row = [], 0
    while row < len(vectors):
        count = int(min(counts[len(entries)], len(vectors) - row))
        entries.append(VectorEntry(f"d:{len(entries)}", "h", vectors[row : row + count]))
        row += count
    return entries


def percentiles(samples: list[float]) -> str:
    return f"p50 {np.percentile(samples, 50):.2f} ms, p95 {np.percentile(samples, 95):.2f} ms"


def timed(call) -> tuple[object, float]:
    started = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - started) * 1000


def reader_figures(directory: Path) -> dict:
    """Open the store in a fresh process: load time and memory it adds."""
    script = f"""
import json, resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
import numpy as np
from search.faiss_vectors import FaissVectorStore
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize() / 2**20
before = rss()
started = time.perf_counter()
store = FaissVectorStore({str(directory)!r}, "bench")
loaded = time.perf_counter() - started
query = np.ones(384, np.float32) / np.sqrt(384)
for _ in range(20):
    store.search(query, 100)
print(json.dumps({{"load_s": loaded, "rss_mb": rss() - before}}))
"""
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def measure(name: str, vectors: np.ndarray, queries: np.ndarray, scratch: Path, rng) -> None:
    print(f"\n== {name}: {len(vectors):,} passages x {DIM}, {len(queries)} queries")
    entries = documents(vectors, rng)
    directory = scratch / name
    store = FaissVectorStore(directory, "bench")
    started = time.perf_counter()
    generations = 0
    for start in range(0, len(entries), 200):  # about 256 passages, as the engine embeds
        before = store.generation
        store.add(entries[start : start + 200])
        generations += store.generation != before
    store.save()
    build = time.perf_counter() - started
    base = store._state.base
    kind = f"IVF-Flat, nlist {base.index.nlist}" if base.trained_rows else "flat"
    print(f"build through the store: {build:.1f} s ({len(entries):,} documents, "
          f"{generations + 1} generations written), index {kind}, nprobe {store.nprobe}")

    counts = np.array([len(e.vectors) for e in entries], np.int32)
    exact = PassageMatrix.from_arrays(vectors, counts, [e.doc_id for e in entries],
                                      ["h"] * len(entries))
    exact_top = {}
    exact_ms = []
    for i, query in enumerate(queries):
        found, ms = timed(lambda q=query: exact.search(q, 100))
        exact_ms.append(ms)
        exact_top[i] = [doc_id for doc_id, _s in found[:10]]
    print(f"numpy exact, k=100: {percentiles(exact_ms)}")

    for nprobe in (8, 16, 32):
        store.nprobe = nprobe
        ms10, ms100, recall = [], [], []
        for i, query in enumerate(queries):
            found, ms = timed(lambda q=query: store.search(q, 10))
            ms10.append(ms)
            recall.append(len(set(exact_top[i]) & {d for d, _s in found}) / 10)
            ms100.append(timed(lambda q=query: store.search(q, 100))[1])
        print(f"faiss nprobe {nprobe:2}: k=10 {percentiles(ms10)}; k=100 {percentiles(ms100)}; "
              f"recall@10 {np.mean(recall):.3f}")
    store.nprobe = 16

    allowed = {e.doc_id for e in entries[:: 10]}
    ms_filtered, recall = [], []
    for query in queries:
        found, ms = timed(lambda q=query: store.search(q, 10, allowed))
        ms_filtered.append(ms)
        truth = {d for d, _s in exact.search(query, 10, allowed)}
        recall.append(len(truth & {d for d, _s in found}) / 10)
    print(f"filter to 10 % of documents, k=10: {percentiles(ms_filtered)}, "
          f"recall@10 {np.mean(recall):.3f}")

    new = VectorEntry("new:1", "h", unit(rng.normal(size=(2, DIM))))
    _, add_ms = timed(lambda: store.add([new]))
    _, replace_ms = timed(lambda: store.add([VectorEntry("d:5", "h2", vectors[:1])]))
    _, remove_ms = timed(lambda: store.remove(["d:7"]))
    after = [timed(lambda q=query: store.search(q, 100))[1] for query in queries]
    _, save_ms = timed(store.save)
    print(f"add a document {add_ms:.1f} ms, replace {replace_ms:.1f} ms, remove "
          f"{remove_ms:.1f} ms (each logged with fsync); search with them pending, k=100: "
          f"{percentiles(after)}; next generation {save_ms / 1000:.1f} s")
    reader = reader_figures(directory)
    print(f"a reader process: opens in {reader['load_s']:.2f} s, +{reader['rss_mb']:.0f} MB RSS "
          f"after 20 searches (index memory-mapped: {vectors.nbytes / 2**20:.0f} MB on disk "
          f"shared through the page cache)")
    store.close()
    shutil.rmtree(directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=400_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--models-dir", type=Path, default=ROOT / "instance" / "models")
    parser.add_argument("--only", choices=("clustered", "realish"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rng = np.random.default_rng(0)
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "bench" / "out") as scratch:
        if args.only in (None, "clustered"):
            vectors, queries = clustered(args.passages, args.queries, rng)
            measure("clustered", vectors, queries, Path(scratch), rng)
            del vectors
        if args.only in (None, "realish"):
            vectors, queries = realish(args.passages, args.models_dir, rng)
            measure("real-ish", vectors, queries, Path(scratch), rng)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nthis process's peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
