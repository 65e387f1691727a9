"""Search for the forum: documents in, hits out. No Flask, no ORM.

    engine = SearchEngine(index_dir, OnnxEncoder(onnx_folder))   # or SentenceTransformerEncoder
    # or, for several nodes sharing one PostgreSQL (tables in schema "search"):
    # engine = SearchEngine(PostgresBackend(database_url), encoder)   # search.postgres
    engine.sync(all_documents)          # at start-up and on `reindex`, in a background job
    engine.warm()                       # optional, in a background thread: model + postings
    engine.upsert([doc]); engine.remove(["a:17"])   # after each commit, in a background job
    engine.search("lam sao dang ky chatgpt", tag="chatgpt", limit=10, offset=0, collapse=True)
    engine.similar_questions(draft_title + "\\n" + draft_body, exclude_question_ids=[42])
    engine.query_vector(draft_title + "\\n" + draft_body)   # the vector similar_questions used
    engine.close()

Modules: vietnamese (tokens, folding), ranking (query terms, BM25 in numpy), keyword (Whoosh
index), vectors (passage vectors in numpy), faiss_vectors (in faiss), restorer (diacritics from
the forum's own words), encoders, snippets, backends (where the index lives), postgres (the
PostgreSQL backend), engine.
"""

from search.backends import SearchBackend, WhooshBackend
from search.documents import Hit, SearchDocument, SearchResults, SyncReport
from search.encoders import Encoder, FakeEncoder, OnnxEncoder, SentenceTransformerEncoder
from search.engine import MODES, SORTS, SearchEngine

__all__ = [
    "MODES",
    "SORTS",
    "Encoder",
    "FakeEncoder",
    "Hit",
    "OnnxEncoder",
    "SearchBackend",
    "SearchDocument",
    "SearchEngine",
    "SearchResults",
    "SentenceTransformerEncoder",
    "SyncReport",
    "WhooshBackend",
]
