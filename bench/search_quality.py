"""Search quality on the team's query set: recall@1, recall@10 and MRR per mode and query style.

A query succeeds at k when one of its relevant threads (a question or any of its answers) is
among the first k threads returned; MRR uses the rank of the first relevant thread.

    python bench/search_quality.py [--instance bench/out/quality] [--model auto]
"""

import argparse
from collections import defaultdict

from common import ROOT, read_jsonl, seeded_app, thread_ids_by_key

from forum.indexing import search_engine

MODES = ("keyword", "semantic", "hybrid")


def ranked_threads(engine, query, mode, k=10):
    """Thread ids in result order, each once (a thread's best hit counts)."""
    seen = []
    for hit in engine.search(query, mode=mode, limit=50).hits:
        if hit.question_id not in seen:
            seen.append(hit.question_id)
        if len(seen) == k:
            break
    return seen


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", default=str(ROOT / "bench" / "out" / "quality"))
    parser.add_argument("--model", default="auto")
    args = parser.parse_args()
    app = seeded_app(args.instance, model=args.model)
    with app.app_context():
        ids = thread_ids_by_key()
        engine = search_engine()
        queries = read_jsonl("search_queries_*.jsonl")
        totals = {mode: defaultdict(list) for mode in MODES}
        for row in queries:
            relevant = {ids[key] for key in row["relevant"]}
            for mode in MODES:
                ranks = [
                    i
                    for i, t in enumerate(ranked_threads(engine, row["query"], mode), 1)
                    if t in relevant
                ]
                first = ranks[0] if ranks else None
                for group in ("all", row["style"]):
                    totals[mode][group].append(first)
        print(f"\n{len(queries)} queries ({len(ids)} threads); recall@1 / recall@10 / MRR")
        groups = ["all"] + sorted({row["style"] for row in queries})
        print(f"{'style':<14}{'n':>4}  " + "  ".join(f"{mode:^20}" for mode in MODES))
        for group in groups:
            cells = []
            for mode in MODES:
                firsts = totals[mode][group]
                r1 = sum(f == 1 for f in firsts) / len(firsts)
                r10 = sum(f is not None for f in firsts) / len(firsts)
                mrr = sum(1 / f for f in firsts if f) / len(firsts)
                cells.append(f"{r1:.2f} / {r10:.2f} / {mrr:.2f}")
            print(
                f"{group:<14}{len(totals['hybrid'][group]):>4}  "
                + "  ".join(f"{c:^20}" for c in cells)
            )


if __name__ == "__main__":
    main()
