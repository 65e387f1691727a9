"""Puts Vietnamese diacritics back into text typed without them, from the forum's own words.

"lam sao dang ky" -> "làm sao đăng ký". Every folded syllable ("dang") has the accented
forms seen in the forum ("đang", "đăng", "dáng"...); a syllable bigram model, decoded with
Viterbi, picks the likeliest sequence, and forward-backward says how sure it is.
Counts come only from texts written with diacritics, so the model learns no folded forms.
"""

import gzip
import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from search.vietnamese import fold, has_diacritics, phrases, vietnamese_share

MAX_CANDIDATES = 8
# Below this share of possible Vietnamese syllables a text is taken for another language.
MIN_VIETNAMESE_SHARE = 0.6
# Weight of the bigram estimate against the unigram one.
BIGRAM_WEIGHT = 0.8


@dataclass(frozen=True)
class Restoration:
    phrases: tuple[tuple[str, ...], ...]  # the restored tokens, in the query's phrases
    text: str  # the restored, normalized query (tokens joined by spaces)
    confidence: float  # lowest posterior probability among the syllables that had a choice
    changed: bool  # whether any syllable got diacritics


class DiacriticRestorer:
    def __init__(self):
        self.unigrams: Counter[str] = Counter()
        self.bigrams: Counter[str] = Counter()  # "a b" -> count, within phrases
        self.forms: dict[str, set[str]] = {}  # folded syllable -> accented forms seen
        self.token_count = 0
        # Opaque tag of which texts were counted, kept for the owner (see SearchEngine.sync).
        self.source_fingerprint = 0

    # Counting ------------------------------------------------------------------------------

    def add(self, text: str) -> None:
        self._count(text, 1)

    def remove(self, text: str) -> None:
        self._count(text, -1)

    def _count(self, text: str, sign: int) -> None:
        if not has_diacritics(text):
            return  # typed without diacritics: it would teach folded forms as words
        for phrase in phrases(text):
            for token in phrase:
                self.token_count += sign
                self.unigrams[token] += sign
                if sign > 0:
                    self.forms.setdefault(fold(token), set()).add(token)
                elif self.unigrams[token] <= 0:
                    del self.unigrams[token]
                    self.forms.get(fold(token), set()).discard(token)
            for first, second in zip(phrase, phrase[1:], strict=False):
                key = f"{first} {second}"
                self.bigrams[key] += sign
                if self.bigrams[key] <= 0:
                    del self.bigrams[key]

    def vocabulary_size(self) -> int:
        return len(self.unigrams)

    # Restoring -----------------------------------------------------------------------------

    def restore(self, text: str) -> Restoration:
        """The likeliest diacritics for a text, unless it is mostly not Vietnamese: English
        words must not be "restored" ("summarize a long video" -> "... lòng ...")."""
        if vietnamese_share(text) < MIN_VIETNAMESE_SHARE:
            tokens = tuple(tuple(phrase) for phrase in phrases(text))
            joined = " ".join(token for phrase in tokens for token in phrase)
            return Restoration(tokens, joined, 1.0, False)
        restored: list[tuple[str, ...]] = []
        confidence = 1.0
        changed = False
        for phrase in phrases(text):
            best, phrase_confidence = self._decode(phrase)
            restored.append(tuple(best))
            confidence = min(confidence, phrase_confidence)
            changed = changed or best != phrase
        text = " ".join(token for phrase in restored for token in phrase)
        return Restoration(tuple(restored), text, confidence, changed)

    def _candidates(self, token: str) -> list[str]:
        if has_diacritics(token):
            return [token]  # typed diacritics are respected
        forms = self.forms.get(token)
        if not forms:
            return [token]
        ranked = sorted(forms, key=lambda form: -self.unigrams[form])[:MAX_CANDIDATES]
        return ranked

    def _log_start(self, token: str) -> float:
        """A query's first word: its frequency only, since queries start anywhere in a
        sentence ("dang ky" is a fragment, not the start of "Đang kỳ nghỉ...")."""
        vocabulary = len(self.unigrams) + 1
        return math.log((self.unigrams[token] + 0.1) / (self.token_count + 0.1 * vocabulary))

    def _log_transition(self, previous: str, token: str) -> float:
        unigram = math.exp(self._log_start(token))
        context = self.unigrams[previous]
        if context <= 0:
            return math.log(unigram)
        bigram = self.bigrams[f"{previous} {token}"] / context
        return math.log(BIGRAM_WEIGHT * bigram + (1 - BIGRAM_WEIGHT) * unigram)

    def _decode(self, phrase: list[str]) -> tuple[list[str], float]:
        """Viterbi for the best path; forward-backward for each choice's posterior."""
        lattice = [self._candidates(token) for token in phrase]
        # Viterbi
        scores = [{c: self._log_start(c) for c in lattice[0]}]
        back: list[dict[str, str]] = [{}]
        for position in range(1, len(lattice)):
            column, pointers = {}, {}
            for candidate in lattice[position]:
                previous, score = max(
                    ((p, s + self._log_transition(p, candidate)) for p, s in scores[-1].items()),
                    key=lambda item: item[1],
                )
                column[candidate], pointers[candidate] = score, previous
            scores.append(column)
            back.append(pointers)
        last = max(scores[-1], key=scores[-1].get)
        path = [last]
        for position in range(len(lattice) - 1, 0, -1):
            path.append(back[position][path[-1]])
        path.reverse()
        if all(len(column) == 1 for column in lattice):
            return path, 1.0
        # Forward-backward, in log space
        forward = [{c: self._log_start(c) for c in lattice[0]}]
        for position in range(1, len(lattice)):
            forward.append({
                c: _logsumexp([s + self._log_transition(p, c) for p, s in forward[-1].items()])
                for c in lattice[position]
            })
        backward = [dict.fromkeys(lattice[-1], 0.0)]
        for position in range(len(lattice) - 2, -1, -1):
            following = backward[0]
            backward.insert(0, {
                c: _logsumexp([self._log_transition(c, n) + s for n, s in following.items()])
                for c in lattice[position]
            })
        evidence = _logsumexp(list(forward[-1].values()))
        confidence = min(
            math.exp(forward[i][path[i]] + backward[i][path[i]] - evidence)
            for i in range(len(lattice))
            if len(lattice[i]) > 1
        )
        return path, confidence

    # Persistence ---------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write atomically (temporary file, then rename)."""
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(self.to_bytes())
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> "DiacriticRestorer":
        return cls.from_bytes(path.read_bytes())

    def to_bytes(self) -> bytes:
        """Gzipped JSON of the counts."""
        data = {
            "unigrams": self.unigrams,
            "bigrams": self.bigrams,
            "source_fingerprint": self.source_fingerprint,
        }
        text = json.dumps(data, ensure_ascii=False)
        return gzip.compress(text.encode("utf-8"), compresslevel=3)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "DiacriticRestorer":
        data = json.loads(gzip.decompress(blob).decode("utf-8"))
        restorer = cls()
        restorer.unigrams = Counter(data["unigrams"])
        restorer.bigrams = Counter(data["bigrams"])
        restorer.token_count = sum(restorer.unigrams.values())
        restorer.source_fingerprint = data["source_fingerprint"]
        for token in restorer.unigrams:
            restorer.forms.setdefault(fold(token), set()).add(token)
        return restorer


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(value - top) for value in values))
