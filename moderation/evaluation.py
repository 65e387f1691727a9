"""Measuring moderation on comments nobody on the team wrote: the public development sets.

The team's own labelled set is written by one hand and is far easier than real traffic, so the
figures that matter come from public Vietnamese comment sets kept beside the repository in
`<repo>/../shared/eval` (or the folder named by FORUM_EVAL_DIR). Their licences allow research
use only: they are read to measure and to choose thresholds, never to train a model, and
nothing of them is copied into the repository.

A comment counts as held when the action is "review" or "reject". Two figures per set: the share
of toxic comments held (recall) and the share of clean comments held (false alarms, the costly
error for a forum), on the whole split and on seeded random samples of fixed sizes.
"""

import csv
import os
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EVAL_DIR_ENV = "FORUM_EVAL_DIR"


@dataclass(frozen=True)
class Comment:
    text: str
    toxic: bool
    label: str  # the set's own label, spelled out ("clean", "offensive", "hate", "toxic")


@dataclass(frozen=True)
class EvalSet:
    """One development split; `sample_sizes` (toxic, clean) are the sizes the issue sampled."""

    name: str
    comments: tuple[Comment, ...]
    sample_sizes: tuple[int, int] | None = None


@dataclass(frozen=True)
class Figures:
    toxic: int
    clean: int
    toxic_held: float
    clean_held: float

    def as_text(self) -> str:
        return f"{self.toxic_held:.2f} / {self.clean_held:.3f}"


def find_eval_dir(repo_root: str | Path) -> Path | None:
    """FORUM_EVAL_DIR if set, else `<repo>/../shared/eval`; None when the folder is absent."""
    setting = os.environ.get(EVAL_DIR_ENV)
    folder = Path(setting) if setting else Path(repo_root).resolve().parent / "shared" / "eval"
    return folder if folder.is_dir() else None


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _vihsd(path: Path) -> tuple[Comment, ...]:
    names = {"0": "clean", "1": "offensive", "2": "hate"}
    return tuple(
        Comment(row["free_text"], row["label_id"] != "0", names[row["label_id"]])
        for row in _rows(path)
        if row["free_text"].strip()
    )


def _victsd(path: Path) -> tuple[Comment, ...]:
    return tuple(
        Comment(
            row["Comment"], row["Toxicity"] == "1", "toxic" if row["Toxicity"] == "1" else "clean"
        )
        for row in _rows(path)
        if row["Comment"].strip()
    )


def _vihos(path: Path) -> tuple[Comment, ...]:
    # A comment with no hateful span ("[]") is clean.
    return tuple(
        Comment(row["content"], row["index_spans"].strip() != "[]",
                "clean" if row["index_spans"].strip() == "[]" else "toxic")
        for row in _rows(path)
        if row["content"].strip()
    )  # fmt: skip


def overlap_key(text: str) -> str:
    """How the data sets' overlap is found: lower-cased, whitespace collapsed, NFC."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text).lower()).strip()


def training_keys() -> set[str]:
    """overlap_key of every comment in the shipped ViHOS training copy (ViHOS was cut from
    ViHSD: 469 ViHSD dev comments are in it)."""
    from .moderator import SEED

    with open(SEED / "vihos" / "train.csv", encoding="utf-8", newline="") as handle:
        return {overlap_key(row["content"]) for row in csv.DictReader(handle)}


def dev_sets(folder: str | Path, include_vihos: bool = True) -> list[EvalSet]:
    """ViHSD and ViCTSD development splits (and ViHOS's), whichever files are present; ViHSD
    without the comments that are in the training data."""
    folder = Path(folder)
    found = [
        ("ViHSD", folder / "vi_hate_vihsd" / "dev.csv", _vihsd, (200, 400)),
        ("ViCTSD", folder / "vi_toxic_victsd" / "ViCTSD_valid.csv", _victsd, (100, 300)),
    ]
    if include_vihos:
        found.append(("ViHOS", folder / "vi_hate_spans_vihos" / "dev.csv", _vihos, None))
    trained = training_keys()
    sets = []
    for name, path, reader, sizes in found:
        if path.exists():
            comments = reader(path)
            if name == "ViHSD":
                comments = tuple(c for c in comments if overlap_key(c.text) not in trained)
            sets.append(EvalSet(name, comments, sizes))
    return sets


def sample_indices(comments: Sequence[Comment], toxic: int, clean: int, seed: int) -> list[int]:
    """A seeded random sample of `toxic` toxic and `clean` clean comments (indices)."""
    rng = random.Random(seed)
    toxic_ids = [i for i, comment in enumerate(comments) if comment.toxic]
    clean_ids = [i for i, comment in enumerate(comments) if not comment.toxic]
    return sorted(
        rng.sample(toxic_ids, min(toxic, len(toxic_ids)))
        + rng.sample(clean_ids, min(clean, len(clean_ids)))
    )


def held_rates(comments: Sequence[Comment], held: Sequence[bool]) -> Figures:
    toxic = [was_held for comment, was_held in zip(comments, held, strict=True) if comment.toxic]
    clean = [
        was_held for comment, was_held in zip(comments, held, strict=True) if not comment.toxic
    ]
    return Figures(
        len(toxic),
        len(clean),
        sum(toxic) / len(toxic) if toxic else 0.0,
        sum(clean) / len(clean) if clean else 0.0,
    )


@dataclass(frozen=True)
class Judged:
    """Per comment: held by the checks other than the classifier, the classifier's score
    (None where it does not judge) and whether the policy over the spans keeps a post the score
    would hold held (False: casual swearing aimed at nobody, published with a nudge). Held by
    the whole Moderator = rules, or score >= review and the policy holds."""

    rules_held: list[bool]
    scores: list[float | None]
    policy_holds: list[bool] | None = None

    def held(self, review_threshold: float) -> list[bool]:
        policy = self.policy_holds or [True] * len(self.scores)
        return [
            rules or (score is not None and score >= review_threshold and holds)
            for rules, score, holds in zip(self.rules_held, self.scores, policy, strict=True)
        ]


def judge(moderator, texts: Sequence[str]) -> Judged:
    """What `moderator` decides on each text, with the classifier scored in batches (the
    sentence encoder is far faster on a batch than one text at a time)."""
    from .classifier import ToxicityClassifierCheck
    from .context import Post
    from .moderator import Moderator

    classifier = next(c for c in moderator.checks if isinstance(c, ToxicityClassifierCheck))
    rules = Moderator(moderator.config, checks=[c for c in moderator.checks if c is not classifier])
    return Judged(
        [rules.check(text).action != "allow" for text in texts],
        classifier.scores(list(texts)),
        [classifier.held_after_policy(Post(body=text)) for text in texts],
    )


def review_threshold_of(moderator) -> float:
    from .classifier import ToxicityClassifierCheck

    check = next(c for c in moderator.checks if isinstance(c, ToxicityClassifierCheck))
    return check.thresholds()[0]


def choose_threshold(
    judged: Sequence[tuple[Sequence[Comment], Judged]], target_clean_held: float
) -> float:
    """The lowest review threshold at which every set holds at most `target_clean_held` of its
    clean comments (rules included), from the scores themselves as candidates."""
    candidates = sorted({s for _, j in judged for s in j.scores if s is not None})
    for threshold in candidates + [1.0 + 1e-9]:
        if all(
            held_rates(comments, j.held(threshold)).clean_held <= target_clean_held
            for comments, j in judged
        ):
            return threshold
    return 1.0 + 1e-9
