"""Moderation speed: checks per second and latency of the full pipeline on realistic posts.

Posts are the labelled set's texts (questions, answers, abuse, spam, scams; short and long),
each with a title half of the time and a context with recent posts and similar questions so
every check does its work. The model is loaded (or trained, if missing) and warmed first.
Target: p95 <= 30 ms per post on one core. Also prints p50/p95 for each named check.

    taskset -c 0 python bench/moderation_speed.py [--posts 1000]
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation import (  # noqa: E402
    ModerationConfig,
    Moderator,
    PostContext,
    RecentPost,
    SimilarQuestion,
    read_labelled_csv,
    train_classifier,
    training_rows,
)
from moderation.context import Post  # noqa: E402
from moderation.moderator import span_training_rows  # noqa: E402

TARGET_P95_MS = 30.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def realistic_posts(count: int) -> list[tuple[str, str | None, PostContext]]:
    texts = [text for text, _ in read_labelled_csv(ModerationConfig().training_data_path)]
    now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    posts = []
    for index in range(count):
        body = texts[index % len(texts)]
        title = texts[(index * 7 + 3) % len(texts)][:80] if index % 2 else None
        recent = tuple(
            RecentPost(texts[(index + k) % len(texts)], now - timedelta(minutes=7 * k))
            for k in range(1, 6)
        )
        similar = (
            SimilarQuestion(1, "ChatGPT có miễn phí không?", 0.91),
            SimilarQuestion(2, "Cách cài Gemini trên điện thoại", 0.62),
        )
        context = PostContext(
            author_age_days=index % 30,
            recent_posts=recent,
            now=now,
            is_question=title is not None,
            similar_questions=similar,
        )
        posts.append((body, title, context))
    return posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        config = ModerationConfig(classifier_path=Path(folder) / "toxicity.joblib")
        report = train_classifier(
            training_rows(config),
            config.classifier_path,
            folds=0,
            span_rows=span_training_rows(config),
        )
        print(f"model trained on {report.rows} rows in {report.seconds}s")
        moderator = Moderator(config)
        posts = realistic_posts(args.posts)
        for body, title, context in posts[:50]:  # warm up: load the model, fill caches
            moderator.check(body, title=title, context=context)

        totals = []
        cpu = []  # CPU time of this thread: what a check costs a core, whatever else runs
        started = time.perf_counter()
        for body, title, context in posts:
            begin, begin_cpu = time.perf_counter(), time.thread_time()
            moderator.check(body, title=title, context=context)
            totals.append((time.perf_counter() - begin) * 1000)
            cpu.append((time.thread_time() - begin_cpu) * 1000)
        elapsed = time.perf_counter() - started

        per_check: dict[str, list[float]] = defaultdict(list)
        for body, title, context in posts:
            post = Post(body=body, title=title or "")
            for check in moderator.checks:
                begin = time.perf_counter()
                list(check.run(post, context))
                per_check[check.name].append((time.perf_counter() - begin) * 1000)

    p95 = percentile(totals, 0.95)
    lengths = [len(body) + len(title or "") for body, title, _ in posts]
    print(f"{len(posts)} posts, {statistics.mean(lengths):.0f} characters on average")
    print(f"full pipeline: {len(posts) / elapsed:.0f} posts/s")
    print(
        f"latency per post: p50 {percentile(totals, 0.5):.2f} ms, p95 {p95:.2f} ms, "
        f"max {max(totals):.2f} ms (target p95 <= {TARGET_P95_MS:.0f} ms: "
        f"{'met' if p95 <= TARGET_P95_MS else 'NOT met'})"
    )
    print(
        f"CPU time per post (unaffected by other processes on the machine): "
        f"p50 {percentile(cpu, 0.5):.2f} ms, p95 {percentile(cpu, 0.95):.2f} ms"
    )
    print("per check:")
    for name, values in per_check.items():
        p50, p95_check = percentile(values, 0.5), percentile(values, 0.95)
        print(f"  {name:22s} p50 {p50:6.2f} ms   p95 {p95_check:6.2f} ms")


if __name__ == "__main__":
    main()
