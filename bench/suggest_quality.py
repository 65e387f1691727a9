"""Answer suggestions: how often a correct past answer is among the 3 suggested, and how long
producing suggestions takes.

A new question succeeds when one of the 3 suggested answers belongs to a thread the team marked as
answering it. Timing covers suggestions.rank(): similar-question search, candidate answers,
ranking and passage selection (model warm).

    python bench/suggest_quality.py                      # on the seed (quality and timing)
    python bench/suggest_quality.py --large DIR [--database-url URL]
                                                         # timing on bench/seed_large.py's forum
"""

import argparse
import json
import time
from pathlib import Path

from common import ROOT, percentile, read_jsonl, seeded_app, thread_ids_by_key

from forum import create_app
from forum.indexing import search_engine
from forum.services import suggestions


def time_rank(questions, repeat=1):
    times = []
    for _ in range(repeat):
        for row in questions:
            started = time.perf_counter()
            suggestions.rank(row["title"], row["body"])
            times.append((time.perf_counter() - started) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default=str(ROOT / "bench" / "out" / "quality"))
    parser.add_argument("--large", help="instance folder made by bench/seed_large.py")
    parser.add_argument("--database-url", help="the large forum's database (default: its SQLite)")
    args = parser.parse_args()
    questions = read_jsonl("suggest_questions_*.jsonl")
    if args.large:
        # The encoder the large index was built with (seed_large.py: the fake one, since
        # embedding 400k posts with the model takes hours): its vectors are the ones stored.
        manifest = json.loads((Path(args.large) / "bench_manifest.json").read_text())
        encoder = manifest.get("search_encoder") or "sentence-transformers"
        print(f"encoder: {encoder}")
        app = create_app(
            {
                "INSTANCE_PATH": args.large,
                "SEARCH_ENCODER": encoder,
                **({"SQLALCHEMY_DATABASE_URI": args.database_url} if args.database_url else {}),
                "JOBS_MODE": "inline",
                "SEARCH_FOLLOW_IN_PROCESS": True,
                "RATELIMIT_ENABLED": False,
                "MODELS_PATH": str(ROOT / "instance" / "models"),
            }
        )
        with app.app_context():
            engine = search_engine()
            engine.warm()
            print(f"large forum: {engine.stats()}")
            time_rank(questions[:5])
            times = time_rank(questions)
            print(
                f"suggestions for {len(times)} questions: p50 {percentile(times, 50):.0f} ms, "
                f"p95 {percentile(times, 95):.0f} ms"
            )
        return
    app = seeded_app(args.instance)
    with app.app_context():
        ids = thread_ids_by_key()
        search_engine().warm()
        hits, times = 0, []
        misses = []
        for row in questions:
            relevant = {ids[key] for key in row["relevant"]}
            started = time.perf_counter()
            ranked = suggestions.rank(row["title"], row["body"])
            times.append((time.perf_counter() - started) * 1000)
            if any(c.answer.thread_id in relevant for c in ranked[:3]):
                hits += 1
            else:
                misses.append(row["title"])
        print(
            f"\n{len(questions)} new questions: a correct past answer in the top 3 for "
            f"{hits / len(questions):.2f} of them (target 0.80)"
        )
        print(
            f"time to suggest (seed, {len(ids)} threads): p50 {percentile(times, 50):.0f} ms, "
            f"p95 {percentile(times, 95):.0f} ms"
        )
        for title in misses[:10]:
            print(f"  missed: {title}")


if __name__ == "__main__":
    main()
