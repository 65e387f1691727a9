"""The forum's main flows, as people use them: on a 360 px phone and a 1280 px desktop, in
Vietnamese and in English. Each page they reach is audited by the fixture (axe-core, no
sideways scrolling, screenshot), and every visitor fails on a script error or a 5xx."""

import re

from conftest import DESKTOP, PASSWORD, PHONE


def test_a_newcomer_registers_with_her_name_and_asks_with_help_while_typing(visitor):
    nga = visitor(PHONE, "vi")
    nga.go("/register")
    # She types her name where the username goes, as many do.
    nga.page.fill("#username", "Bà Nga Đồng Hỷ")
    nga.page.fill("#email", "nga@example.vn")
    nga.page.fill("#password", PASSWORD)
    nga.page.fill("#password2", PASSWORD)
    nga.submit("form.stack button.primary", label="register-suggestion")
    assert nga.page.input_value("#username") == "ba_nga_dong_hy"
    assert nga.page.input_value("#display_name") == "Bà Nga Đồng Hỷ"
    assert nga.page.input_value("#email") == "nga@example.vn"  # kept; passwords are not
    assert "ba_nga_dong_hy" in nga.text(".field-error")
    nga.page.fill("#password", PASSWORD)
    nga.page.fill("#password2", PASSWORD)
    nga.submit("form.stack button.primary", label="welcome")
    assert "Chào mừng Bà Nga Đồng Hỷ" in nga.text()

    nga.go("/ask")
    nga.page.type("#title", "Quên mật khẩu Zalo thì lấy lại thế nào?", delay=5)
    similar = nga.page.locator("#similar-live")
    similar.locator("a").first.wait_for()
    assert "Làm sao đổi mật khẩu Zalo" in similar.inner_text()
    title_box = nga.page.locator("#title").bounding_box()
    assert similar.bounding_box()["y"] - (title_box["y"] + title_box["height"]) < 60
    assert nga.in_view("#similar-live")  # right under the title, not 850 px below
    nga.page.fill(
        "#body",
        "Em dùng điện thoại Samsung, đã thử bấm Quên mật khẩu nhưng không thấy mã. "
        "Số em là 0912 345 678, ai gọi giúp em với.",
    )
    nga.page.locator("#privacy-live").wait_for()
    assert "số điện thoại" in nga.page.inner_text("#privacy-live")
    assert nga.in_view("#privacy-live")
    nga.audit("assistant-while-typing")
    nga.page.fill("#tags", "zalo")
    nga.submit("#ask-form button.primary", label="privacy-stop")
    # Not published: the warning is the first thing on the screen, before anything else.
    assert nga.in_view("#privacy-warning")
    assert "chưa được đăng" in nga.text("#privacy-warning")
    body = nga.page.input_value("#body")
    nga.page.fill("#body", body.replace("Số em là 0912 345 678, ai gọi giúp em với.", ""))
    nga.submit('button[name="confirmed"]', label="posted")
    assert nga.page.url.split("/")[-2].isdigit() or "/q/" in nga.page.url
    assert "0912" not in nga.text()
    assert "Quên mật khẩu Zalo thì lấy lại thế nào?" in nga.text("h1")


