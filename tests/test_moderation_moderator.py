"""The Moderator: every check runs, every reason is kept, the strictest action wins, and a
failing check holds the post for review instead of publishing it or raising."""

import math
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from moderation import (
    ModerationConfig,
    Moderator,
    PostContext,
    Reason,
    RecentPost,
    SimilarQuestion,
    Span,
    Verdict,
    train_classifier,
    training_rows,
)
from moderation.similar import SimilarQuestionsCheck
from moderation.text import fold
from tests.test_moderation_classifier import TINY_SET
from tests.test_moderation_lexicon import ORDINARY


class FixedCheck:
    def __init__(self, name, *actions):
        self.name = name
        self.actions = actions

    def run(self, post, context):
        return [
            Reason(f"{self.name}_{action}", "vi", "en", 1.0, action, check=self.name)
            for action in self.actions
        ]


class BrokenCheck:
    name = "broken"

    def run(self, post, context):
        raise RuntimeError("boom")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "toxicity.joblib"
    train_classifier(TINY_SET, path, folds=3)
    return path


@pytest.fixture(scope="module")
def moderator(tiny_model):
    return Moderator(ModerationConfig(classifier_path=tiny_model))


def test_no_reasons_means_allow():
    verdict = Moderator(checks=[FixedCheck("quiet")]).check("Xin chào")
    assert verdict == Verdict("allow", ())


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (("allow",), "allow"),
        (("allow", "review"), "review"),
        (("review", "reject", "allow"), "reject"),
        (("reject", "review"), "reject"),
    ],
)
def test_strictest_action_wins_and_every_reason_is_kept(actions, expected):
    checks = [FixedCheck(f"c{index}", action) for index, action in enumerate(actions)]
    verdict = Moderator(checks=checks).check("text")
    assert verdict.action == expected
    assert [reason.action for reason in verdict.reasons] == list(actions)


def test_a_crashing_check_holds_the_post_and_names_the_check():
    verdict = Moderator(checks=[BrokenCheck(), FixedCheck("after", "allow")]).check("text")
    assert verdict.action == "review"
    failed, after = verdict.reasons
    assert (failed.code, failed.check, failed.action) == ("check_failed", "broken", "review")
    assert "broken" in failed.message_vi and "broken" in failed.message_en
    assert after.check == "after"  # the other checks still ran


def test_a_crash_does_not_lower_a_stricter_verdict():
    verdict = Moderator(checks=[BrokenCheck(), FixedCheck("scam", "reject")]).check("text")
    assert verdict.action == "reject"


def test_missing_training_data_holds_posts_instead_of_publishing(tmp_path):
    config = ModerationConfig(
        classifier_path=tmp_path / "none.joblib", training_data_path=tmp_path / "none.csv"
    )
    verdict = Moderator(config).check("Cho mình hỏi cách dùng ChatGPT ạ")
    assert verdict.action == "review"
    assert [(r.code, r.check) for r in verdict.reasons] == [("check_failed", "toxicity_classifier")]


def test_verdict_to_dict_shape():
    reason = Reason(
        "abuse_insult", "vi", "en", 1.0, "review", (Span("body", 0, 3),), "abuse_lexicon"
    )
    assert Verdict("review", (reason,)).to_dict() == {
        "action": "review",
        "reasons": [
            {
                "code": "abuse_insult",
                "message_vi": "vi",
                "message_en": "en",
                "score": 1.0,
                "action": "review",
                "spans": [{"field": "body", "start": 0, "end": 3}],
                "check": "abuse_lexicon",
            }
        ],
        "nudges": [],
    }


def test_a_reason_with_an_unknown_action_is_a_bug():
    with pytest.raises(ValueError, match="unknown action"):
        Reason("x", "vi", "en", 1.0, "delete")


def test_default_checks_are_all_named(moderator):
    assert [check.name for check in moderator.checks] == [
        "abuse_lexicon",
        "toxicity_classifier",
        "selling_and_scams",
        "links",
        "repeated_posts",
        "posting_burst",
        "shouting",
        "similar_questions",
    ]


# --- the full pipeline (with a model trained on a tiny set) -------------------------------------


