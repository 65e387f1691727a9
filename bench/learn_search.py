"""Search before and after the forum learns from its own answered threads (`flask search learn`),
on real community questions (UIT-ViCoV19QA), by the one use of the train file that
../shared/eval/README.md allows beyond measuring.

The forum's history: the 3,500 threads of 1_ans_train.csv, each with its real question (title and
body) and its answer, accepted, as a forum's own would be. The answers of the 500 dev questions
sit in threads with neutral titles (the recipe of bench/real_search.py), so a dev question can
only find its thread through the answer. The dev questions are asked through /api/v1/search, as
typed and without diacritics, in every mode, before and after learning (recall@10, MRR@10: a hit
is the thread holding the question's own answer), and posted for answer suggestions (top 3).
Baselines on the same corpus and queries: BM25 (bm25s, syllables), plain RRF of BM25 and the
base e5 over whole answers, folded BM25 without diacritics.

Learning runs the real command in a subprocess under /usr/bin/time -v (its peak memory), niced;
then this node's follower notices the new model version, re-embeds into a new index folder and
switches (its rate is reported). The dev split is never trained on: its threads are posted by
a member of their own (DEV_AUTHOR), whom the command is told to leave out (--exclude-author).

Everything lives in a temporary instance folder (default /tmp/xutra-learn-bench): learned weights
are never written into the repository.

    nice -n 10 python bench/learn_search.py [--instance DIR] [--no-suggestions] [--max-pairs N]
        [--skip-learn] [--json FILE]
"""

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.real_search import (  # noqa: E402  (the path above makes the package importable)
    CORPUS,
    MODES,
    NEUTRAL_BODY,
    NEUTRAL_TITLE,
    api_ranks,
    baseline_ranks,
    clean,
    eval_dir,
    make_app,
    read_pipe_csv,
    suggestion_ranks,
    summary,
    thread_ids_by_key,
)

DEV_AUTHOR = "nhom_tham_khao"  # posts the dev answers' neutral threads; never learned from
HISTORY_AUTHOR = "nhom_hoi_dap"


def build_history(source: Path, seed: int = 0):
    """(queries, records): the dev questions to ask, and the forum's threads to import (JSONL
    records): 3,500 train threads with their real questions, the dev answers under neutral
    titles, shuffled together."""
    val = [r for r in read_pipe_csv(source / "4_ans_val.csv")
           if clean(r.get("Question")) and clean(r.get("Answer_1"))]
    train = [r for r in read_pipe_csv(source / "1_ans_train.csv")
             if clean(r.get("Question")) and clean(r.get("Answer_1"))]
    threads, seen = [], set()
    for row in val:
        answer = clean(row["Answer_1"])
        if answer not in seen:
            seen.add(answer)
            threads.append({"key": f"val-{row['id']}", "answer": answer, "question": None})
    for row in train:
        answer = clean(row["Answer_1"])
        if answer not in seen:
            seen.add(answer)
            threads.append({"key": f"train-{row['id']}", "answer": answer,
                            "question": clean(row["Question"])})
    random.Random(seed).shuffle(threads)
    by_answer = {t["answer"]: t["key"] for t in threads}
    queries = [{"id": r["id"], "question": clean(r["Question"]),
                "thread_key": by_answer[clean(r["Answer_1"])]} for r in val]
    return queries, threads


def title_and_body(question: str) -> tuple[str, str]:
    """A real question as a member would post it (the title's and body's length limits)."""
    title = question if len(question) <= 150 else question[:147].rsplit(" ", 1)[0] + "…"
    body = question if len(question) >= 20 else f"{question} (câu hỏi của thành viên)"
    return title, body


def import_history(threads) -> None:
    from forum.importer import import_lines

    lines = []
    for number, thread in enumerate(threads, start=1):
        if thread["question"] is None:
            title, body, author = NEUTRAL_TITLE.format(n=number), NEUTRAL_BODY, DEV_AUTHOR
        else:
            (title, body), author = title_and_body(thread["question"]), HISTORY_AUTHOR
        lines.append(json.dumps({
            "key": f"real:{thread['key']}", "title": title, "body": body, "tags": ["hỏi đáp"],
            "author": author, "created_at": "2025-06-01T08:00:00+07:00",
            "answers": [{"body": thread["answer"], "author": "thanh_vien_tra_loi",
                         "created_at": "2025-06-01T09:00:00+07:00", "accepted": True}],
        }, ensure_ascii=False))
    report = import_lines(lines, create_authors=True)
    if report.errors:
        print(f"import: {len(report.errors)} lines refused, first: {report.errors[0]}")
    print(f"import: {report.imported} threads imported, {report.skipped_existing} already there")


def measure_search(app, queries, suggestions: bool) -> dict:
    from forum.extensions import db
    from forum.indexing import search_engine

    figures = {}
    with app.app_context():
        ids = thread_ids_by_key()
        client = app.test_client()
        figures["encoder"] = search_engine().encoder.name
        for mode in MODES:
            for folded in (False, True):
                ranks = api_ranks(client, queries, ids, mode, folded)
                figures[f"{mode}/{'folded' if folded else 'typed'}"] = summary(ranks)
        if suggestions:
            ranks, seconds = suggestion_ranks(client, queries, ids)
            figures["suggestions top-3"] = sum(r is not None for r in ranks) / len(ranks)
        db.session.remove()
    return figures


