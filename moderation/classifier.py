"""The toxicity classifier: character and word n-gram TF-IDF and logistic regression, trained
from the labelled set, with calibrated probabilities and thresholds chosen on out-of-fold
predictions.

Character 2–5-grams on the text as typed (NFC, lowercase) and on a folded copy (no diacritics)
handle Vietnamese written with or without marks and teencode, and in our measurements do about
as well as sentence embeddings + logistic regression on Vietnamese toxic comments, at a
fraction of the cost. Folded characters alone make "đủ" look like "đụ" and "đám mây là gì"
like "mày là cái gì", which held short ordinary replies; words and word pairs as typed ("đủ
dùng", "du lịch") let the model tell them apart. One multinomial model learns every label;
"needs a human" is 1 - P(clean), calibrated by Platt scaling on out-of-fold predictions, and
the most likely non-clean label names the reason.

Character n-grams know spelling, not meaning: on real comments they held harmless short
remarks about people (names, @mentions, slang, no diacritics) that look like nothing in the
labelled set. Given an `Embedding` (a sentence encoder, such as the multilingual-e5-small
model search already loads), a second head, logistic regression over the sentence vectors,
scores the same labels by meaning; each head is Platt-calibrated on out-of-fold predictions,
their probabilities are averaged, and the average is calibrated once more, so thresholds keep
reading as probabilities. Without an embedding the n-gram head is used alone.
"""

import ast
import csv
import json
import logging
import math
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from .context import Post, PostContext
from .spans import SpanModel
from .text import fold
from .verdict import Nudge, Reason, Span

log = logging.getLogger(__name__)

CLEAN = "clean"
OFFENSIVE = "offensive"
LABELS = ("clean", "offensive", "hate", "threat", "spam", "scam")
# (Vietnamese, English) description of each label, for messages.
LABEL_TEXT = {
    "offensive": ("lời lẽ xúc phạm hoặc thô tục", "offensive or vulgar language"),
    "hate": ("nội dung kỳ thị, thù ghét", "hateful or discriminatory content"),
    "threat": ("lời đe dọa", "a threat"),
    "spam": ("quảng cáo, spam", "advertising or spam"),
    "scam": ("dấu hiệu lừa đảo", "signs of a scam"),
}
# Regularisation of the n-gram head (SGD, logistic loss). On the dev splits, at 3 % of ViHSD's
# clean comments held, alpha 1e-5 / 3e-5 caught 0.46 / 0.47 of ViHSD's toxic comments and a
# LogisticRegression(C=10) 0.49, but took 70 s to fit on the 10.9k rows against SGD's 23 s.
DEFAULT_ALPHA = 3e-5
DEFAULT_C = DEFAULT_ALPHA  # the name callers used for the n-gram head's regularisation
# Regularisation of the embedding head. Out of fold on the team's set, C = 1 / 4 / 16 gave a
# log-loss of 0.29 / 0.25 / 0.23 for the head and 0.161 / 0.150 / 0.144 for the mixed model:
# a middle value keeps the head less sure of itself on text unlike the team's.
DEFAULT_HEAD_C = 4.0
# The review threshold of a model trained without out-of-fold runs (folds=0: the app's own
# training and `flask moderation train`). Chosen with `bench/real_moderation.py --choose
# --target 0.025` on the public dev splits (ViHSD dev without the comments in the training file,
# ViCTSD valid, ViHOS dev; measured, never trained on): the lowest P(needs a human) at which the
# whole pipeline holds at most 2.5 % of each set's clean comments, leaving room under the 3 %
# target for the held-out test splits. It belongs to the model the shipped data train (this
# n-gram head and the span model, no embedding head); choose again after changing either.
DEV_REVIEW_THRESHOLD = 0.954
# Stored with a model; a model built with other features is retrained rather than used.
FEATURES = (
    "char_wb 2-5 TF-IDF on lowercase NFC text + on folded text; "
    "word 1-2 TF-IDF on lowercase NFC text; SGD logistic loss; word span model"
)


