"""Moderation quality on a held-out part of the labelled set.

Splits seed/moderation/labelled.csv into a stratified training part and a held-out part (fixed
seed), trains the classifier on the training part (plus the shipped hard negatives; thresholds
are chosen inside training by cross-validation, never on the held-out part), then runs the full
Moderator (lexicon + rules + classifier) and the classifier alone on the held-out part.

"Needs a human" means action review or reject for a post labelled anything but clean.
Targets: recall >= 0.85 with a false-positive rate <= 3% on clean posts. Short clean posts
(at most SHORT_WORDS words: thanks, one-line answers, titles) are also counted on their own,
since a classifier can learn "short" as a sign of abuse.

    python bench/moderation_quality.py [--seed 20250301] [--test-size 0.25] [--show-errors]
"""

import argparse
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation import ModerationConfig, Moderator, read_labelled_csv, train_classifier  # noqa: E402
from moderation.classifier import CLEAN, ToxicityClassifier  # noqa: E402
from moderation.lexicon import read_phrase_file  # noqa: E402
from moderation.verdict import ACTIONS  # noqa: E402

TARGET_RECALL = 0.85
TARGET_FPR = 0.03
SHORT_WORDS = 12
SHORT_CLEAN = "clean, short"


def with_short_clean(texts: list[str], labels: list[str]) -> list[str]:
    """The labels, with clean posts of at most SHORT_WORDS words relabelled SHORT_CLEAN."""
    return [
        SHORT_CLEAN if label == CLEAN and len(text.split()) <= SHORT_WORDS else label
        for text, label in zip(texts, labels, strict=True)
    ]


def needs_human_figures(texts: list[str], labels: list[str], actions: list[str]) -> dict:
    flagged = [label != CLEAN for label in labels]
    held = [action != "allow" for action in actions]
    true_positive = sum(f and h for f, h in zip(flagged, held, strict=True))
    false_positive = sum(h and not f for f, h in zip(flagged, held, strict=True))
    positives = sum(flagged)
    negatives = len(flagged) - positives
    precision = true_positive / (true_positive + false_positive) if any(held) else 0.0
    recall = true_positive / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_label: dict[str, list[bool]] = defaultdict(list)
    for label, was_held in zip(labels, held, strict=True):
        by_label[label].append(was_held)
    for label, was_held in zip(with_short_clean(texts, labels), held, strict=True):
        if label == SHORT_CLEAN:
            by_label[label].append(was_held)
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_positive_rate": false_positive / negatives if negatives else 0.0,
        "held_by_label": {label: sum(v) / len(v) for label, v in sorted(by_label.items())},
        "confusion": Counter(zip(labels, actions, strict=True)),
        "clean_rejected": sum(
            1
            for label, action in zip(labels, actions, strict=True)
            if label == CLEAN and action == "reject"
        ),
    }


def print_figures(title: str, texts: list[str], labels: list[str], actions: list[str]) -> dict:
    figures = needs_human_figures(texts, labels, actions)
    met = figures["recall"] >= TARGET_RECALL and figures["false_positive_rate"] <= TARGET_FPR
    print(f"\n== {title} ==")
    print(
        f"needs a human: precision {figures['precision']:.3f}  recall {figures['recall']:.3f}  "
        f"F1 {figures['f1']:.3f}  FPR on clean {figures['false_positive_rate']:.3%}  "
        f"(target recall >= {TARGET_RECALL}, FPR <= {TARGET_FPR:.0%}: "
        f"{'met' if met else 'NOT met'})"
    )
    print("held (review or reject) by label:")
    for label, rate in figures["held_by_label"].items():
        print(
            f"  {label:12s} {rate:.3f}"
            + ("   <- pass rate is 1 - this" if label in (CLEAN, SHORT_CLEAN) else "")
        )
    print("actions by label:")
    print("  " + " " * 10 + "".join(f"{action:>8s}" for action in ACTIONS))
    for label in sorted({label for label in labels}):
        counts = "".join(f"{figures['confusion'][(label, a)]:8d}" for a in ACTIONS)
        print(f"  {label:10s}{counts}")
    print(f"clean posts rejected: {figures['clean_rejected']}")
    return figures