def run_learn(instance: Path, engine: str, max_pairs: int | None) -> dict:
    """`flask --app forum search learn` in a subprocess, niced, under /usr/bin/time -v."""
    models = instance / "models"  # the command reads the prepared base model from here
    if not models.exists():
        models.symlink_to(Path(os.environ.get("MODELS_PATH", ROOT / "instance" / "models")))
    env = {**os.environ, "FORUM_INSTANCE_PATH": str(instance), "PYTHONPATH": str(ROOT),
           "SEARCH_ENGINE": engine}
    command = ["nice", "-n", "10", "/usr/bin/time", "-v", sys.executable, "-m", "flask",
               "--app", "forum", "search", "learn", "--exclude-author", DEV_AUTHOR]
    if max_pairs:
        command += ["--max-pairs", str(max_pairs)]
    load_before = os.getloadavg()
    started = time.perf_counter()
    process = subprocess.run(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        print(process.stderr[-4000:])
        raise SystemExit(f"search learn failed ({process.returncode})")
    return {**learn_figures(process.stderr), "learn seconds": seconds,
            "load average before/after": [round(load_before[0], 1),
                                          round(os.getloadavg()[0], 1)]}


def learn_figures(time_output: str) -> dict:
    """Wall time and peak memory from /usr/bin/time -v's report."""
    timing = time_output[time_output.rfind("Command being timed"):]
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", timing)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", timing)
    return {"learn peak MB": int(peak.group(1)) / 1024 if peak else None,
            "learn wall": wall.group(1) if wall else None}


def print_table(before: dict, after: dict, baselines: dict) -> None:
    print("\nViCoV19QA dev, 500 questions over the forum's 3,500 threads with real questions plus "
          "the dev answers in neutral threads: recall@10 / MRR@10")
    print(f"{'':<28}{'before, typed':>16}{'after, typed':>16}{'before, folded':>18}"
          f"{'after, folded':>16}")
    for mode in MODES:
        cells = [before[f"{mode}/typed"], after.get(f"{mode}/typed"), before[f"{mode}/folded"],
                 after.get(f"{mode}/folded")]
        print(f"{'forum ' + mode:<28}" + "".join(
            f"{c[0]:>9.3f} / {c[1]:.3f}" if c else f"{'-':>16}" for c in cells))
    for label, (r10, mrr) in baselines.items():
        print(f"{'baseline ' + label:<28}{r10:>9.3f} / {mrr:.3f}")
    if "suggestions top-3" in before:
        print(f"answer suggestions, right answer in the top 3: before "
              f"{before['suggestions top-3']:.3f}, after {after.get('suggestions top-3', '-')}")
    print(f"encoders: before {before['encoder']}, after {after.get('encoder', '-')}")


def main():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instance", type=Path, default=Path("/tmp/xutra-learn-bench"))
    parser.add_argument("--engine", choices=("whoosh", "tantivy"), default="tantivy",
                        help="the keyword engine: ~8,000 documents, past Whoosh's comfortable size")
    parser.add_argument("--no-suggestions", action="store_true")
    parser.add_argument("--max-pairs", type=int, help="learn from at most this many threads")
    parser.add_argument("--skip-learn", action="store_true", help="measure before only")
    parser.add_argument("--learned", type=Path, metavar="LOG",
                        help="the command already ran (its /usr/bin/time -v output in LOG): "
                             "switch and measure after")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    source = eval_dir()
    if source is None:
        print("../shared/eval is not here: the learning benchmark is skipped.")
        return
    queries, threads = build_history(source / CORPUS)
    instance = args.instance
    app = make_app(instance, "auto", args.engine)
    from flask_migrate import upgrade

    from forum.indexing import apply_search_changes, search_engine

    figures = {"threads": len(threads), "questions": len(queries)}
    with app.app_context():
        upgrade()
        import_history(threads)
        started = time.perf_counter()
        report = apply_search_changes()  # a model version learned on an earlier run: switches
        if report.switched is not None:
            print(f"switch: {report.switched}")
        if report.rebuilt is not None:
            print(f"index built: {report.rebuilt.added} documents, "
                  f"{report.rebuilt.embedded_passages} passages embedded in "
                  f"{time.perf_counter() - started:.0f}s")
        base_encoder = search_engine().encoder

    before_file = instance / "before.json"
    if before_file.exists():
        before = json.loads(before_file.read_text())
    else:
        before = measure_search(app, queries, not args.no_suggestions)
        before_file.write_text(json.dumps(before))
    baselines_file = instance / "baselines.json"
    if baselines_file.exists():
        baselines = json.loads(baselines_file.read_text())
    else:
        answers = [{"key": t["key"], "answer": t["answer"]} for t in threads]
        baselines = {label: summary(ranks) for label, ranks in
                     baseline_ranks(queries, answers, base_encoder, instance).items()}
        baselines_file.write_text(json.dumps(baselines))
    figures.update(before=before, baselines=baselines)

    after = {}
    if not args.skip_learn:
        figures["learn"] = (learn_figures(args.learned.read_text()) if args.learned
                            else run_learn(instance, args.engine, args.max_pairs))
        print(f"learn: {figures['learn']}")
        # A fresh process's view: its follower finds the new active version.
        app = make_app(instance, "auto", args.engine)
        with app.app_context():
            load = os.getloadavg()[0]
            started = time.perf_counter()
            report = apply_search_changes()  # the follower notices the version and switches
            seconds = time.perf_counter() - started
            switch = app.extensions.get("search_model_switch")
            if switch is not None:
                figures["switch"] = {**switch, "seconds": seconds, "load average": round(load, 1)}
                print(f"switch: {figures['switch']}")
        after = measure_search(app, queries, not args.no_suggestions)
        figures["after"] = after
    figures["bench peak MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print_table(before, after, baselines)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
