"""Search and answer suggestions on real community questions (UIT-ViCoV19QA dev split), by the
recipe of ../shared/eval/README.md, end to end through `flask import`'s importer and the API.

Threads have a neutral title and question body and one answer: an `Answer_1` text, either of a
question we will ask or of a distractor from the train file. Each question is asked through
`GET /api/v1/search` as typed and without diacritics, in every mode; a hit is the thread that
holds its own answer (recall@10, MRR@10). Suggestions: each question is posted through
`POST /api/v1/questions` and its `GET .../suggestions` read: is that thread in the top 3?
Trivial baselines are computed on the same corpus and queries: BM25 (bm25s) over syllables,
multilingual-e5-small over whole answers, plain reciprocal-rank fusion of the two, and BM25 on
folded text for the queries typed without diacritics.

The dev files are read where they are and never copied; the forum (database, index, vectors)
is kept in bench/out/ and reused on the next run with the same corpus.

    python bench/real_search.py [--questions 120] [--distractors 480 | --full] [--seed 0]
        [--engine whoosh|tantivy] [--rebuild-keyword] [--no-suggestions] [--json FILE]
"""

import argparse
import csv
import hashlib
import json
import os
import random
import re
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CORPUS = "vi_cqa_vicov19qa"
MODES = ("keyword", "semantic", "hybrid")
RRF_K = 60
NEUTRAL_TITLE = "Chủ đề số {n} trong nhóm"
NEUTRAL_BODY = "Mời mọi người xem câu trả lời bên dưới."


def eval_dir() -> Path | None:
    """../shared/eval beside the repository (or XUTRA_EVAL_DIR), when it is there."""
    path = Path(os.environ.get("XUTRA_EVAL_DIR", ROOT.parent / "shared" / "eval"))
    return path if (path / CORPUS).is_dir() else None


def read_pipe_csv(path: Path) -> list[dict]:
    csv.field_size_limit(1 << 24)
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="|"))


def clean(text: str | None) -> str:
    return " ".join((text or "").split())


def fold(text: str) -> str:
    """Diacritics removed as the recipe says: NFD, drop combining marks, đ -> d."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def build_corpus(source: Path, questions: int, distractors: int | None, seed: int):
    """(queries, threads): each query {id, question, answer_key}; each thread {key, answer}."""
    val = [r for r in read_pipe_csv(source / "4_ans_val.csv")
           if clean(r.get("Question")) and clean(r.get("Answer_1"))]
    train = [r for r in read_pipe_csv(source / "1_ans_train.csv")
             if clean(r.get("Question")) and clean(r.get("Answer_1"))]
    rng = random.Random(seed)
    asked = rng.sample(val, questions) if questions and questions < len(val) else list(val)
    asked_answers = {clean(r["Answer_1"]) for r in asked}
    pool = [r for r in train if clean(r["Answer_1"]) not in asked_answers]
    others = pool if distractors is None else rng.sample(pool, min(distractors, len(pool)))
    threads, seen = [], set()
    for prefix, rows in (("val", asked), ("train", others)):
        for row in rows:
            answer = clean(row["Answer_1"])
            if answer in seen:
                continue
            seen.add(answer)
            threads.append({"key": f"{prefix}-{row['id']}", "answer": answer})
    rng.shuffle(threads)
    by_answer = {t["answer"]: t["key"] for t in threads}
    queries = [
        {"id": row["id"], "question": clean(row["Question"]),
         "thread_key": by_answer[clean(row["Answer_1"])]}
        for row in asked
    ]
    return queries, threads


def import_threads(threads) -> None:
    """Through the forum's own JSONL importer (what `flask import` runs)."""
    from forum.importer import import_lines

    lines = []
    for number, thread in enumerate(threads, start=1):
        lines.append(json.dumps({
            "key": f"real:{thread['key']}",
            "title": NEUTRAL_TITLE.format(n=number),
            "body": NEUTRAL_BODY,
            "tags": ["hỏi đáp"],
            "author": "nhom_hoi_dap",
            "created_at": "2025-06-01T08:00:00+07:00",
            "answers": [{"body": thread["answer"], "author": "thanh_vien_tra_loi",
                         "created_at": "2025-06-01T09:00:00+07:00", "accepted": True}],
        }, ensure_ascii=False))
    report = import_lines(lines, create_authors=True)  # the two bench members, made once
    if report.errors:
        print(f"import: {len(report.errors)} lines refused, first: {report.errors[0]}")
    print(f"import: {report.imported} threads imported, {report.skipped_existing} already there")


def make_app(instance: Path, model: str, engine: str = "whoosh"):
    from forum import create_app

    instance.mkdir(parents=True, exist_ok=True)
    return create_app({
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'forum.db'}",
        "MODELS_PATH": os.environ.get("MODELS_PATH", str(ROOT / "instance" / "models")),
        "SEARCH_MODEL": model,
        "SEARCH_ENGINE": engine,
        "JOBS_MODE": "inline",
        "SEARCH_FOLLOW_IN_PROCESS": True,
        "RATELIMIT_ENABLED": False,
    })


