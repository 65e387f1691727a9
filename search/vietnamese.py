"""Vietnamese text handling: NFC, folding of diacritics, syllable tokens and bigrams.

Vietnamese writes one syllable per space-separated word, and most words are compounds of two
syllables ("trí tuệ", "đăng ký"), so adjacent syllable pairs (bigrams) stand in for words.
Users often type without diacritics ("dang ky"), so every text is also indexed folded.
"""

import functools
import re
import unicodedata

_COMBINING = re.compile(r"[\u0300-\u036f]")

# A token is a run of letters or digits; "_" is excluded because it joins bigrams.
_TOKEN = re.compile(r"[^\W_]+")
# Punctuation that ends a phrase: no bigram is formed across it.
_PHRASE_BREAK = re.compile(r"[.,;:!?()\[\]{}\"\n\r\t…|/\\]+")

BIGRAM_JOINER = "_"

# Common teencode and abbreviations, expanded the same way at index and query time.
# Only forms that rarely mean anything else are listed.
TEENCODE = {
    "ko": "không",
    "k": "không",
    "kh": "không",
    "hok": "không",
    "dc": "được",
    "đc": "được",
    "j": "gì",
    "ntn": "như thế nào",
    "vs": "với",
    "cx": "cũng",
    "mn": "mọi người",
    "ng": "người",
    "trc": "trước",
    "sd": "sử dụng",
}


def _build_fold_table() -> dict[int, str]:
    table = {ord("đ"): "d", ord("Đ"): "D"}
    for code in range(0x00C0, 0x1EFA):
        char = chr(code)
        stripped = _COMBINING.sub("", unicodedata.normalize("NFD", char))
        if stripped != char and len(stripped) == 1 and stripped.isascii():
            table[code] = stripped
    return table


_FOLD_TABLE = _build_fold_table()


def normalize(text: str) -> str:
    """NFC-normalize and lowercase, so composed and decomposed input compare equal."""
    return unicodedata.normalize("NFC", text).lower()


def fold(text: str) -> str:
    """Remove Vietnamese diacritics: "Đăng ký" -> "Dang ky". Expects NFC text."""
    return text.translate(_FOLD_TABLE)


# A Vietnamese syllable, folded: an initial consonant (cluster), a vowel group, a final.
_SYLLABLE = re.compile(
    r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
    r"(uye|uya|uyu|ieu|yeu|uoi|uou|oai|oay|oeo|uay|uai|uau|[aeiouy]{1,2})"
    r"(ch|ng|nh|[cmnpt])?"
)


def looks_vietnamese(token: str) -> bool:
    """Whether a lowercase token could be a Vietnamese syllable ("thoai" yes, "with" no)."""
    return _SYLLABLE.fullmatch(fold(token)) is not None


def vietnamese_share(text: str) -> float:
    """The share of a text's tokens that could be Vietnamese syllables; English scores low."""
    words = tokens(text)
    if not words:
        return 0.0
    return sum(looks_vietnamese(word) for word in words) / len(words)


def has_diacritics(text: str) -> bool:
    normalized = unicodedata.normalize("NFC", text)
    return fold(normalized) != normalized


def phrases(text: str) -> list[list[str]]:
    """Normalized syllable tokens, grouped into phrases split at punctuation.

    Teencode is expanded ("ko" -> "không"), so "ko dc" and "không được" index alike.
    """
    result = []
    for chunk in _PHRASE_BREAK.split(normalize(text)):
        tokens = []
        for token in _TOKEN.findall(chunk):
            expansion = TEENCODE.get(token)
            if expansion is None:
                tokens.append(token)
            else:
                tokens.extend(expansion.split())
        if tokens:
            result.append(tokens)
    return result


_FOLDED_TEENCODE = {fold(short): set(fold(long).split()) for short, long in TEENCODE.items()}


def folded_words(text: str) -> set[str]:
    """The distinct folded syllables of a text, teencode expanded: index_terms(text,
    folded=True) without the bigrams, computed for a whole text at once (fold is cheap on one
    long string, costly on many short ones)."""
    words = set(_TOKEN.findall(fold(normalize(text))))
    for short in words & _FOLDED_TEENCODE.keys():
        words |= _FOLDED_TEENCODE[short]
    return words


def tokens(text: str) -> list[str]:
    return [token for phrase in phrases(text) for token in phrase]


def bigrams(phrase: list[str]) -> list[str]:
    return [a + BIGRAM_JOINER + b for a, b in zip(phrase, phrase[1:], strict=False)]


@functools.lru_cache(maxsize=16)
def _cached_phrases(text: str) -> tuple[tuple[str, ...], ...]:
    # Each text is analyzed for two fields (exact and folded): tokenize it once.
    return tuple(tuple(phrase) for phrase in phrases(text))


def index_terms(text: str, *, folded: bool) -> list[str]:
    """What one text field indexes: syllables, and for the folded field also the in-phrase
    bigrams, which make compounds rank as units. The exact field needs no bigrams: its
    syllables already tell "đăng ký" from "đang kỳ", and postings are what indexing costs."""
    groups = _cached_phrases(text)
    if not folded:
        return [token for phrase in groups for token in phrase]
    groups = [[fold(token) for token in phrase] for phrase in groups]
    unigrams = [token for phrase in groups for token in phrase]
    pairs = [pair for phrase in groups for pair in bigrams(phrase)]
    return unigrams + pairs
