"""Keyword index on Whoosh, the embedded default for small forums: pure Python, ranked by
Whoosh's own BM25F. Fine up to some ten thousand posts; past that use search.tantivy_keyword.
"""

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from whoosh import fields, index, query, scoring
from whoosh.analysis import Token, Tokenizer

from search.documents import SearchDocument
from search.keyword import (
    KeywordQuery,
    RankedKeywordIndex,
    document_from_json,
    document_json,
    in_batches,
    is_answered,
    timestamp,
)
from search.query import BM25_B, BM25_K1, FOLDED_FIELDS, Filters, document_text_fields
from search.vietnamese import index_terms

__all__ = ["WhooshKeywordIndex"]

WEIGHTING = scoring.BM25F(K1=BM25_K1, **{f"{field}_B": b for field, b in BM25_B.items()})


class VietnameseAnalyzer(Tokenizer):
    """Whoosh analyzer: exact syllables, or folded syllables and bigrams (index_terms)."""

    def __init__(self, folded: bool = False):
        self.folded = folded

    def __eq__(self, other):
        return type(other) is type(self) and other.folded == self.folded

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        terms = index_terms(value, folded=self.folded) if tokenize else [value]
        for position, text in enumerate(terms, start_pos):
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if positions:
                token.pos = position
            yield token


def _text_field(folded: bool) -> fields.TEXT:
    return fields.TEXT(analyzer=VietnameseAnalyzer(folded), phrase=False)


def make_schema() -> fields.Schema:
    return fields.Schema(
        doc_id=fields.ID(stored=True, unique=True),
        kind=fields.ID(),
        thread=fields.NUMERIC(bits=64, signed=False, sortable=True),  # the question id
        title=_text_field(folded=False),
        title_f=_text_field(folded=True),
        body=_text_field(folded=False),
        body_f=_text_field(folded=True),
        tag_words=_text_field(folded=True),
        tags=fields.KEYWORD(commas=True),
        answered=fields.BOOLEAN(),
        has_accepted=fields.BOOLEAN(),
        # Signed: Whoosh's ranges on unsigned 64-bit fields match everything below their end.
        created_ts=fields.NUMERIC(bits=64, signed=True, sortable=True, default=0),
        document=fields.STORED(),  # search.keyword.document_json
        content_hash=fields.STORED(),
    )


def document_fields(doc: SearchDocument) -> dict:
    return {
        "doc_id": doc.doc_id,
        "kind": doc.kind,
        "thread": doc.question_id,
        **document_text_fields(doc),
        "tags": ",".join(doc.tags),
        "answered": is_answered(doc),
        "has_accepted": doc.has_accepted,
        "created_ts": timestamp(doc.created_at),
        "document": document_json(doc),
        "content_hash": doc.content_hash,
    }


def filter_query(filters: Filters, required_words: Iterable[str] = ()) -> query.Query | None:
    """The filters, and every required word in some folded field, as one Whoosh query."""
    parts: list[query.Query] = []
    if filters.tag is not None:
        parts.append(query.Term("tags", filters.tag))
    if filters.kind is not None:
        parts.append(query.Term("kind", filters.kind))
    if filters.answered is not None:
        parts.append(query.Term("answered", filters.answered))
    if filters.accepted is not None:
        parts.append(query.Term("has_accepted", filters.accepted))
    if filters.date_from is not None or filters.date_to is not None:
        start = timestamp(filters.date_from) if filters.date_from is not None else None
        end = timestamp(filters.date_to) if filters.date_to is not None else None
        parts.append(query.NumericRange("created_ts", start, end))
    for word in required_words:
        parts.append(query.Or([query.Term(field, word) for field in FOLDED_FIELDS]))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else query.And(parts)


def ranking_query(keyword_query: KeywordQuery) -> query.Query:
    return query.Or([
        query.Term(leaf.field, leaf.term, boost=leaf.boost) for leaf in keyword_query.leaves
    ])