def test_insults_are_held_with_spans_in_the_right_field(moderator):
    title = "Hỏi về AI"
    body = "Mày ngu thế, đã bảo vào Cài đặt rồi"
    verdict = moderator.check(body, title=title)
    assert verdict.action == "review"
    lexicon_reason = next(r for r in verdict.reasons if r.check == "abuse_lexicon")
    assert [(s.field, body[s.start : s.end]) for s in lexicon_reason.spans] == [("body", "Mày ngu")]


def test_known_scam_with_phone_is_rejected(moderator):
    verdict = moderator.check("Nhận làm CCCD giả lấy ngay, gọi 0987 654 321")
    assert verdict.action == "reject"
    assert "scam_pattern" in [reason.code for reason in verdict.reasons]


def test_a_new_account_with_a_link_waits(moderator):
    verdict = moderator.check(
        "Tài liệu học AI ở đây nhé: https://tailieu-ai.xyz/pdf",
        context=PostContext(author_age_days=0.5),
    )
    assert verdict.action == "review"
    assert "link_new_account" in [reason.code for reason in verdict.reasons]


def test_thresholds_from_config_reach_the_classifier(tiny_model):
    text = "mày là cái thá gì mà dạy tao"
    held = Moderator(ModerationConfig(classifier_path=tiny_model)).check(text)
    assert "toxicity_classifier" in [reason.check for reason in held.reasons]
    never = Moderator(ModerationConfig(classifier_path=tiny_model, review_threshold=math.inf))
    assert "toxicity_classifier" not in [r.check for r in never.check(text).reasons]


def test_repeats_and_bursts_come_from_the_context(moderator):
    now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    text = "Mình chia sẻ tài liệu học AI cho người mới bắt đầu, ai cần thì xem nhé mọi người"
    recent = tuple(RecentPost(text, now - timedelta(seconds=20 * n)) for n in range(1, 6))
    verdict = moderator.check(text, context=PostContext(recent_posts=recent, now=now))
    codes = [reason.code for reason in verdict.reasons]
    assert "repeated_post" in codes and "posting_burst" in codes
    assert verdict.action == "review"


def test_similar_questions_inform_the_asker_without_holding_the_post(moderator):
    similar = (
        SimilarQuestion(7, "ChatGPT có miễn phí không?", 0.93),
        SimilarQuestion(9, "Cách cài Gemini", 0.41),
    )
    context = PostContext(is_question=True, similar_questions=similar)
    verdict = moderator.check("ChatGPT có mất phí không ạ?", title="Hỏi ChatGPT", context=context)
    assert verdict.action == "allow"
    (reason,) = verdict.reasons
    assert (reason.code, reason.action, reason.score) == ("similar_questions", "allow", 0.93)
    assert "“ChatGPT có miễn phí không?”" in reason.message_vi
    assert "Cách cài Gemini" not in reason.message_vi


def test_similar_questions_are_only_shown_for_questions():
    similar = (SimilarQuestion(7, "ChatGPT có miễn phí không?", 0.93),)
    check = SimilarQuestionsCheck()
    answer = PostContext(is_question=False, similar_questions=similar)
    from moderation.context import Post

    assert check.run(Post("Có nhé bạn"), answer) == []