@dataclass(frozen=True)
class Embedding:
    """A sentence encoder for the embedding head. `name` identifies its vector space: a model
    trained with one encoder is retrained, never scored, with another. `encode` turns texts
    into an (n, dim) array of vectors."""

    name: str
    encode: Callable[[list[str]], np.ndarray]


def lowercase_nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).lower()


def build_pipeline(c: float = DEFAULT_ALPHA) -> Pipeline:
    """The n-gram head; `c` is the SGD's alpha (larger: more regularised)."""
    def char_ngrams(preprocessor):
        return TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(2, 5),
            preprocessor=preprocessor,
            sublinear_tf=True,
            min_df=2,
            dtype=np.float32,
        )

    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        preprocessor=lowercase_nfc,
        token_pattern=r"(?u)\b\w+\b",  # one-letter teencode words count too: "k", "e", "đ"
        sublinear_tf=True,
        min_df=2,
        dtype=np.float32,
    )
    features = FeatureUnion(
        [
            ("typed", char_ngrams(lowercase_nfc)),
            ("folded", char_ngrams(fold)),
            ("words", words),
        ]
    )
    model = SGDClassifier(loss="log_loss", alpha=c, max_iter=30, tol=None, random_state=0)
    return Pipeline([("features", features), ("model", model)])


def read_labelled_csv(path: str | Path) -> list[tuple[str, str]]:
    """(text, label) rows of a CSV with at least the columns text and label."""
    with open(path, encoding="utf-8", newline="") as handle:
        return [(row["text"], row["label"].strip()) for row in csv.DictReader(handle)]


