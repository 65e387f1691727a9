"""What goes into the search library (SearchDocument) and what comes out (Hit, SearchResults)."""

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

KINDS = ("question", "answer")


@dataclass(frozen=True)
class SearchDocument:
    doc_id: str  # "q:42" or "a:17"
    kind: str  # "question" | "answer"
    question_id: int
    answer_id: int | None
    title: str  # the thread title; answers carry their question's title
    body: str  # plain text: the caller strips Markdown
    tags: tuple[str, ...]  # tag slugs
    created_at: datetime  # aware, UTC
    # A question's number of answers. An answer needs none (0): its hits show its thread's
    # count, and a new answer then rewrites only its own and its question's documents.
    answer_count: int = 0
    has_accepted: bool = False  # question: has an accepted answer; answer: is the accepted one
    score: int = 0  # votes

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")

    @property
    def content_hash(self) -> str:
        """Changes whenever anything the index stores changes."""
        parts = [
            self.doc_id,
            self.kind,
            str(self.question_id),
            str(self.answer_id),
            self.title,
            self.body,
            ",".join(self.tags),
            self.created_at.isoformat(),
            str(self.answer_count),
            str(self.has_accepted),
            str(self.score),
        ]
        return digest("\x1f".join(parts))

    @property
    def text_hash(self) -> str:
        """Changes only when the embedded text changes, so votes never cause re-embedding."""
        return digest("\x1f".join(self.passages()))

    def passages(self, max_words: int = 120) -> list[str]:
        """Texts to embed: the title, then the body in chunks of whole sentences.

        Every chunk starts with the thread title, because an answer such as "Bạn bấm vào
        nút Cài đặt" means little without its question.
        """
        title = normalize_space(self.title)
        chunks = split_into_chunks(normalize_space(self.body), max_words)
        if not chunks:
            return [title]
        return [f"{title}\n{chunk}" for chunk in chunks]


@dataclass(frozen=True)
class Hit:
    doc_id: str
    kind: str
    question_id: int
    answer_id: int | None
    title: str
    title_html: str  # the title, HTML-escaped, with <mark> around matched words
    snippet_html: str  # a passage of the body, HTML-escaped, with <mark> around matched words
    score: float  # relevance in the mode asked for; only comparable within one result list
    tags: tuple[str, ...]
    created_at: datetime
    answer_count: int
    has_accepted: bool
    votes: int


@dataclass(frozen=True)
class SearchResults:
    hits: list[Hit]
    # Matches available for paging (threads, when collapsed). Ranked modes (semantic, hybrid)
    # count only their candidates (SearchEngine.candidates, or more for later pages).
    total: int
    query: str
    mode: str
    restored_query: str | None = None  # the query with diacritics put back, when that was done


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded_passages: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def digest(text: str) -> str:
    """A short hex digest of a text (content and text hashes)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def normalize_space(text: str) -> str:
    """NFC with single spaces; case is kept because the encoders are case-aware."""
    return " ".join(unicodedata.normalize("NFC", text).split())


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_into_chunks(text: str, max_words: int) -> list[str]:
    """Group whole sentences into chunks of at most max_words words (long sentences are cut)."""
    chunks: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        while len(words) > max_words:
            if current:
                chunks.append(" ".join(current))
                current = []
            chunks.append(" ".join(words[:max_words]))
            words = words[max_words:]
        if current and len(current) + len(words) > max_words:
            chunks.append(" ".join(current))
            current = []
        current.extend(words)
    if current:
        chunks.append(" ".join(current))
    return chunks
