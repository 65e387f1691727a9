"""Spam and scam rules: hold advertising, refuse known scams, let warnings about scams through."""

from datetime import UTC, datetime, timedelta

import pytest

from moderation.context import Post, PostContext, RecentPost
from moderation.lexicon import Lexicon, read_lexicon_file, read_phrase_file
from moderation.moderator import ModerationConfig
from moderation.spam import (
    LinkCheck,
    PostingBurstCheck,
    RepeatedPostCheck,
    SellingAndScamCheck,
    ShoutingCheck,
    find_links,
    find_phones,
    similarity,
)

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
CONFIG = ModerationConfig()
TRUSTED = read_phrase_file(CONFIG.trusted_domains_path)


@pytest.fixture(scope="module")
def selling() -> SellingAndScamCheck:
    return SellingAndScamCheck(Lexicon(read_lexicon_file(CONFIG.spam_lexicon_path)), TRUSTED)


@pytest.fixture(scope="module")
def links() -> LinkCheck:
    return LinkCheck(read_phrase_file(CONFIG.shorteners_path), TRUSTED)


def run(check, body, title="", **context):
    return list(check.run(Post(body, title=title), PostContext(**context)))


def codes(reasons):
    return [(reason.code, reason.action) for reason in reasons]


# --- links ---------------------------------------------------------------------------------


def test_links_are_found_with_their_host():
    post = Post("xem https://www.Example.com/a?b=1 và bit.ly/abc, hoặc zing.vn")
    assert [link.host for link in find_links(post)] == ["example.com", "bit.ly", "zing.vn"]


def test_a_new_account_posting_a_link_waits_for_review(links):
    body = "Tài liệu học AI miễn phí ở đây: https://hoc-ai-mienphi.xyz/tai-lieu"
    assert codes(run(links, body, author_age_days=1)) == [("link_new_account", "review")]
    assert run(links, body, author_age_days=200) == []


def test_well_known_domains_do_not_count_for_new_accounts(links):
    body = "Vào https://chatgpt.com hoặc dichvucong.gov.vn để làm nhé"
    assert run(links, body, author_age_days=1) == []


def test_shortened_links_wait_for_review_whoever_posts_them(links):
    body = "Xem video hướng dẫn tại bit.ly/3abcXYZ nhé"
    (reason,) = run(links, body, author_age_days=900)
    assert (reason.code, reason.action) == ("link_shortener", "review")
    assert [body[span.start : span.end] for span in reason.spans] == ["bit.ly/3abcXYZ"]


def test_too_many_links_wait_for_review(links):
    body = " ".join(f"https://shop{number}.vn" for number in range(6))
    assert codes(run(links, body)) == [("too_many_links", "review")]


def test_max_links_for_new_accounts_comes_from_config():
    check = LinkCheck([], [], new_account_days=3, max_links_new_account=1)
    assert run(check, "https://a.vn", author_age_days=1) == []
    assert codes(run(check, "https://a.vn https://b.vn", author_age_days=1)) == [
        ("link_new_account", "review")
    ]


# --- phones, selling and scams ---------------------------------------------------------------


@pytest.mark.parametrize(
    "number", ["0912345678", "0912 345 678", "0912.345.678", "+84 912 345 678", "024 3826 1234"]
)
def test_vietnamese_phone_numbers_are_found(number):
    assert len(find_phones(Post(f"gọi {number} nhé"))) == 1


@pytest.mark.parametrize("number", ["113", "115", "1900 1234", "1800 5678", "2024", "12345678901"])
def test_hotlines_and_other_numbers_are_not_phone_numbers(number):
    assert find_phones(Post(f"gọi {number} nhé")) == []


def test_phone_with_selling_words_waits_for_review(selling):
    body = "Bán tài khoản ChatGPT Plus giá rẻ, liên hệ 0912 345 678"
    (reason,) = run(selling, body)
    assert (reason.code, reason.action) == ("selling_with_contact", "review")
    assert {body[span.start : span.end] for span in reason.spans} >= {
        "Bán tài khoản",
        "giá rẻ",
        "0912 345 678",
    }


def test_selling_with_an_invitation_to_inbox_waits_for_review(selling):
    assert codes(run(selling, "Key bản quyền Windows giá rẻ, ib mình")) == [
        ("selling_with_contact", "review")
    ]


def test_mentioning_zalo_or_a_sale_in_a_question_passes(selling):
    assert run(selling, "Zalo có tính năng giảm giá khi gửi ảnh không ạ?") == []
    assert run(selling, "Nhà mình bán chè, nhờ AI viết bài giới thiệu được không?") == []


