"""Casual swearing aimed at nobody is published with a friendly nudge to rephrase; the same
words aimed at a person, and insults, threats, hate and scams, are held as before. The nudge
is shown on the ask and answer check steps, before anything is posted."""

import csv
import math

import pytest

from forum.models import Post
from moderation import ModerationConfig, Moderator, train_classifier
from moderation.abuse import AbuseLexiconCheck
from moderation.context import Post as ModeratedPost
from moderation.context import PostContext
from moderation.moderator import default_checks
from moderation.verdict import Nudge, Reason
from tests.test_moderation_classifier import TINY_SET


@pytest.fixture(scope="module")
def abuse_check() -> AbuseLexiconCheck:
    return default_checks(ModerationConfig())[0]


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    """The whole Moderator with the classifier switched off: what the rules alone decide."""
    path = tmp_path_factory.mktemp("model") / "toxicity.joblib"
    train_classifier(TINY_SET, path, folds=3)
    return Moderator(ModerationConfig(classifier_path=path, review_threshold=math.inf))


CASUAL = [
    ("cái app này lag vl", "vl"),
    ("chè năm nay ngon vãi lồn", "vãi lồn"),
    ("đm lại mất điện, đang học dở", "đm"),
    ("AI vẽ đẹp vcl", "vcl"),
    ("đéo hiểu sao máy cứ tự tắt", "đéo"),
    ("shit, quên lưu file rồi", "shit"),
    ("app nó lag vl", "vl"),  # "nó" is the app here
    ("tháng này mạng chậm vl", "vl"),  # "tháng này", not "thằng này"
]


@pytest.mark.parametrize(("text", "word"), CASUAL)
def test_casual_swearing_is_published_with_a_nudge(rules, text, word):
    verdict = rules.check(text)
    assert verdict.action == "allow"
    (nudge,) = verdict.nudges
    assert nudge.code == "casual_profanity" and nudge.check == "abuse_lexicon"
    assert f"“{word}”" in nudge.message_vi and "nhẹ nhàng hơn" in nudge.message_vi
    assert "more gently" in nudge.message_en
    assert [text[s.start : s.end] for s in nudge.spans] == [word]


AIMED = [
    "thằng admin láo vl",
    "bọn nó đéo biết gì về chè",
    "vl mày, nói mãi không hiểu",
    "Hỏi ngu vcl, đồ óc chó",  # an insult beside the swearing
    "đm bọn chúng, lừa cả người già",
    "shit, you never read the question",
]


@pytest.mark.parametrize("text", AIMED)
def test_swearing_aimed_at_someone_is_held(rules, text):
    verdict = rules.check(text)
    assert verdict.action in ("review", "reject")
    assert verdict.nudges == ()


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("đm mày biết gì mà nói", "reject"),
        ("mày ngu thế", "review"),
        ("tao giết mày", "reject"),
        ("fuck you", "reject"),
        ("Nhận làm CCCD giả lấy ngay, gọi 0987 654 321", "reject"),
    ],
)
def test_insults_threats_and_scams_are_held_as_before(rules, text, action):
    verdict = rules.check(text)
    assert verdict.action == action
    assert verdict.nudges == ()


def test_a_nudge_is_not_a_reason_and_is_in_the_verdicts_dict(abuse_check, rules):
    (finding,) = abuse_check.run(ModeratedPost("hay vl"), PostContext())
    assert isinstance(finding, Nudge) and not isinstance(finding, Reason)
    plain = rules.check("hay vl").to_dict()
    assert plain["action"] == "allow" and plain["reasons"] == []
    assert plain["nudges"][0]["spans"] == [{"field": "body", "start": 4, "end": 6}]


def test_a_target_in_the_title_aims_the_swearing_in_the_body(rules):
    verdict = rules.check("đéo hiểu nổi", title="Gửi thằng admin")
    assert verdict.action == "review"


def test_without_a_targets_list_swearing_is_held_as_before(tmp_path):
    config = ModerationConfig(
        classifier_path=tmp_path / "m.joblib", targets_path=None, review_threshold=math.inf
    )
    train_classifier(TINY_SET, config.classifier_path, folds=3)
    assert Moderator(config).check("cái app này lag vl").action == "review"


# --- in the forum ---------------------------------------------------------------------------

CASUAL_ANSWER = "Bạn ơi app này lag vl, cứ tắt hẳn đi rồi mở lại là vào được."


