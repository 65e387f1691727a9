"""No input gets a server error: every route and API endpoint (read from the app's URL map, so a
new route is fuzzed without touching this file) answers hostile ids, page numbers, NUL bytes and
other control characters, overlong strings, bad UTF-8 and deep or huge JSON with a 4xx or a
normal page, never a 5xx. Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.

One forum is seeded for the whole module and the requests really act on it (a fuzzed form may
post, vote or delete): what is asserted holds in any state, so the order does not matter."""

import os
import re
import tempfile
from collections import Counter

import pytest

from forum import create_app
from forum.extensions import db
from forum.services import accounts, posts

PASSWORD = "matkhau-an-toan"
HUGE_INTS = ["2147483648", "9223372036854775808", "99999999999999999999", "9" * 400]
NUL_TEXT = "Làm sao để ChatGPT viết email\x00 xin việc cho hay hơn ạ?"
CONTROL_TEXT = "Câu hỏi có ký tự lạ \x01\x08\x0b\x0c\x1b\x1f\x7f ở giữa, thử xem sao"
OVERLONG = "dài " * 5_300  # past every length limit (posts: 20,000 characters)
BAD_TEXTS = {"NUL byte": NUL_TEXT, "control characters": CONTROL_TEXT, "overlong": OVERLONG}
# Path and query values as they travel in a URL (percent-encoded).
BAD_URL_TEXTS = {
    "NUL byte": "a%00b",
    "control characters": "%01%08%1b%7f",
    "overlong": "x" * 20_000,
    "bad UTF-8": "%ff%fe%c0",
}
QUERY_PARAMS = [
    "page", "limit", "offset", "tag", "q", "sort", "mode", "text", "name", "next", "answered",
    "from", "to", "v", "collapse",
]  # fmt: skip
FORM_FIELDS = [
    "title", "body", "tags", "username", "password", "password2", "display_name", "bio", "email",
    "note", "reason", "feedback", "value", "action", "label", "days", "q", "name", "contact",
    "lang", "next", "back", "current_password", "new_password", "new_password2", "upload",
    "case", "instant", "digest", "text", "confirmed", "personal_data_ok",
]  # fmt: skip
DEEP_JSON = {
    "deep array": "[" * 20_000,
    "deep object": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "huge JSON": '{"text": "' + "a" * 400_000 + '"}',
    "invalid JSON": '{"text": "unterminated',
}
ANY_OPTION = re.compile(r"<any\(([^,)]+)[^>]*>")
ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")

TALLY = Counter()  # input kind -> requests sent
SERVER_ERRORS = Counter()  # input kind -> 5xx answers


def routes():
    """(rule, method) for every route of the app, as an app built for listing them has it."""
    app = create_app(
        {"TESTING": True, "INSTANCE_PATH": os.path.join(tempfile.gettempdir(), "forum-routes")}
    )
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append(pytest.param(rule.rule, method, id=f"{method} {rule.rule}"))
    return found


@pytest.fixture(scope="module")
def forum(tmp_path_factory, classifier_path):
    """A small forum for the module: a member's thread with an answer and a comment, an admin
    (who may reach every page) and the admin's API token."""
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path_factory.mktemp("fuzz") / "instance"),
            "SQLALCHEMY_DATABASE_URI": os.environ.get("TEST_DATABASE_URL", "sqlite://"),
            "MODERATION_CLASSIFIER_PATH": classifier_path,
            # The fuzzed forms should reach their views; CSRF itself is tested elsewhere.
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        member = accounts.register("hoa_thanh_vien", PASSWORD)
        admin = accounts.register("quan_tri_vien", PASSWORD, role="admin")
        thread = posts.ask_question(
            member,
            "Làm sao viết prompt cho ChatGPT hay hơn?",
            "Em hỏi ChatGPT mà nó trả lời chung chung quá, nên viết thế nào ạ?",
            "chatgpt, viết prompt",
        )
        answer = posts.post_answer(admin, thread, "Bạn nói rõ vai trò, mục tiêu và ví dụ nhé.")
        posts.post_comment(member, answer, "Cảm ơn anh, em thử rồi.")
        token = accounts.create_api_token(admin, "fuzz")
        defaults = {"username": member.username, "slug": "chatgpt", "thread_id": str(thread.id)}
        yield app, token, defaults
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
        engine = app.extensions.get("search")
        if engine is not None:
            engine.close()
    print_tally()


