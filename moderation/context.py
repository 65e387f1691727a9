"""What a check looks at: the post and what the forum knows around it."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Post:
    """The text being moderated; fields are checked separately so spans can point into each."""

    body: str
    title: str = ""

    def fields(self) -> list[tuple[str, str]]:
        """(field name, text) for every non-empty field, title first."""
        return [(name, text) for name, text in (("title", self.title), ("body", self.body)) if text]

    @property
    def full_text(self) -> str:
        return f"{self.title}\n{self.body}" if self.title else self.body


@dataclass(frozen=True)
class RecentPost:
    """One of the author's own earlier posts."""

    text: str
    created_at: datetime


@dataclass(frozen=True)
class SimilarQuestion:
    """An existing question the caller's search found close to this one (score in [0, 1])."""

    question_id: int
    title: str
    score: float


@dataclass(frozen=True)
class PostContext:
    author_age_days: float = 365
    author_reputation: int = 0
    recent_posts: tuple[RecentPost, ...] = ()
    now: datetime | None = None
    is_question: bool = False
    similar_questions: tuple[SimilarQuestion, ...] = ()
