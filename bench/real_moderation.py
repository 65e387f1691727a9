"""Moderation on real Vietnamese comments: the dev splits of ../shared/eval, through the API.

Every comment goes through `POST /api/v1/moderation/check` of an app configured as in
production (the real classifier and sentence encoder, the shipped settings, a moderator's
token; only rate limits and the start-up index sync are off), on the Flask test client. A
comment counts as held when the action is "review" or "reject". Printed per data set: toxic
held (recall) / clean held (false-alarm rate), on the whole dev split and on seeded random
samples of the sizes issue 10 used (ViHSD 200 toxic / 400 clean, ViCTSD 100 / 300), beside

- a trivial baseline computed on the same comments: held when the project's abuse lexicon
  (the bad-word list, seed/moderation/lexicon.tsv) matches anything;
- the team's own held-out set (what bench/moderation_quality.py measures: the labelled set
  split, the classifier trained on one part, the whole Moderator judging the other), with the
  classifier's calibration there (Brier score and a reliability table).

The data are for measuring and choosing thresholds only, never for training. Found at
`<repo>/../shared/eval`, or where FORUM_EVAL_DIR points; skipped with a message when absent.
The sentence model comes from MODELS_PATH (default `<repo>/instance/models`).

    python bench/real_moderation.py [--seed 10] [--no-team] [--no-vihos] [--anchors]
    python bench/real_moderation.py --choose [--target 0.025]

`--choose` prints the review threshold (moderation.classifier.DEV_REVIEW_THRESHOLD): the lowest
at which the whole pipeline holds at most `--target` of the clean comments of each dev split
(ViHSD without the comments in the training file, ViCTSD and ViHOS), with the figures there
(the classifier scored in batches, the rest post by post). `--anchors` adds the TF-IDF anchor,
the span F1 on ViHOS dev and the classifier's calibration on the dev splits.

`measure(app)` returns the table's rows, for other benchmarks to print beside their own.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from flask_migrate import upgrade  # noqa: E402

from forum import create_app  # noqa: E402
from forum.services import accounts, screening  # noqa: E402
from moderation import ModerationConfig, read_labelled_csv  # noqa: E402
from moderation.classifier import CLEAN, ToxicityClassifierCheck  # noqa: E402
from moderation.evaluation import (  # noqa: E402
    EVAL_DIR_ENV,
    Comment,
    choose_threshold,
    dev_sets,
    find_eval_dir,
    held_rates,
    judge,
    review_threshold_of,
    sample_indices,
)
from moderation.lexicon import Lexicon, read_phrase_file  # noqa: E402

SAMPLE_SEED = 10
TEAM_SEED = 20250301


def production_app(instance: str | Path, models_path: str | Path | None = None):
    """The forum as deployed, in `instance`: real classifier, real encoder, shipped settings."""
    instance = Path(instance).resolve()
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'forum.db'}",
            "MODELS_PATH": str(
                models_path or os.environ.get("MODELS_PATH") or ROOT / "instance" / "models"
            ),
            "RATELIMIT_ENABLED": False,  # thousands of checks from one token
            "JOBS_MODE": "inline",
        }
    )
    with app.app_context():
        upgrade()
    return app


def moderator_token(app) -> str:
    with app.app_context():
        user = accounts.find_user("bench_moderator") or accounts.register(
            "bench_moderator", "bench-password-123", role="moderator"
        )
        return accounts.create_api_token(user, "real_moderation bench")


def api_held(app, token: str, texts: list[str]) -> list[bool]:
    """Each text through POST /api/v1/moderation/check: held = review or reject."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    held = []
    for text in texts:
        response = client.post("/api/v1/moderation/check", json={"text": text}, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"check failed with {response.status_code}: {response.get_json()}")
        held.append(response.get_json()["action"] != "allow")
    return held


def bad_word_baseline() -> Lexicon:
    config = ModerationConfig()
    return Lexicon.load(config.lexicon_path, config.allowlist_path)


def _row(name, split, comments, held, baseline) -> dict:
    figures = held_rates(comments, held)
    base = held_rates(comments, baseline)
    return {
        "set": name,
        "split": split,
        "toxic": figures.toxic,
        "clean": figures.clean,
        "toxic_held": figures.toxic_held,
        "clean_held": figures.clean_held,
        "baseline_toxic_held": base.toxic_held,
        "baseline_clean_held": base.clean_held,
    }