@pytest.mark.parametrize(
    "body",
    [
        "Nhận làm CCCD giả, lấy nhanh trong ngày, liên hệ 0987 654 321",
        "Vay tiền không thẩm định, giải ngân 30 phút, gọi 0912345678",
        "ai can vay von ib e, ko can tham dinh, lai suat thap",
        "Làm bằng giả mọi loại, kết bạn zalo 0901234567",
    ],
)
def test_known_scams_with_a_contact_are_rejected(selling, body):
    reasons = run(selling, body)
    assert ("scam_pattern", "reject") in codes(reasons)
    assert "cảnh báo" in next(r for r in reasons if r.code == "scam_pattern").message_vi


def test_a_question_about_a_scam_without_contact_passes(selling):
    assert run(selling, "Làm CCCD giả thì bị phạt thế nào ạ?") == []


@pytest.mark.parametrize(
    "body",
    [
        "Cảnh báo lừa đảo: có người gọi xin OTP, đừng đưa cho ai nhé",
        "Cẩn thận: số 0912 345 678 gọi tự xưng công an, bảo làm CCCD giả, vay không thẩm định",
        "Mọi người coi chừng mấy tin 'vay tiền không thẩm định' kèm số điện thoại, toàn lừa đảo",
        "Có ai bị lừa kiểu 'việc nhẹ lương cao, ib zalo' chưa?",
    ],
)
def test_warnings_about_scams_pass(selling, body):
    assert run(selling, body) == []


def test_not_a_scam_is_a_selling_phrase_not_a_warning(selling):
    body = "Uy tín không lừa đảo, làm CCCD giả lấy ngay, gọi 0987654321"
    assert ("scam_pattern", "reject") in codes(run(selling, body))


def test_official_hotlines_pass(selling):
    body = "Gặp lừa đảo thì gọi 113 hoặc tổng đài 1900 1234 của ngân hàng"
    assert run(selling, body) == []


# --- repeats, bursts, shouting ---------------------------------------------------------------

SPAM_TEXT = "Khóa học AI kiếm tiền online cấp tốc, học phí ưu đãi chỉ hôm nay, đăng ký ngay"


def test_similarity_ignores_case_diacritics_and_punctuation():
    assert similarity("Xin chào, mọi người!", "xin chao moi nguoi") == 1.0
    assert similarity("Xin chào mọi người", "Cách dùng ChatGPT trên điện thoại") < 0.2


def test_posting_nearly_the_same_text_again_waits_for_review():
    earlier = RecentPost(SPAM_TEXT + "!!", NOW - timedelta(hours=2))
    check = RepeatedPostCheck()
    assert codes(run(check, SPAM_TEXT, recent_posts=(earlier,), now=NOW)) == [
        ("repeated_post", "review")
    ]


def test_old_or_different_posts_are_not_repeats():
    check = RepeatedPostCheck(window_s=86400)
    old = RecentPost(SPAM_TEXT, NOW - timedelta(days=3))
    other = RecentPost("Cho mình hỏi cách bật phụ đề tự động trên YouTube với ạ", NOW)
    assert run(check, SPAM_TEXT, recent_posts=(old, other), now=NOW) == []


def test_short_thanks_repeated_are_not_spam():
    earlier = RecentPost("Cảm ơn bạn nhiều nhé!", NOW - timedelta(minutes=5))
    assert run(RepeatedPostCheck(), "Cảm ơn bạn nhiều nhé!", recent_posts=(earlier,), now=NOW) == []


def test_a_burst_of_posts_waits_for_review():
    check = PostingBurstCheck(window_s=300, max_posts=6)
    recent = tuple(RecentPost(f"bài {n}", NOW - timedelta(seconds=30 * n)) for n in range(5))
    (reason,) = run(check, "bài mới", recent_posts=recent, now=NOW)
    assert (reason.code, reason.action) == ("posting_burst", "review")
    assert "6 bài trong 5 phút" in reason.message_vi
    assert run(check, "bài mới", recent_posts=recent[:4], now=NOW) == []


def test_without_a_clock_in_the_context_now_is_used():
    recent = tuple(RecentPost("x", datetime.now(UTC) - timedelta(seconds=10)) for _ in range(5))
    assert codes(run(PostingBurstCheck(), "bài mới", recent_posts=recent)) == [
        ("posting_burst", "review")
    ]


def test_all_caps_gets_a_friendly_hint_but_is_published():
    body = "CHO EM HỎI CÁCH BẬT CHỮ TO TRÊN ĐIỆN THOẠI SAMSUNG Ạ, MẮT EM KÉM"
    (reason,) = run(ShoutingCheck(), body)
    assert (reason.code, reason.action) == ("all_caps", "allow")
    assert run(ShoutingCheck(), "Dùng AI với GPT-4 và API của OpenAI thế nào ạ?") == []


def test_all_caps_can_be_held_for_review_by_config():
    body = "MUA NGAY KẺO HẾT, GIẢM GIÁ SỐC CHỈ HÔM NAY THÔI NHÉ"
    assert codes(run(ShoutingCheck(action="review"), body)) == [("all_caps", "review")]