class _WhooshView:
    """A searcher, used by one thread at a time (Whoosh readers share open files)."""

    def __init__(self, searcher):
        self.searcher = searcher

    def top(self, keyword_query: KeywordQuery, limit: int | None, *, newest_first=False):
        mask = filter_query(keyword_query.filters, keyword_query.required_words)
        ranking = ranking_query(keyword_query)
        if newest_first:
            results = self.searcher.search(
                ranking, filter=mask, limit=limit, sortedby="created_ts", reverse=True
            )
            return [(hit.docnum, 0.0) for hit in results], len(results)
        results = self.searcher.search(ranking, filter=mask, limit=limit)
        return [(hit.docnum, float(hit.score)) for hit in results], len(results)

    def _column(self, name: str, keys: Sequence[int]) -> list[int]:
        column = self.searcher.reader().column_reader(name)
        return [int(column[docnum]) for docnum in keys]

    def threads(self, keys):
        return self._column("thread", keys)

    def created(self, keys):
        return self._column("created_ts", keys)

    def thread_count(self, keyword_query: KeywordQuery) -> int:
        mask = filter_query(keyword_query.filters, keyword_query.required_words)
        docnums = self.searcher.search(ranking_query(keyword_query), filter=mask, limit=None)
        return len(set(self.threads([hit.docnum for hit in docnums])))

    def documents(self, keys):
        return [
            document_from_json(self.searcher.stored_fields(docnum)["document"])
            for docnum in keys
        ]

    def doc_ids(self, keys):
        return [self.searcher.stored_fields(docnum)["doc_id"] for docnum in keys]

    def doc_frequency(self, field: str, term: str) -> int:
        return self.searcher.doc_frequency(field, term)

    def doc_count(self) -> int:
        return self.searcher.doc_count()


class WhooshKeywordIndex(RankedKeywordIndex):
    """The Whoosh index. One writer at a time (the caller's lock); searches take turns."""

    def __init__(self, directory: Path, *, write_buffer_mb: int = 512):
        """write_buffer_mb: postings Whoosh keeps in memory before sorting them through temporary
        files; 10k posts fit in 512 MB (about 250 MB of real memory), which indexes twice as
        fast as the default 128 MB. Only a big batch (sync) ever fills it."""
        self.directory = Path(directory)
        self.write_buffer_mb = write_buffer_mb
        self.directory.mkdir(parents=True, exist_ok=True)
        if index.exists_in(str(self.directory)):
            self.index = index.open_dir(str(self.directory))
        else:
            self.index = index.create_in(str(self.directory), make_schema())
        self._lock = threading.Lock()
        self._searcher = self.index.searcher(weighting=WEIGHTING)

    @contextlib.contextmanager
    def _reading(self):
        with self._lock:
            yield _WhooshView(self._searcher)

    def refresh(self) -> None:
        """Switch to the latest commit (also one made by another process), if any."""
        with self._lock:
            if not self._searcher.up_to_date():
                # Not Searcher.refresh(), which fails on a reader of an empty index.
                self._searcher.close()
                self._searcher = self.index.searcher(weighting=WEIGHTING)

    def warm(self) -> int:
        """Nothing to prepare: Whoosh reads its files as queries need them."""
        return 0

    def filtered_doc_ids(self, filters: Filters) -> set[str]:
        """The ids of all live documents that pass the filters."""
        mask = filter_query(filters)
        with self._reading() as view:
            if mask is None:
                docnums = list(self._searcher.reader().all_doc_ids())
            else:
                docnums = list(self._searcher.docs_for_query(mask))
            return set(view.doc_ids(docnums))

    def question_documents(self, question_ids: Iterable[int]) -> dict[int, SearchDocument]:
        """The question document of each given thread that has one in the index."""
        found = {}
        with self._reading() as view:
            for question_id in question_ids:
                docnum = self._searcher.document_number(thread=question_id, kind="question")
                if docnum is not None:
                    found[question_id] = view.documents([docnum])[0]
        return found

    def documents_by_id(self, doc_ids: Iterable[str]) -> dict[str, SearchDocument]:
        found = {}
        with self._reading() as view:
            for doc_id in doc_ids:
                docnum = self._searcher.document_number(doc_id=doc_id)
                if docnum is not None:
                    found[doc_id] = view.documents([docnum])[0]
        return found

    def content_hashes(self) -> dict[str, str]:
        """doc_id -> content hash of every live document."""
        with self._lock:
            return {
                stored["doc_id"]: stored["content_hash"]
                for _docnum, stored in self._searcher.reader().iter_docs()
            }

    def all_documents(self) -> Iterator[SearchDocument]:
        """Every live document, read in batches so the index may change meanwhile."""
        for batch in in_batches(list(self.content_hashes())):
            yield from self.documents_by_id(batch).values()

    def doc_count(self) -> int:
        with self._lock:
            return self._searcher.doc_count()

    def write(self, *, delete: Iterable[str], add: Iterable[SearchDocument]) -> None:
        """One commit: delete the given ids, then add the given documents.

        To replace a document, delete its id and add it again in the same call.
        """
        writer = self.index.writer(timeout=30.0, limitmb=self.write_buffer_mb)
        try:
            for doc_id in delete:
                writer.delete_by_term("doc_id", doc_id)
            for doc in add:
                writer.add_document(**document_fields(doc))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        self.refresh()

    def close(self) -> None:
        with self._lock:
            self._searcher.close()