def test_the_answer_check_step_shows_the_nudge_and_keeps_the_text(
    client, auth, thread, other_member
):
    auth.login(other_member)
    step = client.post(f"/q/{thread.id}/answer", data={"body": CASUAL_ANSWER})
    page = step.get_data(as_text=True)
    assert step.status_code == 200
    assert "Một lời nhắn nhỏ" in page and "“vl”" in page and "nhẹ nhàng hơn" in page
    assert CASUAL_ANSWER in page  # nothing typed is lost
    assert Post.query.filter_by(post_type="answer").count() == 0
    done = client.post(f"/q/{thread.id}/answer", data={"body": CASUAL_ANSWER, "confirmed": "1"})
    assert done.status_code == 302
    answer = Post.query.filter_by(post_type="answer").one()
    assert answer.status == "published"


def test_an_ordinary_answer_skips_the_check_step(client, auth, thread, other_member):
    auth.login(other_member)
    body = "Bạn vào Cài đặt > Tài khoản rồi bật xác thực hai lớp nhé."
    assert client.post(f"/q/{thread.id}/answer", data={"body": body}).status_code == 302


def test_the_nudge_speaks_english_to_english_readers(client, auth, thread, other_member):
    auth.login(other_member)
    client.post("/lang", data={"lang": "en"})
    page = client.post(f"/q/{thread.id}/answer", data={"body": CASUAL_ANSWER}).get_data(
        as_text=True
    )
    assert "more gently" in page and "A small note" in page


def test_the_ask_check_step_shows_the_nudge(client, auth, member):
    auth.login(member)
    data = {
        "title": "Làm sao cho Zalo bớt lag trên điện thoại cũ?",
        "body": "Máy Samsung đời cũ, mở Zalo lag vl, mình đã thử xóa bộ nhớ đệm rồi.",
        "tags": "zalo",
    }
    page = client.post("/ask", data=data).get_data(as_text=True)
    assert "Một lời nhắn nhỏ" in page and "“vl”" in page
    assert client.post("/ask", data={**data, "confirmed": "1"}).status_code == 302


def test_the_assistant_api_returns_the_nudge_as_advice(client):
    body = client.post(
        "/api/v1/questions/assist",
        json={"title": "Zalo lag quá", "body": "mở Zalo lag vl, làm sao đây"},
    ).get_json()
    nudges = [a for a in body["advice"] if a["level"] == "nudge"]
    assert [a["code"] for a in nudges] == ["rephrase"]


# --- the train command ----------------------------------------------------------------------


def write_rows(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def small_training_csv(tmp_path):
    path = tmp_path / "train.csv"
    write_rows(path, ["text", "label", "lang"], [(t, label, "vi") for t, label in TINY_SET])
    return path


def test_train_prints_the_teams_figures_and_the_dev_figures(
    app, tmp_path, small_training_csv, monkeypatch
):
    # A stand-in for ../shared/eval in the public sets' formats, written for this test.
    eval_dir = tmp_path / "eval"
    (eval_dir / "vi_hate_vihsd").mkdir(parents=True)
    (eval_dir / "vi_toxic_victsd").mkdir()
    write_rows(
        eval_dir / "vi_hate_vihsd" / "dev.csv",
        ["free_text", "label_id"],
        [("mày ngu thế, câm mồm đi", "2"), ("hay vl", "1"), ("cảm ơn bạn nhiều", "0")],
    )
    write_rows(
        eval_dir / "vi_toxic_victsd" / "ViCTSD_valid.csv",
        ["", "Comment", "Constructiveness", "Toxicity", "Title", "Topic"],
        [
            ("1", "Mong sớm làm rõ vụ việc", "1", "0", "t", "x"),
            ("2", "đồ óc chó", "0", "1", "t", "x"),
        ],
    )
    monkeypatch.setenv("FORUM_EVAL_DIR", str(eval_dir))
    model = tmp_path / "fresh.joblib"
    app.config["MODERATION_CLASSIFIER_PATH"] = str(model)
    result = app.test_cli_runner().invoke(
        args=["moderation", "train", "--data", str(small_training_csv)]
    )
    assert result.exit_code == 0, result.output
    assert model.exists()
    assert "team's own phrases: innocent held" in result.output
    assert "ViHSD: toxic held 0.50, clean held 0.000 (2 toxic, 1 clean)" in result.output
    assert "ViCTSD: toxic held 1.00, clean held 0.000 (1 toxic, 1 clean)" in result.output


def test_train_says_when_the_dev_splits_are_absent(app, tmp_path, small_training_csv, monkeypatch):
    monkeypatch.setenv("FORUM_EVAL_DIR", str(tmp_path / "nowhere"))
    app.config["MODERATION_CLASSIFIER_PATH"] = str(tmp_path / "fresh.joblib")
    result = app.test_cli_runner().invoke(
        args=["moderation", "train", "--data", str(small_training_csv)]
    )
    assert result.exit_code == 0, result.output
    assert "dev splits: not found (set FORUM_EVAL_DIR); skipped" in result.output