def read_span_csv(path: str | Path) -> list[tuple[str, list[int]]]:
    """(content, offending character offsets) rows of a ViHOS-style CSV (`content`,
    `index_spans` as a list literal such as "[3, 4, 5]"; "[]" is a clean comment)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return [
            (row["content"], sorted({int(i) for i in ast.literal_eval(row["index_spans"])}))
            for row in csv.DictReader(handle)
            if row["content"].strip()
        ]


@dataclass(frozen=True)
class TrainReport:
    """What a training run produced, with out-of-fold figures at the chosen review threshold."""

    model_path: str
    metadata_path: str
    rows: int
    label_counts: dict[str, int]
    review_threshold: float
    reject_threshold: float | None
    cv_recall: float | None
    cv_false_positive_rate: float | None
    cv_precision: float | None
    trained_at: str
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def train_classifier(
    rows: Iterable[tuple[str, str]],
    out_path: str | Path,
    *,
    target_false_positive_rate: float = 0.02,
    folds: int = 5,
    c: float = DEFAULT_C,
    seed: int = 0,
    embedding: Embedding | None = None,
    head_c: float = DEFAULT_HEAD_C,
    span_rows: Iterable[tuple[str, Iterable[int]]] | None = None,
) -> TrainReport:
    """Train on (text, label) rows, choose thresholds, save the model and `<out>.json` metadata.

    `span_rows` ((text, offending character offsets), ViHOS's form) train the word span model
    saved beside the heads: which words of a held post offend. `folds=0` skips the
    out-of-fold runs (a fit per fold per head): no Platt calibration, no cross-validated
    figures, and the review threshold is DEV_REVIEW_THRESHOLD, chosen on the dev splits; what
    the app does on a first start.

    With an `embedding`, an embedding head is trained beside the n-gram one and the saved
    model scores with both (see the module's docstring).

    Labels other than "clean" all mean "needs a human". The review threshold is the lowest whose
    out-of-fold false-positive rate on clean rows is within `target_false_positive_rate`. There
    is no reject threshold: the classifier says how likely a post needs a human, not how severe
    it is, so refusing a post is left to explainable findings (severe lexicon entries, known
    scams); a config may still set one.
    """
    started = time.monotonic()
    pairs = [(text, label) for text, label in rows if text and text.strip()]
    texts = [text for text, _ in pairs]
    labels = np.array([label for _, label in pairs])
    flagged = labels != CLEAN
    smaller_side = min(int(flagged.sum()), int((~flagged).sum()))
    if smaller_side < 2:
        raise ValueError("training needs at least 2 clean and 2 non-clean rows")

    folds = min(folds, smaller_side)
    cross_validated = folds >= 2
    slope, intercept = 1.0, 0.0  # the identity: no calibration without out-of-fold scores
    if cross_validated:
        out_of_fold = _out_of_fold_needs_human(
            texts, labels, folds, lambda: build_pipeline(c), seed
        )
        slope, intercept = _platt(out_of_fold, flagged)
        calibrated = _calibrate(out_of_fold, slope, intercept)
    saved: dict = {"pipeline": build_pipeline(c).fit(texts, labels)}
    saved.update(slope=slope, intercept=intercept)
    if span_rows is not None:
        saved["spans"] = SpanModel.train(span_rows, seed=seed)
    if embedding is not None:
        vectors = np.asarray(embedding.encode(texts), dtype=np.float32)
        head_slope, head_intercept, mix_slope, mix_intercept = 1.0, 0.0, 1.0, 0.0
        if cross_validated:
            head_out_of_fold = _out_of_fold_needs_human(
                vectors, labels, folds, lambda: build_head(head_c), seed
            )
            head_slope, head_intercept = _platt(head_out_of_fold, flagged)
            mixed = (calibrated + _calibrate(head_out_of_fold, head_slope, head_intercept)) / 2
            mix_slope, mix_intercept = _platt(mixed, flagged)
            calibrated = _calibrate(mixed, mix_slope, mix_intercept)
        saved.update(
            head=build_head(head_c).fit(vectors, labels),
            head_slope=head_slope,
            head_intercept=head_intercept,
            mix_slope=mix_slope,
            mix_intercept=mix_intercept,
        )
    held = None
    review_threshold = DEV_REVIEW_THRESHOLD
    if cross_validated:
        review_threshold = _review_threshold(calibrated, flagged, target_false_positive_rate)
        held = calibrated >= review_threshold

    pipeline = saved["pipeline"]
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(saved, out_path)
    report = TrainReport(
        model_path=str(out_path),
        metadata_path=str(metadata_path_for(out_path)),
        rows=len(pairs),
        label_counts=dict(sorted(Counter(labels.tolist()).items())),
        review_threshold=review_threshold,
        reject_threshold=None,
        cv_recall=float(held[flagged].mean()) if held is not None else None,
        cv_false_positive_rate=float(held[~flagged].mean()) if held is not None else None,
        cv_precision=(float(flagged[held].mean()) if held.any() else 0.0)
        if held is not None
        else None,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=round(time.monotonic() - started, 1),
    )
    metadata = {
        **report.to_dict(),
        "labels": [str(label) for label in pipeline.classes_],
        "features": FEATURES,
        "model": f"SGD logistic loss (alpha={c}), "
        + ("Platt-calibrated " if cross_validated else "")
        + "P(not clean)"
        + (
            f"; averaged with LogisticRegression(C={head_c}) on sentence vectors, recalibrated"
            if embedding is not None
            else ""
        ),
        "embedding": embedding.name if embedding is not None else None,
        "span_model": span_rows is not None,
        "sklearn_version": sklearn.__version__,
    }
    metadata_path_for(out_path).write_text(
        json.dumps(metadata, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return report


def metadata_path_for(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def build_head(c: float = DEFAULT_HEAD_C) -> LogisticRegression:
    """The embedding head: one multinomial logistic regression over sentence vectors."""
    return LogisticRegression(C=c, max_iter=3000)


def _needs_human(model, inputs) -> np.ndarray:
    classes = list(model.classes_)
    probabilities = model.predict_proba(inputs)
    if CLEAN not in classes:
        return np.ones(len(inputs))
    return 1.0 - probabilities[:, classes.index(CLEAN)]


def _out_of_fold_needs_human(inputs, labels, folds: int, make_model, seed: int) -> np.ndarray:
    """P(not clean) of each row from a model that did not see it; `inputs` are texts or vectors.
    The same seed gives both heads the same folds."""
    # Stratify on the labels when every label can be split that many ways, else on clean/flagged.
    counts = Counter(labels.tolist())
    strata = labels if min(counts.values()) >= folds else (labels != CLEAN)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = np.zeros(len(inputs))
    is_text = not isinstance(inputs, np.ndarray)
    rows = np.array(inputs, dtype=object) if is_text else inputs
    for train, test in splitter.split(rows, strata):
        train_rows = rows[train].tolist() if is_text else rows[train]
        test_rows = rows[test].tolist() if is_text else rows[test]
        scores[test] = _needs_human(make_model().fit(train_rows, labels[train]), test_rows)
    return scores


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _platt(scores: np.ndarray, flagged: np.ndarray) -> tuple[float, float]:
    calibrator = LogisticRegression(C=1e4).fit(_logit(scores).reshape(-1, 1), flagged)
    return float(calibrator.coef_[0, 0]), float(calibrator.intercept_[0])


def _calibrate(scores: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(slope * _logit(scores) + intercept)))


def _review_threshold(scores: np.ndarray, flagged: np.ndarray, target_fpr: float) -> float:
    clean_scores = np.sort(scores[~flagged])[::-1]
    allowed = math.floor(target_fpr * len(clean_scores))
    if allowed >= len(clean_scores):
        return 0.5
    # Just above the highest clean score that would exceed the allowance.
    return float(np.nextafter(clean_scores[allowed], 1.0))


@dataclass(frozen=True)
class Score:
    needs_human: float
    label: str


class ToxicityClassifier:
    """A trained model and its metadata; `score` is safe to call from several threads."""

    def __init__(self, saved: dict, metadata: dict, embedding: Embedding | None = None):
        self.pipeline: Pipeline = saved["pipeline"]
        self.slope: float = saved["slope"]
        self.intercept: float = saved["intercept"]
        self.head: LogisticRegression | None = saved.get("head")
        self.span_model: SpanModel | None = saved.get("spans")
        self.saved = saved
        self.embedding = embedding if self.head is not None else None
        self.metadata = metadata
        self.review_threshold: float = metadata["review_threshold"]
        self.reject_threshold: float | None = metadata.get("reject_threshold")

    @classmethod
    def load(cls, path: str | Path, embedding: Embedding | None = None) -> "ToxicityClassifier":
        """Load a model saved by `train_classifier`; refuse one from another scikit-learn, built
        with other features than this code builds, or for another sentence encoder (or for
        one when none is given, or the reverse)."""
        metadata = json.loads(metadata_path_for(path).read_text(encoding="utf-8"))
        if metadata.get("sklearn_version") != sklearn.__version__:
            raise ValueError(
                f"model trained with scikit-learn {metadata.get('sklearn_version')}, "
                f"this is {sklearn.__version__}"
            )
        if metadata.get("features") != FEATURES:
            raise ValueError(f"model built with other features: {metadata.get('features')}")
        wanted = embedding.name if embedding is not None else None
        if metadata.get("embedding") != wanted:
            raise ValueError(
                f"model built for sentence encoder {metadata.get('embedding')!r}, "
                f"this is {wanted!r}"
            )
        return cls(joblib.load(path), metadata, embedding)

    def score(self, text: str) -> Score:
        return self.score_many([text])[0]

    def score_many(self, texts: list[str]) -> list[Score]:
        """Scores of several texts at once (one call to the sentence encoder)."""
        if not texts:
            return []
        classes = list(self.pipeline.classes_)
        probabilities = self.pipeline.predict_proba(texts)
        needs_human = _calibrate(self._raw(probabilities, classes), self.slope, self.intercept)
        if self.head is not None:
            vectors = np.asarray(self.embedding.encode(list(texts)), dtype=np.float32)
            head_probabilities = self.head.predict_proba(vectors)
            head_needs_human = _calibrate(
                self._raw(head_probabilities, list(self.head.classes_)),
                self.saved["head_slope"],
                self.saved["head_intercept"],
            )
            needs_human = _calibrate(
                (needs_human + head_needs_human) / 2,
                self.saved["mix_slope"],
                self.saved["mix_intercept"],
            )
            if list(self.head.classes_) == classes:
                probabilities = (probabilities + head_probabilities) / 2
        scores = []
        for row, value in zip(probabilities, needs_human, strict=True):
            flagged = [(p, label) for p, label in zip(row, classes, strict=True) if label != CLEAN]
            label = max(flagged)[1] if flagged else CLEAN
            scores.append(Score(float(value), str(label)))
        return scores

    @staticmethod
    def _raw(probabilities: np.ndarray, classes: list) -> np.ndarray:
        if CLEAN not in classes:
            return np.ones(len(probabilities))
        return 1.0 - probabilities[:, classes.index(CLEAN)]


class ClassifierLoader:
    """Loads the model once, on first use; trains and saves it first if it is missing or stale.

    A fresh install has no model file: the first post checked trains one from the shipped
    data (the team's labelled set and ViHOS, about half a minute) and every later post uses it.
    A failure is remembered for `retry_after_s` so that a broken data set does not retrain on
    every post.
    """

    def __init__(
        self,
        model_path: str | Path,
        training_rows: Callable[[], Iterable[tuple[str, str]]],
        retry_after_s: float = 300,
        embedding: Embedding | None = None,
        span_rows: Callable[[], Iterable[tuple[str, Iterable[int]]]] | None = None,
    ):
        self.model_path = Path(model_path)
        self.training_rows = training_rows
        self.span_rows = span_rows
        self.embedding = embedding
        self.retry_after_s = retry_after_s
        self._classifier: ToxicityClassifier | None = None
        self._failure: tuple[float, Exception] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> ToxicityClassifier:
        if self._classifier is not None:
            return self._classifier
        with self._lock:
            if self._classifier is None:
                if self._failure and time.monotonic() - self._failure[0] < self.retry_after_s:
                    raise RuntimeError("classifier unavailable") from self._failure[1]
                try:
                    self._classifier = self._load_or_train()
                except Exception as error:
                    self._failure = (time.monotonic(), error)
                    raise
            return self._classifier

    def _load_or_train(self) -> ToxicityClassifier:
        try:
            return ToxicityClassifier.load(self.model_path, self.embedding)
        except FileNotFoundError:
            log.info("No moderation model at %s; training one", self.model_path)
        except Exception as error:
            log.warning("Moderation model at %s unusable (%s); retraining", self.model_path, error)
        # One fit per head, no out-of-fold runs: the thresholds in force are the config's.
        report = train_classifier(
            self.training_rows(),
            self.model_path,
            embedding=self.embedding,
            folds=0,
            span_rows=self.span_rows() if self.span_rows is not None else None,
        )
        log.info(
            "Trained moderation model on %d rows in %.1fs, saved to %s (review threshold %.3f)",
            report.rows,
            report.seconds,
            self.model_path,
            report.review_threshold,
        )
        return ToxicityClassifier.load(self.model_path, self.embedding)


class ToxicityClassifierCheck:
    """Holds a post whose P(needs a human) reaches the review threshold; rejects above the
    reject threshold, if there is one. Thresholds come from the config, else from training.

    The policy over the model: the span model names the offending words; when they are only
    casual swearing aimed at nobody (`casual_swearing`, the abuse lexicon's rule) the post is
    published with the lexicon's nudge instead of held. The reason carries the offending
    words' spans, which the review queue highlights."""

    name = "toxicity_classifier"

    def __init__(
        self,
        classifier: Callable[[], ToxicityClassifier],
        review_threshold: float | None = None,
        reject_threshold: float | None = None,
        casual_swearing: Callable[[Post, list[Span]], bool] | None = None,
    ):
        self.classifier = classifier
        self.review_threshold = review_threshold
        self.reject_threshold = reject_threshold
        self.casual_swearing = casual_swearing

    def thresholds(self) -> tuple[float, float | None]:
        """(review, reject) in force: the config's, else the ones chosen at training."""
        classifier = self.classifier()
        review_at = self.review_threshold
        if review_at is None:
            review_at = classifier.review_threshold
        reject_at = self.reject_threshold
        if reject_at is None:
            reject_at = classifier.reject_threshold
        return review_at, reject_at

    def scores(self, texts: list[str]) -> list[float | None]:
        """P(needs a human) of many full texts at once, None where `run` would not judge; for
        measuring (the policy over spans is applied by `held_after_policy`)."""
        judged = [index for index, text in enumerate(texts) if any(c.isalpha() for c in text)]
        found: list[float | None] = [None] * len(texts)
        for start in range(0, len(judged), 64):
            batch = judged[start : start + 64]
            scored = self.classifier().score_many([texts[index] for index in batch])
            for index, score in zip(batch, scored, strict=True):
                found[index] = score.needs_human
        return found

    def offending_spans(self, post: Post) -> list[Span]:
        """The words of the post the span model says offend (empty without a span model)."""
        span_model = self.classifier().span_model
        if span_model is None:
            return []
        return [
            Span(field, start, end)
            for field, text in post.fields()
            for start, end in span_model.spans(text)
        ]

    def held_after_policy(self, post: Post) -> bool:
        """For a post the score would hold: does the policy keep it held?"""
        return not (
            self.casual_swearing is not None
            and self.casual_swearing(post, self.offending_spans(post))
        )

    def run(self, post: Post, context: PostContext) -> list[Reason | Nudge]:
        if not any(char.isalpha() for char in post.full_text):
            return []  # "+1", "👍", "": no words to judge, and a guess would hold them
        score = self.classifier().score(post.full_text)
        review_at, reject_at = self.thresholds()
        if score.needs_human < review_at:
            return []
        offending = self.offending_spans(post)
        if self.casual_swearing is not None and self.casual_swearing(post, offending):
            return []  # the abuse lexicon's check gives the nudge
        what_vi, what_en = LABEL_TEXT.get(score.label, (score.label, score.label))
        percent = f"{min(score.needs_human, 0.99):.0%}"
        spans = tuple(offending)
        if reject_at is not None and score.needs_human >= reject_at:
            return [
                Reason(
                    code=f"classifier_{score.label}",
                    message_vi=f"Hệ thống tự động nhận thấy bài viết rất có thể chứa {what_vi} "
                    f"(độ tin cậy {percent}) nên chưa thể đăng. Bạn vui lòng sửa lại nhé.",
                    message_en=f"The automatic check found the post very likely contains "
                    f"{what_en} ({percent} confidence); it cannot be published. "
                    "Please edit it.",
                    score=score.needs_human,
                    action="reject",
                    spans=spans,
                    check=self.name,
                )
            ]
        return [
            Reason(
                code=f"classifier_{score.label}",
                message_vi=f"Hệ thống tự động nhận thấy bài viết có thể chứa {what_vi} "
                f"(độ tin cậy {percent}), đang chờ điều hành viên duyệt.",
                message_en=f"The automatic check found the post may contain {what_en} "
                f"({percent} confidence); it is waiting for a moderator.",
                score=score.needs_human,
                action="review",
                spans=spans,
                check=self.name,
            )
        ]
