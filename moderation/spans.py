"""Which words offend: a word-level model learned from ViHOS's character spans.

ViHOS marks, in 8,844 real comments, the characters of every hateful or offensive span. Each
word of a comment becomes one training example: offending when any of its characters is in a
span. A word is described by itself as typed and folded (no diacritics), its neighbours two
either side, the word pairs it is part of and its folded letter trigrams, so that "ngu" in
"ngu vcl" and "ngủ" in "đi ngủ" are told apart and unseen spellings ("ngudot") still share
letters with known ones. The features are hashed (no vocabulary to store) and a logistic loss
is fitted by stochastic gradient descent: seconds, not minutes, on the whole set.

The model answers, per word, P(this word offends). Words at or above `span_threshold` are the
post's offending spans: shown to moderators in the review queue, and read by the policy (are
the offending words only casual swearing, and is anyone addressed?).
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import SGDClassifier

from .text import fold

WORD = re.compile(r"\w+")
HASHED_FEATURES = 2**20
# Chosen on ViHOS dev (character F1 0.778 at 0.5, 0.771 at 0.6, 0.763 at 0.4).
DEFAULT_SPAN_THRESHOLD = 0.5
DEFAULT_ALPHA = 1e-5  # ViHOS dev character F1: 0.778 at 1e-5, 0.738 at 1e-6
EPOCHS = 20

_hasher = FeatureHasher(n_features=HASHED_FEATURES, input_type="dict", alternate_sign=False)


@dataclass(frozen=True)
class Word:
    text: str  # lowercase, as typed
    start: int
    end: int


def words(text: str) -> list[Word]:
    return [Word(m.group().lower(), m.start(), m.end()) for m in WORD.finditer(text)]


def _features(found: Sequence[Word]) -> list[dict[str, int]]:
    typed = [word.text for word in found]
    folded = [fold(word) for word in typed]
    features = []
    for i, word in enumerate(typed):
        own = {"w=" + word: 1, "f=" + folded[i]: 1, f"len={min(len(word), 6)}": 1}
        for step in (-2, -1, 1, 2):
            j = i + step
            neighbour = folded[j] if 0 <= j < len(typed) else ("<s>" if j < 0 else "</s>")
            own[f"f{step:+d}={neighbour}"] = 1
        if i > 0:
            own[f"bf-={folded[i - 1]}_{folded[i]}"] = 1
            own[f"bw-={typed[i - 1]}_{word}"] = 1
        if i < len(typed) - 1:
            own[f"bf+={folded[i]}_{folded[i + 1]}"] = 1
            own[f"bw+={word}_{typed[i + 1]}"] = 1
        padded = f"^{folded[i]}$"
        for a in range(len(padded) - 2):
            own["c3=" + padded[a : a + 3]] = 1
        features.append(own)
    return features


def word_labels(text: str, offending_chars: Iterable[int]) -> tuple[list[Word], list[int]]:
    """The words of `text`, each labelled 1 when one of its characters is in a span."""
    chars = set(offending_chars)
    found = words(text)
    return found, [int(any(c in chars for c in range(w.start, w.end))) for w in found]


class SpanModel:
    """P(offends) per word; `spans` joins offending words into character ranges."""

    def __init__(self, model: SGDClassifier, threshold: float = DEFAULT_SPAN_THRESHOLD):
        self.model = model
        self.threshold = threshold

    @classmethod
    def train(
        cls, rows: Iterable[tuple[str, Iterable[int]]], alpha: float = DEFAULT_ALPHA, seed: int = 0
    ) -> "SpanModel":
        """Train on (text, offending character offsets) rows."""
        features: list[dict[str, int]] = []
        labels: list[int] = []
        for text, chars in rows:
            found, flags = word_labels(text, chars)
            features += _features(found)
            labels += flags
        if len(set(labels)) < 2:
            raise ValueError("span training needs offending and ordinary words")
        model = SGDClassifier(
            loss="log_loss", alpha=alpha, max_iter=EPOCHS, tol=None, random_state=seed
        )
        return cls(model.fit(_hasher.transform(features), np.array(labels)))

    def word_probabilities(self, text: str) -> tuple[list[Word], np.ndarray]:
        found = words(text)
        if not found:
            return found, np.zeros(0)
        return found, self.model.predict_proba(_hasher.transform(_features(found)))[:, 1]

    def offending_words(self, text: str) -> list[tuple[Word, float]]:
        found, probabilities = self.word_probabilities(text)
        return [
            (word, float(p))
            for word, p in zip(found, probabilities, strict=True)
            if p >= self.threshold
        ]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """[start, end) character ranges of the offending words; neighbours separated by one
        space or character are one span ("ngu vcl" -> one range), as ViHOS marks them."""
        ranges: list[tuple[int, int]] = []
        for word, _ in self.offending_words(text):
            if ranges and word.start - ranges[-1][1] <= 1:
                ranges[-1] = (ranges[-1][0], word.end)
            else:
                ranges.append((word.start, word.end))
        return ranges


def character_f1(predicted: Iterable[int], gold: Iterable[int]) -> float:
    """ViHOS's per-comment F1 over character offsets; two empty sets agree (1.0)."""
    predicted, gold = set(predicted), set(gold)
    if not predicted and not gold:
        return 1.0
    overlap = len(predicted & gold)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(gold)
    return 2 * precision * recall / (precision + recall)


def span_chars(ranges: Iterable[tuple[int, int]]) -> list[int]:
    return [c for start, end in ranges for c in range(start, end)]
