"""Search for the forum: documents in, hits out. No Flask, no ORM.

    engine = SearchEngine(index_dir, OnnxEncoder(onnx_folder))   # or SentenceTransformerEncoder
    # or, for a large forum, the keyword index on tantivy, and vectors kept in a store:
    # engine = SearchEngine(LocalIndex(index_dir, keyword_engine="tantivy"), encoder,
    #                       embeddings=store)   # search.embeddings.EmbeddingStore
    engine.sync(all_documents)          # at start-up and on `reindex`, in a background job
    engine.warm()                       # optional, in a background thread: loads the model
    engine.upsert([doc]); engine.remove(["a:17"])   # by the node's follower, per batch
    engine.search("lam sao dang ky chatgpt", tag="chatgpt", limit=10, offset=0, collapse=True)
    engine.similar_questions(draft_title + "\\n" + draft_body, exclude_question_ids=[42])
    engine.query_vector(draft_title + "\\n" + draft_body)   # the vector similar_questions used
    engine.close()

Modules: vietnamese (tokens, folding), query (query terms, filters, coverage), keyword (what the
keyword engines share), whoosh_keyword and tantivy_keyword (the engines), vectors (passage
vectors in numpy), faiss_vectors (in faiss), embeddings (stored vectors), restorer (diacritics
from the forum's own words), encoders, snippets, backends (where the index lives),
understanding (reading queries, fusion), similar (similar questions), writer, engine.
"""

from search.backends import LocalIndex, SearchBackend
from search.documents import Hit, SearchDocument, SearchResults, SyncReport
from search.encoders import Encoder, FakeEncoder, OnnxEncoder, SentenceTransformerEncoder
from search.engine import MODES, SORTS, SearchEngine

__all__ = [
    "MODES",
    "SORTS",
    "Encoder",
    "FakeEncoder",
    "Hit",
    "LocalIndex",
    "OnnxEncoder",
    "SearchBackend",
    "SearchDocument",
    "SearchEngine",
    "SearchResults",
    "SentenceTransformerEncoder",
    "SyncReport",
]