def thread_ids_by_key() -> dict[str, int]:
    from sqlalchemy import select

    from forum.extensions import db
    from forum.models import Thread

    rows = db.session.execute(select(Thread.import_key, Thread.id)).all()
    prefix = "seed:real:"  # the importer keeps a record's own key as "seed:<key>"
    return {key.removeprefix(prefix): tid for key, tid in rows if key and key.startswith(prefix)}


def first_rank(ranked: list, wanted) -> int | None:
    for rank, item in enumerate(ranked[:10], start=1):
        if item == wanted:
            return rank
    return None


def summary(ranks: list[int | None]) -> tuple[float, float]:
    """(recall@10, MRR@10)."""
    n = len(ranks)
    return sum(r is not None for r in ranks) / n, sum(1 / r for r in ranks if r) / n


def api_ranks(client, queries, ids, mode, folded) -> list[int | None]:
    ranks = []
    for query in queries:
        text = fold(query["question"]) if folded else query["question"]
        response = client.get("/api/v1/search", query_string={"q": text, "mode": mode,
                                                              "limit": 10})
        if response.status_code != 200:
            raise SystemExit(f"search answered {response.status_code}: {response.get_data()!r}")
        threads = []
        for hit in response.get_json()["results"]:
            if hit["question_id"] not in threads:
                threads.append(hit["question_id"])
        ranks.append(first_rank(threads, ids[query["thread_key"]]))
    return ranks


def syllables(text: str) -> list[str]:
    return re.findall(r"\w+", unicodedata.normalize("NFC", text).lower())


def baseline_ranks(queries, threads, encoder, cache: Path) -> dict[str, list[int | None]]:
    """BM25, e5 and plain RRF on the same corpus and queries, outside the forum."""
    import bm25s

    keys = [t["key"] for t in threads]

    def bm25_rankings(transform):
        retriever = bm25s.BM25()
        retriever.index([syllables(transform(t["answer"])) for t in threads], show_progress=False)
        out = []
        for query in queries:
            tokens = syllables(transform(query["question"]))
            scores = retriever.get_scores(tokens) if tokens else np.zeros(len(keys))
            order = np.argsort(-scores, kind="stable")[:100]
            out.append([keys[i] for i in order if scores[i] > 0])
        return out

    vectors_file = cache / f"baseline-e5-{_digest(keys)}.npy"
    if vectors_file.exists():
        passages = np.load(vectors_file)
    else:
        started = time.perf_counter()
        passages = encoder.encode_passages([t["answer"] for t in threads])
        np.save(vectors_file, passages)
        seconds = time.perf_counter() - started
        print(f"baseline e5: {len(threads)} answers embedded in {seconds:.0f}s")
    query_vectors = encoder.encode_queries([q["question"] for q in queries])
    e5 = [[keys[i] for i in np.argsort(-(passages @ v))[:100]] for v in query_vectors]
    bm25 = bm25_rankings(lambda text: text)
    folded_bm25 = bm25_rankings(fold)
    rrf = [_rrf(a, b) for a, b in zip(bm25, e5, strict=True)]
    wanted = [q["thread_key"] for q in queries]
    return {
        name: [first_rank(ranking, key) for ranking, key in zip(rankings, wanted, strict=True)]
        for name, rankings in (("BM25", bm25), ("e5", e5), ("RRF(BM25, e5)", rrf),
                               ("folded BM25", folded_bm25))
    }


def _rrf(*rankings):
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + 1 / (RRF_K + rank)
    return sorted(scores, key=lambda key: -scores[key])


def _digest(items) -> str:
    return hashlib.blake2b("\n".join(items).encode(), digest_size=8).hexdigest()


def suggestion_ranks(client, queries, ids) -> tuple[list[int | None], list[float]]:
    """Post each question as a member, read its suggestions, then delete the question so that
    the next one sees the same corpus."""
    from forum.extensions import db
    from forum.models import Thread
    from forum.services import accounts, posts

    member = accounts.find_user("hoi_thu_real") or accounts.register(
        "hoi_thu_real", "matkhau-bench-2026")
    admin = accounts.find_user("quantri_real") or accounts.register(
        "quantri_real", "matkhau-bench-2026", role="admin")
    token = accounts.create_api_token(member, "real-bench")
    headers = {"Authorization": f"Bearer {token}"}
    ranks, seconds = [], []
    for query in queries:
        question = query["question"]
        title = question if len(question) <= 150 else question[:147].rsplit(" ", 1)[0] + "…"
        body = question if len(question) >= 20 else f"{question} (câu hỏi của thành viên)"
        started = time.perf_counter()
        response = client.post("/api/v1/questions", headers=headers,
                               json={"title": title, "body": body, "tags": ["covid-19"]})
        if response.status_code != 201:
            raise SystemExit(f"asking answered {response.status_code}: {response.get_data()!r}")
        thread_id = response.get_json()["id"]
        listed = client.get(f"/api/v1/questions/{thread_id}/suggestions", headers=headers)
        seconds.append(time.perf_counter() - started)
        found = [s["question_id"] for s in listed.get_json()["suggestions"]][:3]
        ranks.append(first_rank(found, ids[query["thread_key"]]))
        thread = db.session.get(Thread, thread_id)
        posts.delete_post(admin, thread.question)
        db.session.expire_all()
    return ranks, seconds


