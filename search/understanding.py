"""Reading a user's query (tokens, folded words, diacritics put back) and fusing the keyword
and semantic rankings into one."""

from dataclasses import dataclass

import numpy as np

from search.documents import normalize_space
from search.query import QueryTerms
from search.restorer import MIN_VIETNAMESE_SHARE, DiacriticRestorer, Restoration
from search.vietnamese import has_diacritics, phrases, vietnamese_share


@dataclass(frozen=True)
class UnderstoodQuery:
    """A user's query as the engine uses it."""

    text: str
    terms: QueryTerms
    folded_words: frozenset[str]  # for highlighting
    word_count: int
    typed_with_diacritics: bool
    restoration: Restoration | None  # set when diacritics were put back
    vietnamese_share: float  # share of tokens that could be Vietnamese: low for English
    semantic_text: str  # what the encoder reads

    def fusion_weights(self) -> tuple[float, float]:
        """(keyword, semantic) weights for score fusion.

        Short queries are names and terms: keyword leads. Long ones are sentences: semantic
        leads. Without diacritics the encoders are lost (recall@1 about 0.05), so semantic
        counts only as much as the restorer is sure of the diacritics it put back.
        """
        if self.word_count <= 2:
            keyword, semantic = 1.0, 0.7
        elif self.word_count >= 6:
            keyword, semantic = 0.7, 1.0
        else:
            keyword, semantic = 1.0, 1.0
        if not self.typed_with_diacritics:
            if self.restoration is not None:
                semantic *= 0.3 + 0.7 * self.restoration.confidence
            elif self.vietnamese_share >= MIN_VIETNAMESE_SHARE:
                semantic *= 0.6  # Vietnamese the restorer could not place
            else:
                keyword *= 0.5  # another language: the multilingual encoder does better
        return keyword, semantic


def understand(query: str, restorer: DiacriticRestorer | None) -> UnderstoodQuery:
    """Tokens, folded words, and diacritics put back (by `restorer`, if given) if they were
    left out."""
    typed = phrases(query)
    with_diacritics = has_diacritics(query)
    restoration = None
    share = 1.0 if with_diacritics else vietnamese_share(query)
    if typed and not with_diacritics and restorer is not None:
        restored = restorer.restore(query)
        if restored.changed:
            restoration = restored
    terms = QueryTerms.from_phrases(
        typed,
        typed_with_diacritics=with_diacritics,
        restored=[list(p) for p in restoration.phrases] if restoration else None,
        restored_weight=0.5 * restoration.confidence if restoration else 0.0,
    )
    words = terms.words()
    return UnderstoodQuery(
        text=query,
        terms=terms,
        folded_words=frozenset(words),
        word_count=len(words),
        typed_with_diacritics=with_diacritics,
        restoration=restoration,
        vietnamese_share=share,
        semantic_text=restoration.text if restoration else normalize_space(query),
    )


def score_fusion(
    rankings: list[tuple[list[tuple[str, float]], float, float | None]],
) -> list[tuple[str, float]]:
    """A weighted mean of each ranking's standardized scores (z-scores over its candidates).
    Each ranking is (candidates, weight, floor): a candidate missing from a ranking scores its
    floor there (0 for keyword: no match), or its lowest candidate's score when floor is None
    (semantic: all that is known of one past the pool is that it ranks lower). Best first.

    Scores, not only ranks: a clear keyword winner or a near-identical passage keeps its lead,
    where reciprocal rank fusion flattens every list to 1/(60 + rank). On 500 real community
    questions (bench/real_search.py, dev split) this fusion gave recall@10 0.674 and MRR 0.538,
    reciprocal rank fusion of the same two lists 0.664 and 0.501 (weights as fusion_weights).
    """
    fused: dict[str, float] = {}
    total_weight = 0.0
    standardized = []
    for ranked, weight, floor in rankings:
        if weight <= 0 or not ranked:
            continue
        scores = np.array([score for _doc_id, score in ranked], np.float64)
        floor = float(scores.min()) if floor is None else min(floor, float(scores.min()))
        mean, spread = float(scores.mean()), float(scores.std())
        spread = spread if spread > 1e-12 else max(abs(mean - floor), 1.0)
        z = (scores - mean) / spread
        standardized.append((dict(zip((doc_id for doc_id, _s in ranked), z, strict=True)),
                             (floor - mean) / spread, weight))
        total_weight += weight
    if not standardized:
        return []
    candidates = set().union(*(by_id.keys() for by_id, _low, _w in standardized))
    for doc_id in candidates:
        fused[doc_id] = sum(
            weight * by_id.get(doc_id, lowest) for by_id, lowest, weight in standardized
        ) / total_weight
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


