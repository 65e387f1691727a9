"""Highlighted snippets: HTML-escaped text with <mark> around words of the query."""

import html
import re
import unicodedata

from search.vietnamese import fold

_WORD = re.compile(r"[^\W_]+")


def highlight(text: str, query_words: set[str], *, window: int = 30) -> str:
    """The `window` words of `text` richest in query words, escaped, matches in <mark>.

    `query_words` are folded, lowercased syllables: a match ignores diacritics, so a query
    typed without them still shows where it matched.
    """
    text = unicodedata.normalize("NFC", text)
    folded = fold(text.lower())
    if len(folded) == len(text):  # true for Vietnamese: fold and search the whole text once
        spans = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(folded)]
    else:  # a few characters (such as "İ") change length when lowercased
        spans = [(m.start(), m.end(), fold(m.group().lower())) for m in _WORD.finditer(text)]
    if not spans:
        return html.escape(text)
    hits = [word in query_words for _start, _end, word in spans]
    first = _best_window_start(hits, window)
    last = min(len(spans), first + window) - 1
    start_char = 0 if first == 0 else spans[first][0]
    end_char = len(text) if last == len(spans) - 1 else spans[last][1]
    parts = ["…" if start_char > 0 else ""]
    position = start_char
    for index in range(first, last + 1):
        begin, end, _word = spans[index]
        if hits[index]:
            parts.append(html.escape(text[position:begin]))
            parts.append(f"<mark>{html.escape(text[begin:end])}</mark>")
            position = end
    parts.append(html.escape(text[position:end_char]))
    if end_char < len(text):
        parts.append("…")
    return "".join(parts).strip()


def _best_window_start(hits: list[bool], window: int) -> int:
    if len(hits) <= window:
        return 0
    count = sum(hits[:window])
    best, best_start = count, 0
    for start in range(1, len(hits) - window + 1):
        count += hits[start + window - 1] - hits[start - 1]
        if count > best:
            best, best_start = count, start
    if best == 0:
        return 0
    # Start a little before the first match, so the snippet reads as a sentence.
    first_hit = next(i for i in range(best_start, best_start + window) if hits[i])
    return max(0, min(best_start, first_hit - 3))
