"""Moderation for Xứ Trà Hỏi Đáp: text and context in, a Verdict out (no Flask, no ORM).

    moderator = Moderator(ModerationConfig())
    verdict = moderator.check(body, title=title, context=PostContext(author_age_days=2))
    verdict.action   # "allow" | "review" | "reject"
    verdict.reasons  # every finding, with Vietnamese and English messages and spans

The default is to hold a post for review and explain why; only severe abuse and known scams
with contact details are rejected.
"""

from .checks import Check
from .classifier import ToxicityClassifier, TrainReport, read_labelled_csv, train_classifier
from .context import Post, PostContext, RecentPost, SimilarQuestion
from .moderator import ModerationConfig, Moderator, default_checks, training_rows
from .verdict import ACTIONS, Reason, Span, Verdict

__all__ = [
    "ACTIONS",
    "Check",
    "ModerationConfig",
    "Moderator",
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
