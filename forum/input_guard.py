"""Bounds on what a request may carry, applied once for every route before any view runs: ids in
URLs no larger than their columns, page numbers in range, no control characters in any text, and
JSON bodies of bounded size and depth. A bad input gets a clear 4xx, never a database error."""

import re

from flask import Request, abort, request
from flask_babel import gettext as _
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

# Every id column is an INTEGER: 32 bits on PostgreSQL (64 on SQLite, but the same bound keeps
# both databases alike). A larger id cannot name a row, so its URL is simply not found.
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000  # far past any real list; beyond it, the offset would overflow the database
MAX_PATH_PART = 255  # NAME_MAX of Linux file systems
MAX_JSON_BYTES = 256 * 1024  # a 20,000-character post, every character \u-escaped, fits
MAX_JSON_DEPTH = 32  # the API's bodies are flat objects; Python's parser recurses per level

# C0 control characters and DEL, except tab, newline and carriage return: invisible, never
# meant, and PostgreSQL refuses NUL in text outright.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_control(value):
    """`value` with control characters removed from every string in it (lists, dicts too)."""
    if isinstance(value, str):
        return CONTROL_CHARS.sub("", value)
    if isinstance(value, list):
        return [strip_control(item) for item in value]
    if isinstance(value, dict):
        return {strip_control(key): strip_control(item) for key, item in value.items()}
    return value


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: at most 10 digits and at most MAX_ID, else the URL is 404
    (a 5,000-digit number would not even parse: Python refuses to convert it)."""

    regex = r"\d{1,10}"

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class ControlFreeMultiDict(ImmutableMultiDict):
    """Query-string and form fields as parsed, their control characters removed."""

    def __init__(self, mapping=None):
        if mapping is None:
            super().__init__()
        else:
            super().__init__(
                (strip_control(key), strip_control(value))
                for key, value in iter_multi_items(mapping)
            )


class GuardedRequest(Request):
    """Flask's request, with clean query and form fields and JSON checked before it is parsed."""

    parameter_storage_class = ControlFreeMultiDict

    def get_json(self, force=False, silent=False, cache=True):
        # Checked even when the caller is silent about bad JSON: too big or too deep is an
        # answer of its own, not "not an object".
        if force or self.is_json:
            data = self.get_data(cache=True)
            if len(data) > MAX_JSON_BYTES:
                raise RequestEntityTooLarge(
                    _("Nội dung JSON quá lớn (tối đa %(kb)d KB).", kb=MAX_JSON_BYTES // 1024)
                )
            if json_depth(data) > MAX_JSON_DEPTH:
                raise BadRequest(
                    _("JSON lồng nhau quá sâu (tối đa %(n)d tầng).", n=MAX_JSON_DEPTH)
                )
        return strip_control(super().get_json(force=force, silent=silent, cache=cache))


JSON_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
NOT_BRACKETS = re.compile(rb"[^\[\]{}]+")


def json_depth(data):
    """How deeply arrays and objects nest in a JSON text, counted without parsing it."""
    depth = deepest = 0
    for bracket in NOT_BRACKETS.sub(b"", JSON_STRINGS.sub(b"", data)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def page_arg(name="page"):
    """A page number from the query string: 1 when absent or not a number, 404 past MAX_PAGE."""
    raw = request.args.get(name, "")
    if not raw.isascii() or not raw.isdigit():
        return 1
    if len(raw) > len(str(MAX_PAGE)) or int(raw) > MAX_PAGE:
        abort(404, description=_("Không có trang này."))
    return max(int(raw), 1)


def id_list(values):
    """The ids among form values (checkboxes of rows): digits within MAX_ID; the rest dropped."""
    return [
        int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 10 and int(v) <= MAX_ID
    ]


def refuse_impossible_paths():
    """A path with control characters, or with a part longer than any name a file system takes,
    names no page here (slugs, usernames and tokens are far shorter): 404 before any view
    passes it to a query or to the disk."""
    path = request.path
    if CONTROL_CHARS.search(path) or any(len(part) > MAX_PATH_PART for part in path.split("/")):
        abort(404)


def init_app(app):
    """Install the guards: call before any blueprint is registered (routes take the converter)."""
    app.request_class = GuardedRequest
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_impossible_paths)
