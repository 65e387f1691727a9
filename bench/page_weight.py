"""Page weight as a phone downloads it: bytes transferred (headers and compressed bodies, as
Chromium's DevTools count them) for the home page on a first visit (empty cache) and on a
repeat visit (the same browser going back to it), at 360×740.

    .venv/bin/python bench/page_weight.py                 # the demo forum, served here
    .venv/bin/python bench/page_weight.py --url http://127.0.0.1:5000   # e.g. `make run`

Needs /usr/bin/chromium and the playwright package (as the browser tests do). Targets:
first visit ≤ 50 KB, repeat ≤ 15 KB. Prints each response, then the totals, with the
browser's own Accept-Encoding (zstd, br, gzip) and with gzip only.
"""

import argparse
import logging
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
FIRST_TARGET, REPEAT_TARGET = 50 * 1024, 15 * 1024


def serve_demo(folder):
    """The forum with the seed's demo content, on a free loopback port."""
    from werkzeug.serving import make_server

    from forum import create_app
    from forum.extensions import db
    from forum.seeding import seed

    app = create_app({
        "INSTANCE_PATH": str(folder / "instance"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'forum.db'}",
        "SEARCH_ENCODER": "fake", "SEARCH_FOLLOW_IN_PROCESS": True, "JOBS_MODE": "inline",
        "RATELIMIT_ENABLED": False, "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False, "MODERATION_ENABLED": False,
    })  # fmt: skip
    with app.app_context():
        db.create_all()
        seed()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def visit(page, cdp, url):
    """[(url, bytes)] of everything the page load transferred over the network."""
    sizes, urls = {}, {}

    def sent(event):
        urls[event["requestId"]] = event["request"]["url"]

    def finished(event):
        sizes[event["requestId"]] = event["encodedDataLength"]

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.loadingFinished", finished)
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(300)  # late favicon requests
    cdp.remove_listener("Network.requestWillBeSent", sent)
    cdp.remove_listener("Network.loadingFinished", finished)
    return [(urls.get(rid, rid), size) for rid, size in sizes.items()]


def measure(browser, url, accept_encoding=None):
    """(first visit rows, repeat visit rows) at phone size."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    if accept_encoding:
        cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": accept_encoding}})
    first = visit(page, cdp, url)
    page.goto("about:blank")
    repeat = visit(page, cdp, url)
    context.close()
    return first, repeat


def report(name, rows, target):
    total = sum(size for _url, size in rows)
    print(f"  {name}: {total / 1024:.1f} KB in {len(rows)} responses "
          f"({'within' if total <= target else 'OVER'} {target // 1024} KB)")
    for url, size in sorted(rows, key=lambda row: -row[1]):
        print(f"    {size / 1024:6.1f} KB  {url.split('//', 1)[-1].split('/', 1)[-1] or '/'}")
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="measure this server's home page instead of a demo one")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        server, url = (None, args.url) if args.url else serve_demo(Path(folder))
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        ok = True
        for label, encoding in (("browser's Accept-Encoding", None), ("gzip only", "gzip")):
            print(f"home page, {label}:")
            first, repeat = measure(browser, url + "/", encoding)
            ok &= report("first visit", first, FIRST_TARGET) <= FIRST_TARGET
            ok &= report("repeat visit", repeat, REPEAT_TARGET) <= REPEAT_TARGET
        browser.close()
        if server is not None:
            server.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