def evaluate(rows, seed: int, test_size: float, hard_negatives, embedding=None) -> dict:
    """Train on one stratified split and judge its held-out part three ways; `embedding` (a
    moderation.Embedding) adds the sentence-embedding head, as the app does with a real encoder."""
    with_embedding = {"embedding": embedding} if embedding is not None else {}
    texts = [text for text, _ in rows]
    labels = [label for _, label in rows]
    train_texts, test_texts, train_labels, test_labels = train_test_split(
        texts, labels, test_size=test_size, stratify=labels, random_state=seed
    )
    with tempfile.TemporaryDirectory() as folder:
        model_path = Path(folder) / "toxicity.joblib"
        report = train_classifier(
            list(zip(train_texts, train_labels, strict=True)) + hard_negatives,
            model_path,
            **with_embedding,
        )
        classifier = ToxicityClassifier.load(model_path, **with_embedding)
        moderator = Moderator(ModerationConfig(classifier_path=model_path), **with_embedding)
        verdicts = [moderator.check(text) for text in test_texts]
        scores = [classifier.score(text).needs_human for text in test_texts]
    return {
        "report": report,
        "train_size": len(train_texts),
        "texts": test_texts,
        "labels": test_labels,
        "verdicts": verdicts,
        "pipeline": [verdict.action for verdict in verdicts],
        "scores": scores,
        "classifier": [
            "review" if score >= report.review_threshold else "allow" for score in scores
        ],
        "rules": [
            max(
                (r.action for r in v.reasons if r.check != "toxicity_classifier"),
                key=ACTIONS.index,
                default="allow",
            )
            for v in verdicts
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20250301)
    parser.add_argument("--test-size", type=float, default=0.25)
    parser.add_argument(
        "--repeats", type=int, default=1, help="also summarise this many splits (seed, seed+1…)"
    )
    parser.add_argument("--show-errors", action="store_true", help="print misjudged posts")
    args = parser.parse_args()

    config = ModerationConfig()
    rows = read_labelled_csv(config.training_data_path)
    hard_negatives = [(text, CLEAN) for text in read_phrase_file(config.hard_negatives_path)]
    run = evaluate(rows, args.seed, args.test_size, hard_negatives)
    report, test_labels, verdicts = run["report"], run["labels"], run["verdicts"]
    print(
        f"labelled rows {len(rows)}: training {run['train_size']} (+{len(hard_negatives)} hard "
        f"negatives), held out {len(test_labels)}; seed {args.seed}"
    )
    print("held-out labels:", dict(sorted(Counter(test_labels).items())))
    print(
        f"trained in {report.seconds}s; review threshold {report.review_threshold:.3f} "
        f"(cross-validated on training: recall {report.cv_recall:.3f}, "
        f"FPR {report.cv_false_positive_rate:.3%})"
    )
    texts = run["texts"]
    print_figures(
        "full pipeline (lexicon + rules + classifier)", texts, test_labels, run["pipeline"]
    )
    print_figures("classifier alone", texts, test_labels, run["classifier"])
    print_figures("lexicon and rules alone (no classifier)", texts, test_labels, run["rules"])

    print("\nheld posts by check (a post may be held by several):")
    by_check: dict[str, Counter] = defaultdict(Counter)
    for label, verdict in zip(test_labels, verdicts, strict=True):
        for check in {r.check for r in verdict.reasons if r.action != "allow"}:
            by_check[check]["clean" if label == CLEAN else "needs a human"] += 1
    for check, counts in sorted(by_check.items()):
        print(
            f"  {check:22s} needs a human {counts['needs a human']:4d}   clean {counts['clean']:4d}"
        )

    if args.show_errors:
        print("\nclean posts held:")
        for text, label, verdict in zip(run["texts"], test_labels, verdicts, strict=True):
            if label == CLEAN and verdict.action != "allow":
                codes = ", ".join(reason.code for reason in verdict.reasons)
                print(f"  [{verdict.action}] {text[:110]!r}  <- {codes}")
        print("\nposts that need a human but were published:")
        for text, label, verdict in zip(run["texts"], test_labels, verdicts, strict=True):
            if label != CLEAN and verdict.action == "allow":
                print(f"  [{label}] {text[:110]!r}")

    if args.repeats > 1:
        print(f"\n== {args.repeats} splits (recall / FPR on clean) ==")
        print(f"  {'seed':>10s}   {'pipeline':>15s}   {'classifier':>15s}   {'rules':>15s}")
        totals: dict[str, list[tuple[float, float]]] = defaultdict(list)
        held_by_label: dict[str, list[dict[str, float]]] = defaultdict(list)
        for seed in range(args.seed, args.seed + args.repeats):
            split = (
                run if seed == args.seed else evaluate(rows, seed, args.test_size, hard_negatives)
            )
            cells = []
            for name in ("pipeline", "classifier", "rules"):
                figures = needs_human_figures(split["texts"], split["labels"], split[name])
                held_by_label[name].append(figures["held_by_label"])
                pair = (figures["recall"], figures["false_positive_rate"])
                totals[name].append(pair)
                cells.append(f"{pair[0]:.3f} / {pair[1]:.3f}")
            print(f"  {seed:10d}   " + "   ".join(f"{cell:>15s}" for cell in cells))
        means = [
            f"{sum(r for r, _ in v) / len(v):.3f} / {sum(f for _, f in v) / len(v):.3f}"
            for v in totals.values()
        ]
        print(f"  {'mean':>10s}   " + "   ".join(f"{cell:>15s}" for cell in means))
        print(f"\nmean held rate by label over the {args.repeats} splits:")
        print(f"  {'':12s}" + "".join(f"{name:>12s}" for name in held_by_label))
        for label in held_by_label["pipeline"][0]:
            rates = [
                sum(split[label] for split in splits) / len(splits)
                for splits in held_by_label.values()
            ]
            print(f"  {label:12s}" + "".join(f"{rate:12.3f}" for rate in rates))


if __name__ == "__main__":
    main()
