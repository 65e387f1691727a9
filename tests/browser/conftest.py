"""Browser tests: Playwright drives Debian's Chromium against a real server on a free loopback
port (werkzeug in a thread, a temporary instance, the fake encoder, jobs inline), at phone
(360×740) and desktop (1280×800) sizes, in Vietnamese and English. Every page a test looks
at is checked with axe-core: a critical or serious violation fails the test, moderate ones
are listed at the end of the run. Screenshots go to .screens/ (git-ignored).

They need /usr/bin/chromium (`make install` installs it as root with apt), the playwright
package (never `playwright install`: it downloads a browser) and axe-core from npm
(`npm ci`). Without them they skip and say which is missing; on CI (CI=true) they fail.
"""

import json
import os
import re
import shutil
import threading
from collections import defaultdict
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from forum import create_app
from forum.config import ROOT
from forum.extensions import db
from forum.services import accounts, notifications, posts

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = ROOT / ".screens"
PASSWORD = "matkhau-an-toan"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
CHROMIUM_ARGS = [
    "--no-sandbox",  # as root (CI runs as root)
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

AXE_RESULTS = []  # (test, url, size, language, violation) for every page audited
SHOTS = defaultdict(int)  # screenshots taken per test, to number them in order


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def _missing():
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (make install adds Debian's chromium as root with apt)"
    if not AXE.exists():
        return f"{AXE.relative_to(ROOT)} is missing (npm ci, run by make install)"
    return None


@pytest.fixture(scope="session")
def chromium():
    reason = _missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run on CI: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class LiveServer:
    """The forum served for real on 127.0.0.1:<free port>, with a small Vietnamese forum."""

    def __init__(self, tmp, classifier_path, populate=None):
        self.app = create_app(
            {
                "INSTANCE_PATH": str(tmp / "instance"),
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'forum.db'}",
                "SECRET_KEY": "browser-tests",
                "SEARCH_ENCODER": "fake",
                "SEARCH_FOLLOW_IN_PROCESS": True,
                "JOBS_MODE": "inline",  # the index is in step when a page comes back
                "REDIS_URL": None,
                "RATELIMIT_ENABLED": False,
                "SESSION_COOKIE_SECURE": False,
                "REMEMBER_COOKIE_SECURE": False,
                "SIMILAR_CACHE_SECONDS": 0,
                "MODERATION_CLASSIFIER_PATH": classifier_path,
            }
        )
        with self.app.app_context():
            db.create_all()
            self.users = (populate or make_forum)()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.thread.join(timeout=10)
        with self.app.app_context():
            engine = self.app.extensions.get("search")
            if engine is not None:
                engine.close()
            db.engine.dispose()


PAST_THREADS = [
    (
        "co_giao_mai",
        "Làm sao đổi mật khẩu Zalo trên điện thoại Samsung?",
        "Em quên mật khẩu Zalo, máy Samsung A52. Em đã thử bấm Quên mật khẩu nhưng không thấy "
        "mã gửi về. Làm thế nào ạ?",
        "zalo, bảo mật",
        "bachuong",
        "Bạn vào Cá nhân > Cài đặt > Tài khoản và bảo mật > Đổi mật khẩu. Nếu quên mật khẩu thì "
        "bấm Quên mật khẩu ở màn hình đăng nhập, Zalo sẽ gọi điện đọc mã. Các bước:\n"
        "Mở Zalo và chọn Quên mật khẩu.\nNhập số điện thoại rồi chờ cuộc gọi đọc mã.",
    ),
    (
        "bachuong",
        "Cách dùng ChatGPT viết bài quảng cáo chè Tân Cương",
        "Mình bán chè Tân Cương trên Facebook, muốn ChatGPT viết bài giới thiệu cho hay. Mình đã "
        "thử gõ 'viết bài bán chè' nhưng bài chung chung quá.",
        "chatgpt, bán hàng",
        "co_giao_mai",
        "Bạn nên kể cho ChatGPT rõ: chè gì, vùng nào, ai mua, giọng văn ra sao. Ví dụ: 'Viết bài "
        "200 chữ giới thiệu chè móc câu Tân Cương cho khách ở Hà Nội, giọng thân mật.'",
    ),
    (
        "co_giao_mai",
        "Kích hoạt tài khoản định danh điện tử VNeID mức 2 ở đâu?",
        "Bố mẹ em ở Đồng Hỷ muốn kích hoạt VNeID mức 2 trên điện thoại Oppo, phải ra đâu làm ạ? "
        "Em đã tải ứng dụng VNeID nhưng không biết làm tiếp.",
        "vneid",
        "bachuong",
        "Mức 2 phải ra công an xã hoặc phường nơi cư trú, mang căn cước. Cán bộ chụp ảnh và lấy "
        "vân tay, sau đó kích hoạt trên ứng dụng VNeID bằng mã gửi về điện thoại.",
    ),
]


def make_forum():
    """Members and a few answered threads; returns the users by name."""
    users = {
        "co_giao_mai": accounts.register("co_giao_mai", PASSWORD, display_name="Cô giáo Mai"),
        "bachuong": accounts.register("bachuong", PASSWORD, display_name="Bác Hường"),
        "dieuhanh_lan": accounts.register(
            "dieuhanh_lan", PASSWORD, display_name="Điều hành Lan", role="moderator"
        ),
        "quantri": accounts.register("quantri", PASSWORD, role="admin"),
        "minh_sv": accounts.register("minh_sv", PASSWORD, display_name="Minh"),
        "ba_lien": accounts.register("ba_lien", PASSWORD, display_name="Bà Liên"),
        "tuan_sv": accounts.register("tuan_sv", PASSWORD, display_name="Tuấn"),
    }
    for asker, title, body, tags, answerer, answer in PAST_THREADS:
        thread = posts.ask_question(users[asker], title, body, tags)
        reply = posts.post_answer(users[answerer], thread, answer)
        posts.accept_answer(users[asker], reply)
    for user in users.values():
        notifications.mark_all_read(user)  # each flow counts the bell from zero
    return {name: user.id for name, user in users.items()}


@pytest.fixture(scope="session")
def live_server(chromium, tmp_path_factory, classifier_path):
    server = LiveServer(tmp_path_factory.mktemp("live"), classifier_path)
    yield server
    server.close()


@pytest.fixture(scope="session", autouse=True)
def clean_screens():
    shutil.rmtree(SCREENS / "browser", ignore_errors=True)
    yield


class Visitor:
    """One person in one browser: a page at a size and in a language, audited as it goes."""

    def __init__(self, browser, server, test_name, size, lang):
        self.server = server
        self.size_name = "phone" if size == PHONE else "desktop"
        self.context = browser.new_context(viewport=size, locale="vi-VN")
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.test_name = test_name
        self.lang = "vi"
        self.errors = []
        self.audited = set()
        self.page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        self.page.on(
            "response",
            lambda r: self.errors.append(f"{r.status} on {r.url}") if r.status >= 500 else None,
        )
        if lang == "en":
            self.go("/")
            self.switch_language("en")

    # Moving around ----------------------------------------------------------------------

    def go(self, path, audit=True, label=None):
        response = self.page.goto(self.server.url + path)
        if audit:
            self.audit(label or path)
        return response

    def submit(self, selector, audit=True, label=None):
        """Click a submit button and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.click(selector)
        if audit:
            self.audit(label)

    def switch_language(self, lang):
        if self.lang == lang:
            return
        self.submit(f'form.lang-switch button[value="{lang}"]', audit=False)
        self.lang = lang

    def login(self, username, password=PASSWORD):
        self.go("/login", audit=False)
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.submit("form.stack button.primary", audit=False)
        assert self.page.locator(".icon-link.me").count() == 1, f"{username} is not logged in"

    def logout(self):
        self.submit('form[action="/logout"] button', audit=False)

    def text(self, selector="main"):
        return self.page.inner_text(selector)

    def in_view(self, selector):
        """The element's top is on the screen as it is now, without scrolling."""
        box = self.page.locator(selector).first.bounding_box()  # relative to the viewport
        return box is not None and 0 <= box["y"] < self.page.viewport_size["height"]

    # Checking ---------------------------------------------------------------------------

    def audit(self, label=None):
        """axe-core on the page as it is now, no sideways scrolling, and a screenshot."""
        page = self.page
        key = (re.sub(r"\d+", "N", page.url.split("?")[0]), label)
        SHOTS[self.test_name] += 1
        path = page.url.replace(self.server.url, "").split("?")[0].split("#")[0]
        name = re.sub(r"[^a-z0-9]+", "-", (label or path).lower()).strip("-") or "home"
        folder = SCREENS / "browser" / self.test_name
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(folder / f"{SHOTS[self.test_name]:02d}-{name[:50]}-{self.size_name}-"
                     f"{self.lang}.png"),
            full_page=True,
        )
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{page.url} scrolls sideways by {overflow}px at {self.size_name}"
        if key in self.audited:
            return
        self.audited.add(key)
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        bad = []
        for violation in result["violations"]:
            AXE_RESULTS.append(
                {
                    "test": self.test_name,
                    "url": page.url.replace(self.server.url, ""),
                    "size": self.size_name,
                    "lang": self.lang,
                    "id": violation["id"],
                    "impact": violation["impact"],
                    "help": violation["help"],
                    "nodes": [n["target"] for n in violation["nodes"]][:5],
                }
            )
            if violation["impact"] in ("critical", "serious"):
                bad.append(
                    f"{violation['impact']} {violation['id']}: {violation['help']} "
                    f"{[n['target'] for n in violation['nodes']][:3]}"
                )
        AUDITED_PAGES.add((page.url.replace(self.server.url, "").split("?")[0], self.size_name,
                           self.lang))
        assert not bad, f"axe on {page.url} ({self.size_name}, {self.lang}): {bad}"

    def close(self):
        self.context.close()
        assert not self.errors, self.errors


