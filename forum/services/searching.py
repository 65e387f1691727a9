"""Searching the forum: reads the page's or the API's parameters, asks the search engine."""

import threading
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from cachetools import TTLCache
from flask import current_app
from flask_babel import gettext as _

from forum.indexing import search_engine
from forum.services.errors import ValidationError
from forum.services.originals import prefer_originals
from search import MODES, SORTS

MAX_QUERY = 300
MAX_LIMIT = 50
ANSWERED = {"": None, "any": None, "yes": True, "true": True, "1": True, "no": False,
            "false": False, "0": False, "accepted": True}  # fmt: skip


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    mode: str = "hybrid"
    tag: str | None = None
    answered: str = ""
    sort: str = "relevance"
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 10
    offset: int = 0
    collapse: bool = True  # one hit per thread: its question or its best-matching answer


def parse(args, *, default_limit=10):
    """A SearchRequest from query-string arguments; every bad one is reported at once."""
    errors = {}
    q = " ".join((args.get("q") or "").split())[:MAX_QUERY]
    mode = args.get("mode") or "hybrid"
    if mode not in MODES:
        errors["mode"] = [_("mode phải là một trong: %(v)s.", v=", ".join(MODES))]
    sort = args.get("sort") or "relevance"
    if sort not in SORTS:
        errors["sort"] = [_("sort phải là một trong: %(v)s.", v=", ".join(SORTS))]
    answered = (args.get("answered") or "").lower()
    if answered not in ANSWERED:
        errors["answered"] = [_("answered phải là yes, no hoặc accepted.")]
    limit = _int(args, "limit", default_limit, 1, MAX_LIMIT, errors)
    offset = _int(args, "offset", 0, 0, 10_000, errors)
    date_from, date_to = _date(args, "from", errors), _date(args, "to", errors)
    if errors:
        raise ValidationError(field_errors=errors)
    collapse = (args.get("collapse") or "1").lower() not in ("0", "false", "no")
    return SearchRequest(
        q,
        mode,
        args.get("tag") or None,
        answered,
        sort,
        date_from,
        date_to,
        limit,
        offset,
        collapse,
    )


def run(request):
    """SearchResults for a request (empty for an empty query)."""
    answered = ANSWERED[request.answered]
    results = search_engine().search(
        request.q,
        mode=request.mode,
        tag=request.tag,
        answered=answered if request.answered != "accepted" else None,
        accepted=True if request.answered == "accepted" else None,
        date_from=_start_of(request.date_from),
        # The engine's date_to is inclusive: the last microsecond of the chosen day.
        date_to=_start_of(request.date_to + timedelta(days=1)) - timedelta(microseconds=1)
        if request.date_to
        else None,
        sort=request.sort,
        limit=request.limit,
        offset=request.offset,
        collapse=request.collapse,
    )
    # A duplicate's hit leads to its original (its wording matched: that is why it is kept).
    return replace(results, hits=prefer_originals(results.hits))


def close_match(request, results):
    """Whether the hits hold something really close to the query (a relevance floor).

    Hybrid and semantic ranks always return the nearest posts, however far: a nonsense query
    got "about 44 results" of unrelated posts. Their fused scores only order one list, so the
    floor uses the similar-question score of the query, an absolute similarity (0..1) that
    mixes the share of its words a thread contains with how far its best passage stands above
    unrelated ones. The best such score among the threads shown must reach
    SEARCH_CLOSE_MATCH_MIN. Keyword mode's hits all contain the query's words: close enough.
    """
    if results is None or not results.hits:
        return False
    if request.mode == "keyword":
        return True
    shown = {hit.question_id for hit in results.hits}
    floor = current_app.config["SEARCH_CLOSE_MATCH_MIN"]
    # The same cached search the ask page's hints use; filters narrow the hits, not the floor.
    return any(
        hit.score >= floor and (hit.question_id in shown or not _filtered(request))
        for hit in similar_questions(request.q, limit=SIMILAR_CACHED, min_length=1)
    )


def _filtered(request):
    return bool(request.tag or request.answered or request.date_from or request.date_to)


SIMILAR_CACHED = 12  # hits kept per cached draft; callers take their `limit` of them
_similar_lock = threading.Lock()


def similar_questions(text, limit=5, exclude=(), min_length=8):
    """Questions like a draft (a search query may be shorter than a draft: min_length)."""
    text = unicodedata.normalize("NFC", " ".join((text or "").split())[: MAX_QUERY * 3])
    if len(text) < min_length:
        return []
    seconds = current_app.config["SIMILAR_CACHE_SECONDS"]
    if not seconds or limit + len(exclude) > SIMILAR_CACHED:
        hits = search_engine().similar_questions(text, limit=limit, exclude_question_ids=exclude)
        return [hit for hit in prefer_originals(hits) if hit.question_id not in set(exclude)]
    cache = current_app.extensions.setdefault("similar_cache", TTLCache(1024, seconds))
    with _similar_lock:
        hits = cache.get(text)
    if hits is None:
        hits = search_engine().similar_questions(text, limit=SIMILAR_CACHED)
        with _similar_lock:
            cache[text] = hits
    excluded = set(exclude)
    # Closed duplicates stand for their originals (mapped after the cache: closing is at once).
    return [hit for hit in prefer_originals(hits) if hit.question_id not in excluded][:limit]


def _int(args, name, default, low, high, errors):
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        errors[name] = [_("%(name)s phải là số từ %(a)d đến %(b)d.", name=name, a=low, b=high)]
        return default
    return value


def _date(args, name, errors):
    raw = args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = [_("Ngày phải có dạng YYYY-MM-DD.")]
        return None


def _start_of(day):
    if day is None:
        return None
    # Days are Vietnamese days: midnight in Hà Nội is 17:00 UTC the day before.
    return datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=7)