def team_held_out(app, seed: int = TEAM_SEED) -> dict:
    """The team's held-out set, as bench/moderation_quality.py splits and judges it, with the
    app's sentence encoder (if it uses one) in the classifier; plus the classifier's calibration."""
    from moderation_quality import evaluate  # bench/moderation_quality.py

    config = ModerationConfig()
    rows = read_labelled_csv(config.training_data_path)
    hard_negatives = [(text, CLEAN) for text in read_phrase_file(config.hard_negatives_path)]
    with app.app_context():
        embedding = app.extensions["moderation"].embedding
    run = evaluate(rows, seed, 0.25, hard_negatives, embedding=embedding)
    lexicon = bad_word_baseline()
    labels = run["labels"]
    comments = [
        Comment(text, label != CLEAN, label)
        for text, label in zip(run["texts"], labels, strict=True)
    ]
    held = [action != "allow" for action in run["pipeline"]]
    baseline = [bool(lexicon.find(text)) for text in run["texts"]]
    row = _row("team's own", "held-out 25%", comments, held, baseline)
    row["calibration"] = calibration(run["scores"], [c.toxic for c in comments])
    return row


def calibration(scores: list[float], toxic: list[bool], bins: int = 5) -> dict:
    """Brier score and a reliability table: per band of P(needs a human), mean P and the share
    of posts that really need one."""
    brier = sum((p - t) ** 2 for p, t in zip(scores, toxic, strict=True)) / len(scores)
    table = []
    for band in range(bins):
        low, high = band / bins, (band + 1) / bins
        inside = [
            (p, t)
            for p, t in zip(scores, toxic, strict=True)
            if low <= p < high or (band == bins - 1 and p == 1.0)
        ]
        if inside:
            table.append(
                {
                    "band": f"{low:.1f}-{high:.1f}",
                    "posts": len(inside),
                    "mean_p": sum(p for p, _ in inside) / len(inside),
                    "share_needing_human": sum(t for _, t in inside) / len(inside),
                }
            )
    return {"brier": brier, "table": table}


def measure(app, eval_dir=None, seed=SAMPLE_SEED, team=True, vihos=True) -> list[dict]:
    """The table's rows: per dev set, the whole split and the issue's sample sizes, each with
    the bad-word baseline; then the team's held-out set. Empty when the eval data are absent."""
    eval_dir = eval_dir or find_eval_dir(ROOT)
    if eval_dir is None:
        return []
    token = moderator_token(app)
    lexicon = bad_word_baseline()
    rows = []
    for evaluated in dev_sets(eval_dir, include_vihos=vihos):
        comments = list(evaluated.comments)
        started = time.perf_counter()
        held = api_held(app, token, [c.text for c in comments])
        seconds = time.perf_counter() - started
        baseline = [bool(lexicon.find(c.text)) for c in comments]
        row = _row(evaluated.name, "dev, whole", comments, held, baseline)
        row["ms_per_check"] = 1000 * seconds / len(comments)
        rows.append(row)
        labels = sorted({c.label for c in comments if c.toxic})
        if len(labels) > 1:  # ViHSD: offensive and hate apart (clean held is the same)
            for label in labels:
                keep = [i for i, c in enumerate(comments) if c.label in (label, "clean")]
                rows.append(
                    _row(
                        evaluated.name,
                        f"dev, {label} only",
                        [comments[i] for i in keep],
                        [held[i] for i in keep],
                        [baseline[i] for i in keep],
                    )
                )
        if evaluated.sample_sizes:
            toxic, clean = evaluated.sample_sizes
            keep = sample_indices(comments, toxic, clean, seed)
            rows.append(
                _row(
                    evaluated.name,
                    f"dev sample {toxic}/{clean}",
                    [comments[i] for i in keep],
                    [held[i] for i in keep],
                    [baseline[i] for i in keep],
                )
            )
    if team:
        rows.append(team_held_out(app))
    return rows


def format_table(rows: list[dict]) -> str:
    """A Markdown table: toxic held / clean held, ours and the bad-word baseline."""
    lines = [
        "| set | split | toxic / clean | held: toxic / clean | bad-word list: toxic / clean |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['set']} | {row['split']} | {row['toxic']} / {row['clean']} | "
            f"{row['toxic_held']:.2f} / {row['clean_held']:.3f} | "
            f"{row['baseline_toxic_held']:.2f} / {row['baseline_clean_held']:.3f} |"
        )
    return "\n".join(lines)


def format_calibration(row: dict) -> str:
    calibration = row["calibration"]
    lines = [
        f"classifier calibration on the team's held-out set: Brier {calibration['brier']:.3f}",
        "  P(needs a human)   posts   mean P   share that needs a human",
    ]
    for band in calibration["table"]:
        lines.append(
            f"  {band['band']:>16s}   {band['posts']:5d}   {band['mean_p']:6.2f}   "
            f"{band['share_needing_human']:6.2f}"
        )
    return "\n".join(lines)