def test_answer_comment_vote_accept_and_the_bell(visitor, live_server):
    asker = visitor(DESKTOP, "en")
    asker.login("co_giao_mai")
    asker.go("/notifications", audit=False)  # earlier flows may have told her of something
    asker.go("/ask")
    asker.page.fill("#title", "How do I make Gemini summarise a long PDF file?")
    asker.page.fill(
        "#body", "I tried uploading a 40 page PDF to Gemini on my laptop but it only reads part."
    )
    asker.page.fill("#tags", "gemini")
    asker.page.locator("#ask-confirmed[value='1']").wait_for(state="attached")
    asker.submit("#ask-form button.primary", label="asked")
    thread_url = asker.page.url

    helper = visitor(DESKTOP, "en")
    helper.login("bachuong")
    helper.go(thread_url.replace(live_server.url, ""), label="thread-to-answer")
    helper.page.fill("#answer-body", "Split the PDF into chapters first, then ask Gemini about")
    helper.page.wait_for_timeout(400)  # the draft is kept 300 ms after typing stops
    helper.page.reload()
    assert "Split the PDF" in helper.page.input_value("#answer-body")  # the draft came back
    helper.page.fill(
        "#answer-body", "Split the PDF into chapters first, then ask Gemini about each one."
    )
    helper.submit("#answer-form button.primary", label="answered")
    assert "Split the PDF into chapters" in helper.text(".answers")
    helper.page.reload()
    assert helper.page.input_value("#answer-body") == ""  # posted, so the draft is gone
    helper.page.click("section.question details.add-comment summary")
    helper.page.fill("section.question textarea[name=body]", "Which Gemini plan do you use?")
    helper.submit("section.question details.add-comment button", label="commented")
    helper.submit("section.question button.vote.up", label="voted")
    assert helper.page.locator("section.question button.vote.up.on").count() == 1

    asker.page.reload()
    badge = asker.page.locator(".bell .badge")
    assert badge.inner_text() == "2"  # an answer and a comment
    asker.go("/notifications", label="notifications")
    assert asker.page.locator(".bell .badge").count() == 0  # opening the bell clears it
    asker.submit(".notes li form button", label="opened-notification")
    asker.submit("article.answer form[action$='/accept'] button", label="accepted")
    assert asker.page.locator("#solved").count() == 1
    assert asker.page.locator(".solved-mark").count() == 1  # one "solved", not two
    assert "Solved" in asker.text("#solved")


def test_search_as_typed_without_diacritics_and_with_no_close_match(visitor):
    reader = visitor(PHONE, "vi")
    reader.go("/")
    reader.page.fill("#site-q", "doi mat khau zalo")
    reader.submit(".site-search button", label="search-no-diacritics")
    assert "Làm sao đổi mật khẩu Zalo" in reader.text(".results")
    reader.go("/search?q=Đổi mật khẩu Zalo", label="search-with-diacritics")
    assert "Làm sao đổi mật khẩu Zalo" in reader.text(".results")
    assert reader.page.locator(".result .tag", has_text="Bảo mật").count() >= 1  # names
    reader.go("/search?q=xyzzy plugh quux", label="search-nonsense")
    assert reader.page.locator("#no-close-match").count() == 1
    assert "Chưa có câu hỏi nào thật sát" in reader.text("#no-close-match")
    assert reader.page.locator("#no-close-match a[href*='/ask']").count() == 1

    english = visitor(DESKTOP, "en")
    english.go("/search?q=vneid muc 2", label="search-en")
    assert "VNeID" in english.text(".results")
    english.go("/", label="home-desktop-en")
    english.go("/tags", label="tags-en")
    english.go("/users", label="users-en")
    english.go("/moderation/log", label="public-log-en")


def test_home_tabs_scroll_visibly_and_your_own_page_is_in_the_menu(visitor):
    member = visitor(PHONE, "vi")
    member.login("minh_sv")
    member.go("/", label="home-phone")
    tabs = member.page.locator(".sort-tabs a")
    for i in range(tabs.count()):
        tab = tabs.nth(i)
        # Every label is whole: a tab is never narrower than its text.
        assert tab.evaluate("t => t.scrollWidth <= t.clientWidth + 1")
    assert member.page.locator(".icon-link.me").is_visible()
    member.submit(".icon-link.me", label="own-profile-phone")
    assert "@minh_sv" in member.text("h1")


