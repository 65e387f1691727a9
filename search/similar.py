"""Similar questions: the threads most like a draft (title and body), for "has this been
asked before?" while a member writes a question."""

import math
from collections.abc import Iterable

from search.backends import KeywordStore
from search.documents import SearchDocument
from search.encoders import Encoder
from search.query import Filters
from search.understanding import UnderstoodQuery
from search.vectors import VectorStore

# Among similarities (0..1) this close, answered threads come first.
ANSWERED_BONUS = 0.06
ACCEPTED_BONUS = 0.04
SIMILAR_TEXT_WORDS = 40  # a draft's first words are enough to find its neighbours
# Raw similarity -> score: raw 0.2 (off-topic drafts score 0.3 or so) is 0, raw 0.6 is 1.
# Calibrated with multilingual-e5-small on the seed's 116 suggestion drafts, where the best
# relevant thread's raw similarity had median 0.54 and the best wrong one's 0.40.
SIMILARITY_FLOOR, SIMILARITY_FULL = 0.2, 0.6


def draft_words(text: str) -> str:
    return " ".join(text.split()[:SIMILAR_TEXT_WORDS])


def similar_threads(
    understood: UnderstoodQuery,
    keyword: KeywordStore,
    vectors: VectorStore,
    encoder: Encoder | None,
    *,
    limit: int,
    pool: int,
    excluded: Iterable[int] = (),
) -> list[tuple[float, SearchDocument]]:
    """(score, question document) of the threads most like the draft, best first; among
    comparable similarities, answered threads first. Answers count for their thread.

    Each score is an absolute similarity in [0, 1], so a caller may use a threshold (0.8:
    probably asked before; see SIMILARITY_FLOOR). It mixes, with the fusion weights, the
    rarity-weighted share of the draft's words a thread contains and how far the thread's
    best passage is above the typical similarity of unrelated passages (0) towards
    identical (1). Without an encoder (it failed), only the words count.
    """
    excluded = set(excluded)
    matches, _total = keyword.search(understood.terms, Filters(), limit=pool)
    keyword_weight, semantic_weight = understood.fusion_weights()
    semantic: list[tuple[str, float]] = []
    if encoder is not None:
        vector = encoder.encode_queries([understood.semantic_text])[0]
        typical = vectors.typical_similarity(vector)
        semantic = [
            (doc_id, max(0.0, (cosine - typical) / max(1.0 - typical, 1e-6)))
            for doc_id, cosine in vectors.search(vector, pool)
        ]
    else:
        semantic_weight = 0.0
    documents = {m.doc_id: m.document for m in matches}
    documents.update(keyword.documents_by_id([d for d, _s in semantic if d not in documents]))
    coverage = best_per_thread([(m.doc_id, m.coverage) for m in matches], documents)
    closeness = best_per_thread(semantic, documents)
    similarity = {}
    for thread in coverage.keys() | closeness.keys():
        if thread in excluded:
            continue
        raw = (keyword_weight * coverage.get(thread, 0.0)
               + semantic_weight * closeness.get(thread, 0.0))
        raw /= keyword_weight + semantic_weight
        scaled = (raw - SIMILARITY_FLOOR) / (SIMILARITY_FULL - SIMILARITY_FLOOR)
        similarity[thread] = min(1.0, max(0.0, scaled))
    best = sorted(similarity, key=lambda thread: -similarity[thread])[: limit * 3]
    questions = keyword.question_documents(best)
    ranked = []
    for thread in best:
        question = questions.get(thread)
        if question is None:
            continue
        bonus = ANSWERED_BONUS * (question.answer_count > 0)
        bonus += ACCEPTED_BONUS * question.has_accepted
        ranked.append((similarity[thread] + bonus, similarity[thread], question))
    ranked.sort(key=lambda item: (-item[0], item[2].question_id))
    return [(score, question) for _key, score, question in ranked[:limit]]


def best_per_thread(
    scored: list[tuple[str, float]], documents: dict[str, SearchDocument]
) -> dict[int, float]:
    best: dict[int, float] = {}
    for doc_id, score in scored:
        doc = documents.get(doc_id)
        if doc is not None and score > best.get(doc.question_id, -math.inf):
            best[doc.question_id] = score
    return best