AUDITED_PAGES = set()


@pytest.fixture
def visitor(chromium, live_server, request):
    """visitor(size, lang): a new person; each is checked for script errors and 5xx at the end."""
    made = []

    def make(size=PHONE, lang="vi"):
        person = Visitor(chromium, live_server, request.node.name, size, lang)
        made.append(person)
        return person

    yield make
    for person in made:
        person.close()


def pytest_terminal_summary(terminalreporter):
    if not AUDITED_PAGES and not AXE_RESULTS:
        return
    counts = defaultdict(int)
    moderate = defaultdict(set)
    for row in AXE_RESULTS:
        counts[row["impact"]] += 1
        if row["impact"] in ("moderate", "minor"):
            moderate[(row["impact"], row["id"], row["help"])].add(row["url"])
    write = terminalreporter.write_line
    write("")
    write(
        f"axe-core: {len(AUDITED_PAGES)} page states audited; violations: "
        f"critical {counts['critical']}, serious {counts['serious']}, "
        f"moderate {counts['moderate']}, minor {counts['minor']}"
    )
    for (impact, rule, help_text), urls in sorted(moderate.items()):
        write(f"  {impact} {rule}: {help_text} — {', '.join(sorted(urls)[:6])}")
    SCREENS.mkdir(exist_ok=True)
    (SCREENS / "axe-report.json").write_text(
        json.dumps(
            {"pages": sorted(map(list, AUDITED_PAGES)), "violations": AXE_RESULTS},
            ensure_ascii=False,
            indent=1,
        )
    )