def test_checks_can_run_from_many_threads(moderator):
    texts = ["Cho mình hỏi cách dùng ChatGPT ạ", "Mày ngu thế", "Làm CCCD giả, gọi 0987654321"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        actions = list(pool.map(lambda t: moderator.check(t).action, texts * 10))
    assert actions == [moderator.check(t).action for t in texts] * 10


# --- the real model, trained on the shipped set --------------------------------------------------


@pytest.fixture(scope="module")
def real_moderator(tmp_path_factory):
    path = tmp_path_factory.mktemp("real") / "toxicity.joblib"
    return Moderator(ModerationConfig(classifier_path=path))


# Named in the issue: these must be published as they are.
MUST_PASS = [
    "má ơi con về rồi",
    "mua 2 lon bia cho bố",
    "làm lồng đèn trung thu cho con",
    "Cu Tí nhà mình học lớp 3 rồi",
    "củ cải muối chua",
    "cu cai muoi chua",
    "con chó nhà mình sủa suốt đêm",
    "how do I kill a process on Linux?",
    "Cảnh báo lừa đảo: có người gọi xin OTP, đừng đưa cho ai nhé",
    "Gặp lừa đảo thì gọi 113 hoặc tổng đài 1900 1234 của ngân hàng",
    "CHO EM HỎI CÁCH BẬT CHỮ TO TRÊN ĐIỆN THOẠI SAMSUNG Ạ, MẮT EM KÉM",
]


@pytest.mark.slow
@pytest.mark.parametrize("text", MUST_PASS)
def test_phrases_named_in_the_issue_are_published_by_the_full_pipeline(real_moderator, text):
    verdict = real_moderator.check(text)
    assert verdict.action == "allow", verdict.reasons


# Ordinary short replies: thanks, follow-ups, one-line answers, fragments. A classifier that
# learns "short" as a sign of abuse, or "đủ"/"du" as "đụ", holds them. Written for this test;
# none of them is in the training data (checked below), so passing them is not memorised.
SHORT_REPLIES = [
    # reported by the lead
    "Câu trả lời thứ nhất, khá đầy đủ.",
    "Một câu trả lời của người khác.",
    "Trả lời từ bot, đủ dài.",
    "điện toán đám mây là gì",
    "đi du lịch Đà Lạt",
    "mua xe 125cc",
    "Số của mình: 0987 654 321",
    # thanks and follow-ups
    "Cảm ơn anh, em làm theo được rồi ạ",
    "mình cũng định hỏi y chang vậy",
    "Bài viết công phu quá, đọc dần dần",
    "Vâng, em hiểu rồi ạ",
    "Hay đấy, mình sẽ thử",
    "Tuyệt vời, cảm ơn chia sẻ",
    "Thanks bạn, giải thích rõ ràng ghê",
    "Đã sửa được, cảm ơn cả nhà",
    "ko dc ban oi, van bao loi",
    "mình dùng bản free thôi",
    "Chiều mai mình rảnh, gọi nhé",
    # one-line answers
    "Bấm vào nút Chia sẻ ở góc phải",
    "Đổi mật khẩu xong là ổn",
    "Link tải ở bài ghim đầu nhóm",
    "Dán vào ô tìm kiếm là ra",
    "Sai cú pháp rồi bạn",
    "Ổ đĩa C bị đầy thì làm sao?",
    "Chè Tân Cương pha nước 90 độ",
    "Pha 500ml nước là vừa",
    "Ngủ sớm đi bạn, mai làm tiếp",
    # words that lose their meaning without diacritics or look like something vulgar
    "đủ xài rồi bạn ơi",
    "Dù không được nhưng vẫn cảm ơn",
    "du lich Moc Chau mua nao dep",
    "Đu idol bằng AI cũng vui",
    "tiền cắc đổi ở đâu vậy",
    "Các bạn cho mình xin tên app với",
    "Chim trong lồng hót hay quá",
    "2 lon nước ngọt thôi",
    "buoi chieu nay co hop khong",
    "Bé Cu nhà mình 3 tuổi rồi",
    "Đeo kính vào đọc cho đỡ mỏi mắt",
    "Vai trò của AI trong giáo dục",
    "Máy giặt kêu to quá",
    "Bố mình 70 tuổi cũng học được",
    "Đụng hàng với bạn rồi haha",
    "ung dung nay dung tot khong",
]


def words_folded(text: str) -> str:
    return " ".join(re.findall(r"\w+", fold(text)))


def test_short_replies_are_not_in_the_training_data():
    training = {words_folded(text) for text, _ in training_rows(ModerationConfig())}
    assert [text for text in SHORT_REPLIES if words_folded(text) in training] == []


@pytest.mark.slow
@pytest.mark.parametrize("text", SHORT_REPLIES)
def test_ordinary_short_replies_are_published(real_moderator, text):
    verdict = real_moderator.check(text)
    assert verdict.action == "allow", verdict.reasons


@pytest.mark.slow
@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_phrases_are_never_rejected(real_moderator, text):
    # The classifier may still hold a few snippets typed without diacritics ("dien toan dam may
    # la gi" reads like "mày là gì") for review; nothing ordinary is ever refused.
    assert real_moderator.check(text).action != "reject"
