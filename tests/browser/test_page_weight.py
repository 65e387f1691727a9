"""What a phone downloads for the home page: ≤ 50 KB on a first visit, ≤ 15 KB when it comes
back (pages compressed, CSS and JS cached for a year under fingerprinted URLs). Counted as
Chromium's DevTools count bytes transferred: headers and compressed bodies."""

from conftest import PHONE

FIRST_TARGET, REPEAT_TARGET = 50 * 1024, 15 * 1024


def transferred(page, cdp, url):
    sizes = {}

    def finished(event):
        sizes[event["requestId"]] = event["encodedDataLength"]

    cdp.on("Network.loadingFinished", finished)
    page.goto(url, wait_until="networkidle")
    cdp.remove_listener("Network.loadingFinished", finished)
    return sum(sizes.values())


def test_the_home_page_is_light_on_first_and_repeat_visits(chromium, live_server):
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    first = transferred(page, cdp, live_server.url + "/")
    page.goto("about:blank")
    repeat = transferred(page, cdp, live_server.url + "/")
    context.close()
    print(f"home page: first visit {first / 1024:.1f} KB, repeat {repeat / 1024:.1f} KB")
    assert first <= FIRST_TARGET
    assert repeat <= REPEAT_TARGET
    assert repeat < first / 2  # the CSS and the script came from the cache