def print_tally():
    print("\n\ninput kind | requests | 5xx")
    for kind, count in sorted(TALLY.items()):
        print(f"{kind} | {count} | {SERVER_ERRORS[kind]}")
    print(f"all | {sum(TALLY.values())} | {sum(SERVER_ERRORS.values())}")


def fill(rule, defaults, **values):
    """The rule's path with `values` for some arguments and ordinary ones for the rest."""
    path = ANY_OPTION.sub(lambda m: m.group(1).strip(), rule)

    def argument(match):
        converter, name = match.groups()
        if name in values:
            return values[name]
        if converter == "int":
            return defaults.get(name, "1")
        return defaults.get(name, "abc")

    return ARGUMENT.sub(argument, path)


def variants(rule, method, defaults):
    """(input kind, path, request options) to send to one route."""
    arguments = ARGUMENT.findall(ANY_OPTION.sub("x", rule))
    path = fill(rule, defaults)
    yield "ordinary", path, {}
    for converter, name in arguments:
        bad = {f"huge id ({n} digits)": v for v in HUGE_INTS for n in [len(v)]}
        bad["id zero"] = "0"
        if converter != "int":
            bad = BAD_URL_TEXTS
        for kind, value in bad.items():
            yield f"path: {kind}", fill(rule, defaults, **{name: value}), {}
    if method == "GET":
        for param in QUERY_PARAMS:  # one at a time: each number is read on its own
            yield "query: huge int", f"{path}?{param}={HUGE_INTS[2]}", {}
        for kind, value in BAD_URL_TEXTS.items():
            query = "&".join(f"{param}={value}" for param in QUERY_PARAMS)
            yield f"query: {kind}", f"{path}?{query}", {}
        return
    # 5,000 digits: past what Python's int() converts at all (4,300).
    for kind, value in {**BAD_TEXTS, "huge int": HUGE_INTS[1], "5,000 digits": "9" * 5000}.items():
        yield f"form: {kind}", path, {"data": {field: value for field in FORM_FIELDS}}
        as_json = {field: value for field in FORM_FIELDS} | {"tags": [value, "chatgpt"]}
        yield f"JSON: {kind}", path, {"json": as_json}
    yield "JSON: numbers for text", path, {"json": dict.fromkeys(FORM_FIELDS, 10**30)}
    for kind, text in DEEP_JSON.items():
        yield f"JSON: {kind}", path, {"data": text, "content_type": "application/json"}


@pytest.mark.parametrize(("rule", "method"), routes())
def test_no_input_gets_a_server_error(forum, rule, method):
    app, token, defaults = forum
    failures = []
    for signed_in in (False, True):
        client = app.test_client()
        headers = {}
        if signed_in:
            with app.app_context():
                client.post("/login", data={"username": "quan_tri_vien", "password": PASSWORD})
            headers["Authorization"] = f"Bearer {token}"
        for kind, path, options in variants(rule, method, defaults):
            if not signed_in and (kind.startswith("query") or "overlong" in kind):
                continue  # read the same way for visitors; one pass is enough
            with app.app_context():  # a context per request, as in a real server
                response = client.open(path, method=method, headers=headers, **options)
            TALLY[kind] += 1
            if response.status_code >= 500:
                SERVER_ERRORS[kind] += 1
                failures.append(f"{response.status_code} {method} {path[:120]} ({kind})")
    assert not failures, "\n".join(failures)
