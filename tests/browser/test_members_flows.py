"""Members' flows on a 360 px phone: a moderator closes a question as a duplicate and its asker
is led to the answer; a member saves an answer and finds it again. Each page is audited by
the fixture (axe-core, no sideways scrolling); screenshots also go to .screens/members/."""

import pytest
from conftest import PASSWORD, PHONE, SCREENS, LiveServer, Visitor

from forum import indexing
from forum.extensions import db
from forum.models import Thread
from forum.seeding import DEMO_PASSWORD, seed
from forum.services import accounts, posts

SHOTS = SCREENS / "members"


def shot(person, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    person.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def big_enough(person, selector):
    box = person.page.locator(selector).first.bounding_box()
    return box is not None and box["height"] >= 44


def test_a_moderator_closes_a_duplicate_and_the_asker_finds_the_answer(visitor, live_server):
    app = live_server.app
    with app.app_context():
        original = db.session.scalar(
            db.select(Thread).where(Thread.title.like("Làm sao đổi mật khẩu Zalo%"))
        )
        original_url = f"/q/{original.id}/{original.slug}"
        # A member of her own: the other flows change passwords and post a lot from theirs.
        asker = accounts.register("ba_tam", PASSWORD, display_name="Bà Tâm")
        repeat = posts.ask_question(
            asker,
            "Quên mật khẩu Zalo, không nhận được mã thì làm sao?",
            "Bà bấm Quên mật khẩu trên Zalo mà chờ mãi không thấy mã gửi về máy Oppo.",
            "zalo",
        )
        repeat_url, repeat_id = f"/q/{repeat.id}/{repeat.slug}", repeat.id

    moderator = visitor(PHONE, "vi")
    moderator.login("dieuhanh_lan")
    moderator.go(repeat_url, label="before-closing")
    assert big_enough(moderator, f'a[href="/q/{repeat_id}/duplicate"]')
    moderator.submit(f'a[href="/q/{repeat_id}/duplicate"]', label="duplicate-form")
    shot(moderator, "01-duplicate-form-phone")
    moderator.page.fill("#of-link", live_server.url + original_url)
    moderator.submit("form.stack button.primary", label="closed")
    # The box that says where the answer is comes right under the title, on the first screen.
    assert moderator.in_view("#duplicate")
    assert "Làm sao đổi mật khẩu Zalo" in moderator.text("#duplicate")
    assert "Zalo sẽ gọi điện đọc mã" in moderator.text("#duplicate")
    shot(moderator, "02-duplicate-closed-phone")

    asker_visit = visitor(PHONE, "vi")
    asker_visit.login("ba_tam")
    asker_visit.submit(".icon-link.bell", label="bell")
    assert "đã có câu trả lời ở một câu hỏi khác" in asker_visit.text(".notes")
    shot(asker_visit, "03-asker-notification-phone")
    asker_visit.submit(".notes li button", label="asker-sees-duplicate")
    assert asker_visit.in_view("#duplicate")
    asker_visit.submit("#duplicate a.button", label="accepted-answer")
    assert asker_visit.page.url.split("#")[0].endswith(original_url)
    assert "Zalo sẽ gọi điện đọc mã" in asker_visit.text(".answers")
    shot(asker_visit, "04-original-answer-phone")


def test_a_member_saves_an_answer_and_finds_it_in_saved_posts(visitor, live_server):
    with live_server.app.app_context():
        thread = db.session.scalar(
            db.select(Thread).where(Thread.title.like("Cách dùng ChatGPT viết bài%"))
        )
        thread_url = f"/q/{thread.id}/{thread.slug}"

    member = visitor(PHONE, "vi")
    member.login("tuan_sv")
    member.go(thread_url, label="thread-to-save")
    save = "article.answer form[action$='/save'] button"
    assert big_enough(member, save)
    member.submit(save, label="saved-answer")
    assert member.page.locator(f"{save}[aria-pressed='true']").count() == 1
    shot(member, "05-answer-saved-phone")
    member.submit('.icon-link[href="/saved"]', label="saved-page")
    assert "Cách dùng ChatGPT viết bài" in member.text(".saved-list")
    assert "Viết bài" in member.text(".saved-list")
    shot(member, "06-saved-page-phone")
    member.submit(".saved-list button", label="unsaved")
    assert "Bạn chưa lưu bài nào" in member.text()


def test_visitors_find_register_in_the_header(visitor):
    newcomer = visitor(PHONE, "vi")
    newcomer.go("/", label="home-visitor")
    link = newcomer.page.locator(".site-header a[href='/register']")
    assert link.is_visible() and newcomer.in_view(".site-header a[href='/register']")
    shot(newcomer, "07-home-visitor-register-phone")
    newcomer.submit(".site-header a[href='/register']", label="register-from-header")
    assert newcomer.page.url.endswith("/register")


def test_the_header_fits_a_320_px_screen_for_visitors_and_members(visitor):
    person = visitor(PHONE, "vi")
    person.page.set_viewport_size({"width": 320, "height": 640})
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    person.go("/", audit=False)
    assert person.page.evaluate(overflow) <= 1
    shot(person, "08-home-visitor-320")
    person.login("minh_sv")
    person.go("/", audit=False)
    assert person.page.evaluate(overflow) <= 1
    assert person.page.locator('.icon-link[href="/saved"]').is_visible()
    shot(person, "09-home-member-320")


def seeded_forum():
    seed()
    indexing.apply_search_changes()
    return {}


@pytest.fixture(scope="module")
def seeded_server(chromium, tmp_path_factory, classifier_path):
    """The forum as `make run` shows it: the demo content of seed/."""
    server = LiveServer(tmp_path_factory.mktemp("seeded"), classifier_path, populate=seeded_forum)
    yield server
    server.close()


def test_the_duplicate_flow_on_seeded_threads(chromium, seeded_server, request):
    with seeded_server.app.app_context():
        def find(start):
            return db.session.scalar(db.select(Thread).where(Thread.title.like(start + "%")))

        original = find("Dùng ChatGPT để kiểm tra tin nhắn có phải lừa đảo")
        repeat = find("co cach nao nho may AI xem giup tin nhan")
        original_url = f"/q/{original.id}/{original.slug}"
        repeat_url, repeat_id = f"/q/{repeat.id}/{repeat.slug}", repeat.id
    moderator = Visitor(chromium, seeded_server, request.node.name, PHONE, "vi")
    try:
        moderator.login("dieuhanh_lan", DEMO_PASSWORD)
        moderator.go("/u/dieuhanh_lan", label="seeded-moderator-profile")
        assert "phút trước" not in moderator.text(".profile")  # joined months ago
        shot(moderator, "10-seeded-profile-joined-phone")
        moderator.go(repeat_url, label="seeded-repeat")
        moderator.submit(f'a[href="/q/{repeat_id}/duplicate"]', label="seeded-duplicate-form")
        moderator.page.fill("#of-link", original_url)
        moderator.submit("form.stack button.primary", label="seeded-closed")
        assert moderator.in_view("#duplicate")
        assert "kiểm tra tin nhắn có phải lừa đảo" in moderator.text("#duplicate")
        shot(moderator, "11-seeded-duplicate-closed-phone")
        # The duplicate's own words, searched, lead to the original.
        moderator.go("/search?q=nho+may+AI+xem+giup+tin+nhan+co+lua+khong&mode=keyword",
                     label="seeded-search")
        first = moderator.page.locator(".results .result-title a").first
        assert first.get_attribute("href").split("#")[0] == original_url
        shot(moderator, "12-seeded-search-leads-to-original-phone")
    finally:
        moderator.close()


def test_an_answer_with_a_phone_number_stops_at_the_check_step(visitor, live_server):
    with live_server.app.app_context():
        thread = db.session.scalar(
            db.select(Thread).where(Thread.title.like("Kích hoạt tài khoản định danh%"))
        )
        thread_url = f"/q/{thread.id}/{thread.slug}"
    helper = visitor(PHONE, "vi")
    helper.login("minh_sv")
    helper.go(thread_url, label="thread-to-answer-with-phone")
    text = "Bạn ra công an xã mang căn cước, cần thì gọi mình 0912 345 678 mình chỉ thêm."
    helper.page.fill("#answer-body", text)
    helper.submit("#answer-form button.primary", label="answer-privacy-check")
    # Not posted, and it says so first, on the first screen; the answer is kept below.
    assert helper.in_view("#privacy-warning")
    assert "chưa được đăng" in helper.text("#privacy-warning")
    assert helper.page.input_value("#answer-body") == text
    shot(helper, "13-answer-privacy-check-phone")
    helper.page.fill("#answer-body", text.replace(", cần thì gọi mình 0912 345 678 mình", ","))
    helper.submit('button[name="confirmed"]', label="answer-posted-after-check")
    assert "Bạn ra công an xã mang căn cước" in helper.text(".answers")
    assert "0912" not in helper.text(".answers")
