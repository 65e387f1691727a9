"""The search encoders side by side: torch (sentence-transformers) and the int8 ONNX export.

Each encoder runs in a fresh process of its own, so that its load time and memory are its
alone (and the ONNX one shows that it never imports torch): load time, RSS after loading and
after encoding, short queries one at a time on one thread (p50/p95 ms), passages per second
on one thread. Texts are the seed forum's: its questions' titles as queries, and the passages
the search engine embeds for its questions and answers. Then the ONNX vectors are compared
with torch's (cosine, queries and passages), and the time to embed 100k real posts with the
ONNX encoder is estimated from the seed's passages per post.

    python bench/encoder_speed.py [--models-dir instance/models] [--passages 300]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def seed_texts() -> tuple[list[str], list[str], float]:
    """(queries, passages, passages per post) from seed/*.jsonl."""
    from datetime import UTC, datetime

    from search.documents import SearchDocument

    queries, passages, posts = [], [], 0
    for path in sorted((ROOT / "seed").glob("threads_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            thread = json.loads(line)
            queries.append(thread["title"])
            for body in [thread["body"]] + [answer["body"] for answer in thread["answers"]]:
                document = SearchDocument(f"d:{posts}", "answer", 1, None, thread["title"],
                                          body, (), datetime.now(UTC))
                passages.extend(document.passages())
                posts += 1
    return queries, passages, len(passages) / posts


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process, MB."""
    status = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines()
        if ":" in line
    )
    return (int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024)


def child(kind: str, models_dir: Path, passages: int, out: Path) -> None:
    """Load one encoder, measure it, save its vectors (run in its own process)."""
    started = time.perf_counter()
    from forum.model_setup import make_encoder  # the forum's own imports, not the encoder's

    import_seconds = time.perf_counter() - started
    rss_before = rss_mb()[0]
    started = time.perf_counter()
    encoder = make_encoder(kind, "auto", models_dir, threads=1)
    encoder.encode_queries(["khởi động"])  # loads the model (and torch, for torch)
    load_seconds = time.perf_counter() - started
    rss_loaded = rss_mb()[0]
    queries, texts, per_post = seed_texts()
    texts = texts[:passages]
    timings = []
    for query in queries:
        begun = time.perf_counter()
        encoder.encode_queries([query + " "])  # a fresh text: the query cache must not answer
        timings.append((time.perf_counter() - begun) * 1000)
    query_vectors = encoder.encode_queries(queries)
    begun = time.perf_counter()
    passage_vectors = encoder.encode_passages(texts)
    per_second = len(texts) / (time.perf_counter() - begun)
    np.savez(out, queries=query_vectors, passages=passage_vectors)
    print(json.dumps({
        "encoder": encoder.name,
        "import_s": import_seconds,
        "load_s": load_seconds,
        "rss_before_mb": rss_before,
        "rss_loaded_mb": rss_loaded,
        "rss_peak_mb": rss_mb()[1],
        "query_p50_ms": float(np.percentile(timings, 50)),
        "query_p95_ms": float(np.percentile(timings, 95)),
        "queries": len(timings),
        "passages_per_s": per_second,
        "passages": len(texts),
        "passages_per_post": per_post,
        "torch_imported": "torch" in sys.modules,
    }))


def run(kind: str, models_dir: Path, passages: int, scratch: Path):
    out = scratch / f"{kind}.npz"
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--models-dir", str(models_dir),
         "--passages", str(passages), "--out", str(out)],
        capture_output=True, text=True, check=True, cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1]), np.load(out)


def cosines(a: np.ndarray, b: np.ndarray) -> str:
    values = np.sum(a * b, axis=1)
    return (f"min {values.min():.4f}, p1 {np.percentile(values, 1):.4f}, "
            f"mean {values.mean():.4f} over {len(values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "instance" / "models")
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--child")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.models_dir, args.passages, args.out)
        return

    with tempfile.TemporaryDirectory() as scratch:
        figures, vectors = {}, {}
        for kind in ("torch", "onnx"):
            figures[kind], vectors[kind] = run(kind, args.models_dir, args.passages, Path(scratch))
            if kind == "onnx" and not figures[kind]["encoder"].startswith("onnx:"):
                sys.exit(f"no ONNX encoder in {args.models_dir}: run flask models prepare")
        for kind, f in figures.items():
            print(f"{kind:5} {f['encoder']}")
            print(f"      load {f['load_s']:.1f} s (after {f['import_s']:.1f} s of the forum's "
                  f"imports), RSS {f['rss_before_mb']:.0f} -> {f['rss_loaded_mb']:.0f} MB "
                  f"(+{f['rss_loaded_mb'] - f['rss_before_mb']:.0f} MB), peak "
                  f"{f['rss_peak_mb']:.0f} MB; torch imported: {f['torch_imported']}")
            print(f"      short query, one thread: p50 {f['query_p50_ms']:.1f} ms, "
                  f"p95 {f['query_p95_ms']:.1f} ms ({f['queries']} seed titles)")
            print(f"      passages, one thread: {f['passages_per_s']:.1f} per second "
                  f"({f['passages']} seed passages)")
        torch, onnx = vectors["torch"], vectors["onnx"]
        print(f"cosine onnx vs torch, queries:  {cosines(onnx['queries'], torch['queries'])}")
        print(f"cosine onnx vs torch, passages: {cosines(onnx['passages'], torch['passages'])}")
        per_post = figures["onnx"]["passages_per_post"]
        hours = 100_000 * per_post / figures["onnx"]["passages_per_s"] / 3600
        torch_hours = 100_000 * per_post / figures["torch"]["passages_per_s"] / 3600
        print(f"100k posts at {per_post:.2f} passages per post (seed): ONNX int8 about "
              f"{hours:.1f} h on one thread ({hours / 2:.1f} h on two), torch {torch_hours:.1f} h")
        speedup = figures["torch"]["query_p50_ms"] / figures["onnx"]["query_p50_ms"]
        print(f"query speed-up {speedup:.1f}x, passages "
              f"{figures['onnx']['passages_per_s'] / figures['torch']['passages_per_s']:.1f}x")


if __name__ == "__main__":
    main()