def test_a_suggested_past_answer_solves_a_new_question(visitor):
    asker = visitor(DESKTOP, "vi")
    asker.login("minh_sv")
    asker.go("/ask")
    asker.page.fill("#title", "Mình quên mật khẩu Zalo trên máy Samsung, lấy lại sao?")
    asker.page.fill("#body", "Mình đã thử bấm Quên mật khẩu trên điện thoại Samsung mà chưa được.")
    asker.page.fill("#tags", "zalo")
    asker.page.locator("#similar-live a").first.wait_for()
    asker.audit("ask-desktop-similar")
    asker.submit("#ask-form button.primary", label="asked-with-suggestions")
    suggestion = asker.page.locator("#suggestions .suggestion-wrap").first
    passage = suggestion.locator(".passage").inner_text()
    assert not passage.rstrip().endswith(":")  # whole sentences, never "Các bước:" alone
    asker.submit("#suggestions button[value='solved']", label="solved-by-suggestion")
    assert asker.page.locator(".solved-mark").count() == 1
    assert "Đã giải quyết nhờ một câu trả lời cũ" in asker.text("#solved")


def test_flag_review_appeal_suspend_and_lift(visitor, live_server):
    spammer = visitor(PHONE, "vi")
    spammer.login("tuan_sv")
    spammer.go("/search?q=VNeID", audit=False)
    spammer.submit(".result-title a", audit=False)
    thread_url = spammer.page.url.replace(live_server.url, "").split("#")[0]
    spammer.page.fill("#answer-body", "Bạn ra công an xã mang theo căn cước là làm được ngay.")
    spammer.submit("#answer-form button.primary", label="spam-answered")

    reporter = visitor(PHONE, "vi")
    reporter.login("minh_sv")
    reporter.go(thread_url, audit=False)
    answer = reporter.page.locator("article.answer", has_text="mang theo căn cước là làm được")
    answer.locator("details.flag summary").click()
    answer.locator("input[value='rude']").check()
    reporter.audit("flag-form")
    with reporter.page.expect_navigation():
        answer.locator("details.flag button").click()
    assert "Cảm ơn bạn" in reporter.text(".flash")

    moderator = visitor(PHONE, "vi")
    moderator.login("dieuhanh_lan")
    moderator.go("/review", label="queue-phone")
    case = moderator.page.locator("li.case", has_text="mang theo căn cước là làm được")
    text = case.inner_text()
    assert "Thô lỗ, xúc phạm" in text and "rude" not in text and "open" not in text
    case.locator("details.reject-box summary").click()
    case.locator("select[name=label]").select_option("offensive")
    case.locator("input[name=note]").fill("Trả lời thiếu tôn trọng người hỏi.")
    with moderator.page.expect_navigation():
        case.locator("details.reject-box button").click()
    moderator.go("/review/log", label="log-phone")
    log = moderator.text()
    for code in ("reject", "flag", "auto_allow", "dismiss_flags", "published", "rejected"):
        assert not re.search(rf"(?<![\w-]){code}(?![\w-])", log), code
    moderator.go("/review/stats", label="stats-phone")
    moderator.go("/moderation/log", label="public-log-phone")
    assert "Xúc phạm, thô tục" in moderator.text()

    spammer.go("/notifications", label="author-told")
    spammer.submit(".notes li form button", label="rejected-post")
    own = spammer.page.locator("article.answer", has_text="mang theo căn cước là làm được")
    own.locator("details.appeal summary").click()
    own.locator("textarea[name=note]").fill("Mình chỉ muốn trả lời ngắn gọn thôi ạ.")
    with spammer.page.expect_navigation():
        own.locator("details.appeal button").click()
    assert "Đã gửi kháng nghị" in spammer.text(".flash")

    moderator.go("/u/tuan_sv", label="profile-mod-tools")
    moderator.page.select_option("#days", "3")
    moderator.page.fill("#reason", "Nhiều lần trả lời thiếu tôn trọng.")
    moderator.submit(".mod-tools details.suspend-box button", label="suspended")
    assert "Đã tạm khóa tuan_sv" in moderator.text(".flash")

    spammer.go("/ask", label="suspended-ask")
    assert spammer.in_view("#suspended-notice")  # before writing anything
    assert spammer.page.locator("#ask-form").count() == 0
    assert re.search(r"\d\d/\d\d/\d{4}", spammer.text("#suspended-notice"))  # its end
    spammer.go(thread_url, label="suspended-thread")
    assert spammer.page.locator("#answer-form").count() == 0
    assert spammer.page.locator("#suspended-notice").count() == 1

    moderator.go("/u/tuan_sv", audit=False)
    moderator.submit(".mod-tools button[value=lift]", label="lifted")
    assert "Đã mở khóa tuan_sv" in moderator.text(".flash")
    spammer.go("/ask", audit=False)
    assert spammer.page.locator("#ask-form").count() == 1


