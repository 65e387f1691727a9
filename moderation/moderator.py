"""The Moderator: runs every check on a post, collects every reason, strictest action wins."""

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .abuse import AbuseLexiconCheck
from .checks import Check
from .classifier import (
    CLEAN,
    OFFENSIVE,
    ClassifierLoader,
    Embedding,
    ToxicityClassifierCheck,
    read_labelled_csv,
    read_span_csv,
)
from .context import Post, PostContext
from .lexicon import Lexicon, make_entry, read_lexicon_file, read_phrase_file
from .similar import SimilarQuestionsCheck
from .spam import (
    LinkCheck,
    PostingBurstCheck,
    RepeatedPostCheck,
    SellingAndScamCheck,
    ShoutingCheck,
)
from .verdict import Nudge, Reason, Verdict

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seed" / "moderation"


@dataclass
class ModerationConfig:
    """Where the data lives and how strict each rule is; the defaults point into seed/.

    `review_threshold` / `reject_threshold` override the classifier's trained thresholds when
    set (None: use the ones chosen at training; math.inf: never).
    """

    lexicon_path: Path = SEED / "lexicon.tsv"
    allowlist_path: Path = SEED / "allowlist.txt"
    targets_path: Path | None = SEED / "lexicon_targets.txt"
    spam_lexicon_path: Path = SEED / "lexicon_spam.tsv"
    shorteners_path: Path = SEED / "lexicon_shorteners.txt"
    trusted_domains_path: Path = SEED / "allowlist_domains.txt"
    classifier_path: Path = ROOT / "instance" / "moderation" / "toxicity.joblib"
    training_data_path: Path = SEED / "labelled.csv"
    # Real comments with offending character spans (ViHOS, MIT; seed/moderation/vihos/README.md).
    # None: the team's rows alone, and no span model.
    spans_data_path: Path | None = SEED / "vihos" / "train.csv"
    hard_negatives_path: Path | None = SEED / "allowlist_training.txt"
    review_threshold: float | None = None
    reject_threshold: float | None = None
    new_account_days: float = 7
    max_links_new_account: int = 0
    max_links: int = 5
    burst_window_s: float = 300
    burst_count: int = 6
    repeat_window_s: float = 86400
    repeat_similarity: float = 0.85
    caps_min_letters: int = 30
    caps_ratio: float = 0.8
    shouting_action: str = "allow"
    similar_question_min_score: float = 0.8
    similar_questions_shown: int = 3


def training_rows(config: ModerationConfig) -> list[tuple[str, str]]:
    """The labelled set, the shipped hard negatives (ordinary sentences that look rude) and the
    ViHOS comments: with a span "offensive", without "clean" (see span_training_rows)."""
    rows = read_labelled_csv(config.training_data_path)
    if config.hard_negatives_path is not None:
        rows += [(text, CLEAN) for text in read_phrase_file(config.hard_negatives_path)]
    rows += [(text, OFFENSIVE if chars else CLEAN) for text, chars in span_training_rows(config)]
    return rows


def span_training_rows(config: ModerationConfig) -> list[tuple[str, list[int]]]:
    """ViHOS's (comment, offending character offsets); empty when no span data is set.

    ViHOS marks any offensive word, casual swearing included; the forum publishes swearing
    aimed at nobody with a nudge. The labels are kept as ViHOS gives them (the models learn
    what offends) and the forum's policy is applied over the model's spans, at check time
    (AbuseLexiconCheck.only_casual_swearing)."""
    if config.spans_data_path is None:
        return []
    return read_span_csv(config.spans_data_path)


def team_phrase_results(moderator: "Moderator") -> tuple[dict[str, bool], dict[str, bool]]:
    """The team's own phrases (seed/moderation/team_phrases.csv): ({innocent: held}, {nasty:
    held}); every innocent one must pass and every nasty one be held."""
    with open(SEED / "team_phrases.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    held = {row["text"]: moderator.check(row["text"]).action != "allow" for row in rows}
    innocent = {row["text"]: held[row["text"]] for row in rows if row["expected"] == "allow"}
    nasty = {row["text"]: held[row["text"]] for row in rows if row["expected"] == "hold"}
    return innocent, nasty


def default_checks(config: ModerationConfig, embedding: Embedding | None = None) -> list[Check]:
    """Every check, in the order their reasons are listed; `embedding` gives the classifier
    its sentence-embedding head."""
    trusted_domains = read_phrase_file(config.trusted_domains_path)
    abuse = Lexicon.load(config.lexicon_path, config.allowlist_path)
    targets = (
        Lexicon(make_entry(phrase, "target") for phrase in read_phrase_file(config.targets_path))
        if config.targets_path is not None
        else None
    )
    spam = Lexicon(read_lexicon_file(config.spam_lexicon_path))
    abuse_check = AbuseLexiconCheck(abuse, targets)
    return [
        abuse_check,
        ToxicityClassifierCheck(
            ClassifierLoader(
                config.classifier_path,
                lambda: training_rows(config),
                embedding=embedding,
                span_rows=(lambda: span_training_rows(config))
                if config.spans_data_path is not None
                else None,
            ),
            config.review_threshold,
            config.reject_threshold,
            casual_swearing=abuse_check.only_casual_swearing,
        ),
        SellingAndScamCheck(spam, trusted_domains),
        LinkCheck(
            read_phrase_file(config.shorteners_path),
            trusted_domains,
            config.new_account_days,
            config.max_links_new_account,
            config.max_links,
        ),
        RepeatedPostCheck(config.repeat_window_s, config.repeat_similarity),
        PostingBurstCheck(config.burst_window_s, config.burst_count),
        ShoutingCheck(config.caps_min_letters, config.caps_ratio, config.shouting_action),
        SimilarQuestionsCheck(config.similar_question_min_score, config.similar_questions_shown),
    ]


class Moderator:
    """Text and context in, a Verdict out. Never raises for a post: a check that fails holds
    the post for review and says which check failed. Safe to share between threads."""

    def __init__(
        self,
        config: ModerationConfig | None = None,
        checks: Sequence[Check] | None = None,
        embedding: Embedding | None = None,
    ):
        self.config = config or ModerationConfig()
        self.embedding = embedding
        self.checks = tuple(default_checks(self.config, embedding) if checks is None else checks)

    def check(
        self, text: str, title: str | None = None, context: PostContext | None = None
    ) -> Verdict:
        post = Post(body=text or "", title=title or "")
        context = context or PostContext()
        findings: list[Reason | Nudge] = []
        for check in self.checks:
            findings.extend(self._run(check, post, context))
        return Verdict.from_reasons(findings)

    def _run(self, check: Check, post: Post, context: PostContext) -> list[Reason | Nudge]:
        name = getattr(check, "name", type(check).__name__)
        try:
            return list(check.run(post, context))
        except Exception:
            log.exception("Moderation check %s failed", name)
            return [
                Reason(
                    code="check_failed",
                    message_vi=f"Bước kiểm tra tự động “{name}” bị lỗi nên bài viết đang chờ "
                    "điều hành viên duyệt. Bạn không cần làm gì thêm.",
                    message_en=f"The automatic check “{name}” failed, so the post is waiting "
                    "for a moderator. You need not do anything.",
                    score=1.0,
                    action="review",
                    check=name,
                )
            ]
