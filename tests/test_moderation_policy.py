"""The policy over the model, with the model the app trains from the shipped data (the team's
rows and ViHOS): an insult, threat or slur aimed at a person or group is held; casual swearing
aimed at nobody is published with the kind nudge; spam and scams are held. The span model
says which words offend, and the review queue shows them to moderators."""

import pytest

from forum.models import ReviewCase
from forum.services import posts
from forum.templating import highlight_spans
from moderation.classifier import ToxicityClassifierCheck
from moderation.moderator import team_phrase_results
from moderation.spans import SpanModel, character_f1, span_chars


@pytest.fixture
def checks(app):
    """The app's Moderator (conftest's `moderator` is a moderator member)."""
    return app.extensions["moderation"].moderator


def test_the_teams_innocent_phrases_are_never_held_and_its_nasty_ones_never_missed(checks):
    innocent, nasty = team_phrase_results(checks)
    assert [text for text, held in innocent.items() if held] == []
    assert [text for text, held in nasty.items() if not held] == []
    assert "vcl cái group này" in nasty


@pytest.mark.parametrize(
    "text", ["cái app này lag vl", "AI vẽ đẹp vcl", "đm lại mất điện, đang học dở"]
)
def test_casual_swearing_aimed_at_nobody_is_published_with_the_nudge(checks, text):
    verdict = checks.check(text)
    assert verdict.action == "allow"
    assert [nudge.code for nudge in verdict.nudges] == ["casual_profanity"]


@pytest.mark.parametrize(
    "text",
    [
        "vcl cái group này",  # swearing at the group itself
        "thằng admin láo vl",
        "Thấy chán ad page này, cái gì cũng sủa, nói chung là dốt còn nát",
        "tao biết nhà mày rồi, tối nay chờ đấy",
        "Nhận làm CCCD giả lấy ngay, gọi 0987 654 321",
    ],
)
def test_abuse_aimed_at_people_threats_and_scams_are_held(checks, text):
    assert checks.check(text).action in ("review", "reject")


def test_a_held_post_names_the_offending_words(checks):
    text = "Thấy chán ad page này, cái gì cũng sủa, nói chung là dốt còn nát"
    classifier = next(c for c in checks.checks if isinstance(c, ToxicityClassifierCheck))
    (reason,) = [r for r in checks.check(text).reasons if r.check == classifier.name]
    words = [text[span.start : span.end] for span in reason.spans]
    assert "sủa" in words and any("dốt" in word for word in words)


def test_the_review_queue_highlights_the_words_the_model_found(thread, other_member):
    # No lexicon entry here ("sủa", "dốt còn nát"): only the span model can point at them.
    text = "Thấy chán ad page này, cái gì cũng sủa, nói chung là dốt còn nát"
    answer = posts.post_answer(other_member, thread, text)
    assert answer.status == "pending"
    case = ReviewCase.query.filter_by(post_id=answer.id).one()
    # What templates/review/queue.html renders beside the reasons.
    shown = str(highlight_spans(answer.body_md, case.verdict["reasons"], "body"))
    assert "<mark>sủa</mark>" in shown


def test_the_span_model_learns_which_words_offend():
    rows = [(f"bạn {w} quá", [4, 5, 6]) for w in ("ngu", "ngu", "ngu")] + [
        ("bạn giỏi quá", []),
        ("bạn hay quá", []),
        ("ngu vcl", [0, 1, 2, 3, 4, 5, 6]),
    ] * 5
    model = SpanModel.train(rows)
    found, probabilities = model.word_probabilities("trả lời ngu thế")
    assert found[int(probabilities.argmax())].text == "ngu"
    assert "ngu" in [word.text for word, _ in model.offending_words("trả lời ngu thế")]
    assert model.spans("bạn giỏi quá") == []


def test_span_f1_counts_agreeing_empties_as_one():
    assert character_f1([], []) == 1.0
    assert character_f1([1, 2], []) == 0.0
    assert character_f1(span_chars([(0, 4)]), [2, 3, 4, 5]) == 0.5


@pytest.mark.parametrize(
    ("text", "is_phone"),
    [
        ("gọi 0987 654 321", True),
        ("+84 912.345.678", True),
        ("máy bàn 024 3825 1234", True),
        ("tổng đài 1900 1234", False),
        ("mã đơn 0123456789", False),  # 01x is no longer a Vietnamese mobile prefix
    ],
)
def test_the_privacy_step_and_the_scam_check_share_one_phone_rule(app, text, is_phone):
    from forum.services import assistant
    from moderation.spam import PHONE

    assert bool(PHONE.search(text)) == is_phone
    with app.test_request_context():
        assert ("số điện thoại" in assistant.personal_data(text)) == is_phone