def drop_keyword_index(app) -> None:
    """Forget the keyword index only: the next sync re-analyses every post, reusing vectors."""
    import shutil

    from search.backends import LocalIndex

    engine = app.extensions.pop("search", None)
    if engine is not None:
        engine.close()
    index_dir = Path(app.config["SEARCH_INDEX_PATH"])
    shutil.rmtree(LocalIndex.keyword_dir(index_dir, app.config["SEARCH_ENGINE"]),
                  ignore_errors=True)


def measure(args) -> dict:
    """Run the recipe; return every figure (also printed)."""
    source = eval_dir()
    if source is None:
        print("../shared/eval is not here: the real-text search benchmark is skipped.")
        return {}
    source = source / CORPUS
    distractors = None if args.full else args.distractors
    queries, threads = build_corpus(source, args.questions, distractors, args.seed)
    name = f"real-{args.seed}-{len(queries)}-{len(threads)}-{args.model}"
    instance = ROOT / "bench" / "out" / name
    # Both engines share the instance (database, vectors); each has its own keyword folder.
    app = make_app(instance, args.model, args.engine)
    from flask_migrate import upgrade

    from forum.extensions import db
    from forum.indexing import search_engine, sync_index

    figures = {"questions": len(queries), "threads": len(threads), "seed": args.seed,
               "engine": args.engine}
    with app.app_context():
        upgrade()
        import_threads(threads)
        if args.rebuild_keyword:
            drop_keyword_index(app)
        started = time.perf_counter()
        report = sync_index()
        print(f"index: {report.added} added, {report.embedded_passages} passages embedded in "
              f"{time.perf_counter() - started:.0f}s; encoder {search_engine().encoder.name}")
        ids = thread_ids_by_key()
        client = app.test_client()
        for mode in MODES:
            for folded in (False, True):
                ranks = api_ranks(client, queries, ids, mode, folded)
                figures[f"{mode}/{'folded' if folded else 'typed'}"] = summary(ranks)
        baselines = baseline_ranks(queries, threads, search_engine().encoder, instance)
        for label, ranks in baselines.items():
            figures[f"baseline {label}"] = summary(ranks)
        if not args.no_suggestions:
            ranks, seconds = suggestion_ranks(client, queries, ids)
            figures["suggestions top-3"] = sum(r is not None for r in ranks) / len(ranks)
            figures["suggestions p50 s"] = float(np.percentile(seconds, 50))
        db.session.remove()
    print_table(figures)
    return figures


def print_table(figures: dict) -> None:
    print(f"\nReal questions (ViCoV19QA dev), {figures['questions']} questions over "
          f"{figures['threads']} threads, sample seed {figures['seed']}, keyword engine "
          f"{figures.get('engine', 'whoosh')}: recall@10 / MRR@10")
    print(f"{'':<24}{'as typed':>16}{'without diacritics':>22}")
    for mode in MODES:
        typed, folded = figures[f"{mode}/typed"], figures[f"{mode}/folded"]
        print(f"{'forum ' + mode:<24}{typed[0]:>9.3f} / {typed[1]:.3f}"
              f"{folded[0]:>15.3f} / {folded[1]:.3f}")
    for label in ("BM25", "e5", "RRF(BM25, e5)"):
        r10, mrr = figures[f"baseline {label}"]
        extra = ""
        if label == "BM25":
            f10, fmrr = figures["baseline folded BM25"]
            extra = f"{f10:>15.3f} / {fmrr:.3f}  (folded BM25)"
        print(f"{'baseline ' + label:<24}{r10:>9.3f} / {mrr:.3f}{extra}")
    if "suggestions top-3" in figures:
        print(f"answer suggestions, right answer in the top 3: {figures['suggestions top-3']:.3f} "
              f"(ask + suggest p50 {figures['suggestions p50 s'] * 1000:.0f} ms)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=120, help="dev questions asked (0: all 500)")
    p.add_argument("--distractors", type=int, default=480, help="train answers added")
    p.add_argument("--full", action="store_true", help="all 3,500 train answers as distractors")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="auto")
    p.add_argument("--engine", choices=("whoosh", "tantivy"), default="whoosh",
                   help="the keyword engine (SEARCH_ENGINE)")
    p.add_argument("--rebuild-keyword", action="store_true",
                   help="rebuild the keyword index (keeps stored vectors), after analysis changes")
    p.add_argument("--no-suggestions", action="store_true")
    p.add_argument("--json", help="also write the figures to this file")
    return p


def main():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = parser().parse_args()
    figures = measure(args)
    if args.json and figures:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