def tfidf_anchor(eval_dir, target: float) -> list[str]:
    """The public anchor, computed the same way: word 1-2-gram TF-IDF + logistic regression
    trained on the shipped ViHOS training copy alone, its threshold the lowest at which every
    dev split holds at most `target` of its clean comments."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from moderation.classifier import read_span_csv
    from moderation.evaluation import Judged

    rows = read_span_csv(ModerationConfig().spans_data_path)
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
        LogisticRegression(max_iter=2000),
    ).fit([text for text, _ in rows], [bool(chars) for text, chars in rows])
    judged = []
    for evaluated in dev_sets(eval_dir):
        comments = list(evaluated.comments)
        scores = model.predict_proba([c.text for c in comments])[:, 1].tolist()
        judged.append((evaluated.name, comments, Judged([False] * len(comments), scores)))
    chosen = choose_threshold([(comments, j) for _, comments, j in judged], target)
    return [
        f"{name} {held_rates(comments, j.held(chosen)).as_text()}" for name, comments, j in judged
    ]


def span_f1(app, eval_dir) -> float:
    """Character F1 of the predicted offending spans on ViHOS dev, per comment and averaged
    (a comment with no span and none predicted counts 1), as ViHOS reports it."""
    from moderation.classifier import read_span_csv
    from moderation.spans import character_f1, span_chars

    with app.app_context():
        moderator = screening.moderator()
    check = next(c for c in moderator.checks if isinstance(c, ToxicityClassifierCheck))
    span_model = check.classifier().span_model
    rows = read_span_csv(Path(eval_dir) / "vi_hate_spans_vihos" / "dev.csv")
    scores = [character_f1(span_chars(span_model.spans(text)), gold) for text, gold in rows]
    return sum(scores) / len(scores)


def dev_calibration(app, eval_dir) -> dict:
    """The classifier's P(needs a human) against the dev splits' labels, all sets together."""
    with app.app_context():
        moderator = screening.moderator()
        scores, toxic = [], []
        for evaluated in dev_sets(eval_dir):
            comments = list(evaluated.comments)
            for comment, score in zip(
                comments, judge(moderator, [c.text for c in comments]).scores, strict=True
            ):
                if score is not None:
                    scores.append(score)
                    toxic.append(comment.toxic)
    return calibration(scores, toxic)


def choose(app, eval_dir, target: float) -> None:
    with app.app_context():
        moderator = screening.moderator()
        current = review_threshold_of(moderator)
        judged = []
        for evaluated in dev_sets(eval_dir):
            comments = list(evaluated.comments)
            judged.append((evaluated.name, comments, judge(moderator, [c.text for c in comments])))
    chosen = choose_threshold([(comments, j) for _, comments, j in judged], target)
    print(f"review threshold for at most {target:.1%} of clean comments held: {chosen:.3f}")
    for threshold, what in ((current, "in force now"), (chosen, "chosen")):
        cells = [
            f"{name} {held_rates(comments, j.held(threshold)).as_text()}"
            for name, comments, j in judged
        ]
        print(f"  at {threshold:.3f} ({what}): toxic / clean held: " + "; ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED, help="seed of the samples")
    parser.add_argument("--no-team", action="store_true", help="skip the team's held-out set")
    parser.add_argument("--no-vihos", action="store_true", help="skip ViHOS")
    parser.add_argument("--instance", help="instance folder (default: a temporary one)")
    parser.add_argument("--choose", action="store_true", help="choose the review threshold")
    parser.add_argument("--target", type=float, default=0.025, help="clean held, for --choose")
    parser.add_argument(
        "--anchors",
        action="store_true",
        help="also the TF-IDF anchor at the target, span F1 and calibration on the dev splits",
    )
    args = parser.parse_args()

    eval_dir = find_eval_dir(ROOT)
    if eval_dir is None:
        print(
            f"skipped: no evaluation data at {ROOT.parent / 'shared' / 'eval'} "
            f"(set {EVAL_DIR_ENV} to the folder holding vi_hate_vihsd/ and vi_toxic_victsd/)"
        )
        return
    with tempfile.TemporaryDirectory() as folder:
        app = production_app(args.instance or folder)
        if args.choose:
            choose(app, eval_dir, args.target)
            return
        started = time.perf_counter()
        rows = measure(app, eval_dir, args.seed, team=not args.no_team, vihos=not args.no_vihos)
        print(f"evaluation data: {eval_dir}; samples seeded {args.seed}")
        print(format_table(rows))
        for row in rows:
            if "ms_per_check" in row:
                print(f"{row['set']}: {row['ms_per_check']:.1f} ms per API check")
            if "calibration" in row:
                print(format_calibration(row))
        if args.anchors:
            print(
                f"TF-IDF + LR anchor (ViHOS train), at most {args.target:.1%} clean held: "
                + "; ".join(tfidf_anchor(eval_dir, args.target))
            )
            print(f"ViHOS dev span F1 (character level): {span_f1(app, eval_dir):.3f}")
            print(
                format_calibration({"calibration": dev_calibration(app, eval_dir)}).replace(
                    "the team's held-out set", "the dev splits"
                )
            )
        print(f"{time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
