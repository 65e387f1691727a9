"""Moderation for Xứ Trà Hỏi Đáp: text and context in, a Verdict out (no Flask, no ORM).

    moderator = Moderator(ModerationConfig())
    verdict = moderator.check(body, title=title, context=PostContext(author_age_days=2))
    verdict.action   # "allow" | "review" | "reject"
    verdict.reasons  # every finding, with Vietnamese and English messages and spans
    verdict.nudges   # advice that never holds a post ("consider putting it more gently")

The default is to hold a post for review and explain why; only severe abuse and known scams
with contact details are rejected.
"""

from .checks import Check
from .classifier import (
    Embedding,
    ToxicityClassifier,
    TrainReport,
    read_labelled_csv,
    train_classifier,
)
from .context import Post, PostContext, RecentPost, SimilarQuestion
from .moderator import ModerationConfig, Moderator, default_checks, training_rows
from .verdict import ACTIONS, Nudge, Reason, Span, Verdict

__all__ = [
    "ACTIONS",
    "Check",
    "Embedding",
    "ModerationConfig",
    "Moderator",
    "Nudge",
    "Post",
    "PostContext",
    "Reason",
    "RecentPost",
    "SimilarQuestion",
    "Span",
    "ToxicityClassifier",
    "TrainReport",
    "Verdict",
    "default_checks",
    "read_labelled_csv",
    "train_classifier",
    "training_rows",
]
