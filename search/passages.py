"""An answer's most relevant passage for a question: its sentences, their vectors, and the
sentence (with what it needs to be read alone) closest to the question's vector.

Sentence vectors are computed once per answer text (the caller stores them; see
sentence_text_hash) so ranking a suggestion encodes only the question.
"""

import re

import numpy as np

from search.documents import digest

# Sentences end at . ! ? … or a line break; a colon does not end one ("Bước 1: mở Zalo" is one).
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|\n+")
PASSAGE_SHORT = 120  # a passage shorter than this takes the next sentence too (steps)
PASSAGE_LONGEST = 360  # …but an introduction is not followed past this
MAX_SENTENCES = 64  # of a very long answer, the first ones are embedded


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 2][:MAX_SENTENCES]


def sentence_space(encoder_name: str) -> str:
    """The vector space name under which an encoder's sentence vectors are stored."""
    return f"{encoder_name}#sentences"


def sentence_text_hash(parts: list[str]) -> str:
    """Changes whenever the sentences change, so stored vectors are known to be current."""
    return digest("\x1f".join(parts))


def encode_sentences(encoder, texts_by_key: dict) -> dict:
    """{key: (sentences, vectors)} for {key: answer text}, in one encoder call."""
    split = {key: sentences(text) for key, text in texts_by_key.items()}
    flat = [part for parts in split.values() for part in parts]
    vectors = encoder.encode_passages(flat) if flat else np.zeros((0, 0), np.float32)
    found, start = {}, 0
    for key, parts in split.items():
        found[key] = (parts, vectors[start : start + len(parts)])
        start += len(parts)
    return found


def best_passage(query_vector: np.ndarray, parts: list[str], vectors: np.ndarray) -> str:
    """The sentence most similar to the question, with its neighbours as passage_around says."""
    if not parts:
        return ""
    best = int(np.argmax(np.asarray(vectors, np.float32) @ query_vector))
    return passage_around(parts, best)


def passage_around(parts: list[str], best: int) -> str:
    """The chosen sentence with what it needs to be read alone: the line that introduces it
    ("Các bước:" before "- Mở Zalo"), what a line ending in ':' introduces ("Thông tin thật:"
    is nothing without the next line), and the next sentence when it is short (steps)."""
    start, end = best, best + 1
    if start > 0 and parts[start - 1].endswith(":"):
        start -= 1

    def text():
        return " ".join(parts[start:end])

    while end < len(parts) and parts[end - 1].endswith(":") and len(text()) < PASSAGE_LONGEST:
        end += 1
    if end < len(parts) and len(text()) < PASSAGE_SHORT:
        end += 1
        while end < len(parts) and parts[end - 1].endswith(":") and len(text()) < PASSAGE_LONGEST:
            end += 1
    return text()