def test_edit_out_a_phone_number_and_redact_the_old_revision(visitor, live_server):
    with live_server.app.app_context():
        from forum.extensions import db
        from forum.models import User
        from forum.services import posts

        author = db.session.get(User, live_server.users["minh_sv"])
        thread = posts.ask_question(
            author,
            "Cần người chỉ cách cài Canva trên laptop",
            "Ai biết cài Canva chỉ mình với, gọi mình số 0987 654 321 nhé, cảm ơn.",
            "canva",
            personal_data_ok=True,
        )
        question_id, path = thread.question.id, f"/q/{thread.id}/{thread.slug}"
    author = visitor(PHONE, "en")
    author.login("minh_sv")
    author.go(f"/p/{question_id}/edit", label="edit-phone-en")
    body = author.page.input_value("#body")
    author.page.fill("#body", body.replace("gọi mình số 0987 654 321 nhé, ", ""))
    author.submit("form.stack button.primary", label="edited")
    author.go(f"/p/{question_id}/history", label="history-author")
    assert "0987 654 321" in author.text()  # the old revision, for its author only
    author.page.once("dialog", lambda dialog: dialog.accept())
    author.submit("#revision-1 form button", label="redacted")
    assert "0987" not in author.text()

    stranger = visitor(PHONE, "en")
    response = stranger.go(f"/p/{question_id}/history", audit=False)
    assert response.status == 404
    stranger.go(path, label="thread-public-en")
    assert "0987" not in stranger.text()
    assert stranger.page.locator("a[href$='/history']").count() == 0  # no old revisions


def test_a_member_who_forgot_the_password_gets_a_link_from_a_moderator(visitor):
    member = visitor(PHONE, "en")
    member.go("/login", label="login-en")
    member.submit("a[href='/forgot']", label="forgot-en")
    member.page.fill("#username", "ba_lien")
    member.page.fill("#contact", "Zalo group Tan Cuong")
    member.submit("form.stack button.primary", label="forgot-sent")

    moderator = visitor(DESKTOP, "vi")
    moderator.login("dieuhanh_lan")
    moderator.go("/notifications", label="reset-request")
    note = moderator.page.locator(".notes li", has_text="ba_lien").first
    with moderator.page.expect_navigation():
        note.locator("button").click()
    moderator.submit(".mod-tools form[action$='/reset-link'] button", label="reset-link")
    link = moderator.page.inner_text("#reset-url")

    member.page.goto(link)
    member.audit("reset-page-en")
    member.page.fill("#password", "mat-khau-moi-2026")
    member.page.fill("#password2", "mat-khau-moi-2026")
    member.submit("form.stack button.primary", label="reset-done")
    assert member.page.locator(".icon-link.me").count() == 1
    member.logout()
    member.login("ba_lien", "mat-khau-moi-2026")
    response = member.page.goto(link)  # used once: no second time
    assert response.status == 404


def test_the_other_pages_at_both_sizes(visitor):
    admin = visitor(DESKTOP, "vi")
    admin.login("quantri")
    for path in ("/admin/suggestions", "/review", "/review/log", "/review/stats", "/account",
                 "/account/password", "/tags/zalo", "/u/co_giao_mai", "/users"):
        admin.go(path)
    phone = visitor(PHONE, "en")
    phone.login("co_giao_mai")
    for path in ("/", "/tags", "/tags/zalo", "/users", "/account", "/notifications",
                 "/register/../no-such-page"):
        phone.go(path)
    assert "Not found" in phone.text("h1") or "404" in phone.text("h1")
