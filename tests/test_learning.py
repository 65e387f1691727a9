"""Search that learns from the forum's own answered threads: which pairs it learns from, the
slice it never trains on, and the gate that publishes a new model only when it wins there."""

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from forum import indexing, learning, model_versions
from forum.extensions import db
from forum.models import PostEmbedding, SearchModelVersion
from forum.services import posts, votes
from search.encoders import FakeEncoder

TOPICS = ["zalo", "gemini", "canva", "excel", "copilot", "chatgpt", "facebook", "youtube",
          "tiktok", "word", "momo", "shopee", "grab", "gmail", "drive", "meet", "zoom", "lazada",
          "viber", "tiki", "capcut", "picsart", "messenger", "chrome", "netflix", "spotify",
          "vnpay", "sendo", "maps", "photos"]


@pytest.fixture
def app_overrides():
    return {"MODERATION_BURST_COUNT": 1000}  # one member asks many questions here


def answered_thread(asker, answerer, topic, *, accepted=True):
    thread = posts.ask_question(asker, f"Cách dùng {topic} trên điện thoại cho người mới",
                                f"Mình mới tập dùng {topic}, chưa biết bắt đầu từ đâu ạ.", "ai")
    answer = posts.post_answer(answerer, thread, f"Cách dùng {topic} trên điện thoại cho người "
                                                 f"mới: mở {topic}, vào hướng dẫn {topic}.")
    if accepted:
        posts.accept_answer(asker, answer)
    return thread, answer


# Pairs -----------------------------------------------------------------------------------

def test_a_thread_teaches_its_accepted_answer_else_its_best_voted_else_its_only_one(
        app, member, other_member, make_user):
    third = make_user("lan")
    accepted, accepted_answer = answered_thread(member, other_member, "zalo")
    posts.post_answer(third, accepted, "Một câu trả lời khác, được nhiều người thích hơn.")
    voted = posts.ask_question(member, "Dùng Gemini viết thư xin việc thế nào?",
                               "Mình cần viết thư xin việc bằng Gemini ạ.", "ai")
    posts.post_answer(other_member, voted, "Bạn nói rõ vị trí và kinh nghiệm của mình.")
    best = posts.post_answer(third, voted, "Đưa cho Gemini mô tả công việc và hồ sơ của bạn.")
    votes.vote(member, best, 1)
    only = posts.ask_question(member, "Canva có miễn phí không ạ?",
                              "Mình muốn thiết kế thiệp mời bằng Canva.", "ai")
    only_answer = posts.post_answer(other_member, only, "Canva có bản miễn phí đủ dùng.")
    undecided = posts.ask_question(member, "Excel hay Google Sheets tốt hơn?",
                                   "Mình phân vân giữa Excel và Google Sheets.", "ai")
    posts.post_answer(other_member, undecided, "Excel mạnh hơn khi làm việc ngoại tuyến.")
    posts.post_answer(third, undecided, "Google Sheets tiện khi làm chung với nhiều người.")
    posts.ask_question(member, "Copilot là gì vậy mọi người?", "Chưa ai trả lời câu này.", "ai")

    pairs = {pair.thread_id: pair for pair in learning.collect_pairs()}

    assert set(pairs) == {accepted.id, voted.id, only.id}  # two answers and no votes: no pair
    assert pairs[accepted.id].source == "accepted"
    assert pairs[accepted.id].answer == ("Cách dùng zalo trên điện thoại cho người mới: mở "
                                         "zalo, vào hướng dẫn zalo.")
    assert pairs[accepted.id].query.startswith("Cách dùng zalo trên điện thoại cho người mới\n")
    assert pairs[accepted.id].answer_thread_id == accepted.id
    assert (pairs[voted.id].source, pairs[voted.id].answer) == (
        "best voted", "Đưa cho Gemini mô tả công việc và hồ sơ của bạn.")
    assert pairs[only.id].source == "only answer"
    assert accepted_answer.id != only_answer.id


def test_excluded_authors_threads_are_not_learned_from(app, member, other_member):
    answered_thread(member, other_member, "zalo")
    assert learning.collect_pairs(exclude_authors=[member.username]) == []
    assert len(learning.collect_pairs(exclude_authors=["ai_do_khac"])) == 1


def test_the_held_out_slice_is_the_same_every_run_and_about_fifteen_percent():
    slice_ = [thread_id for thread_id in range(1, 20_001) if learning.held_out(thread_id)]
    assert slice_ == [thread_id for thread_id in range(1, 20_001) if learning.held_out(thread_id)]
    assert 0.14 < len(slice_) / 20_000 < 0.16


def test_held_out_threads_are_measured_on_and_never_trained_on():
    pairs = [learning.TrainingPair(i, f"câu hỏi {i}", f"trả lời {i}", i, "accepted")
             for i in range(1, 201)]
    train, gate = learning.split_pairs(pairs)
    assert gate and {p.thread_id for p in gate} == {i for i in range(1, 201)
                                                   if learning.held_out(i)}
    assert not {p.thread_id for p in train} & {p.thread_id for p in gate}
    assert len(train) + len(gate) == len(pairs)


# The gate --------------------------------------------------------------------------------

def test_the_gate_publishes_only_a_model_worse_on_neither_and_better_on_one():
    current = learning.Scores(recall=0.70, mrr=0.50, questions=100)
    assert learning.gate(current, learning.Scores(0.75, 0.55, 100)).publish
    assert learning.gate(current, learning.Scores(0.70, 0.55, 100)).publish
    for worse in (learning.Scores(0.65, 0.55, 100), learning.Scores(0.75, 0.45, 100),
                  learning.Scores(0.70, 0.50, 100)):
        decision = learning.gate(current, worse)
        assert not decision.publish
        assert "does not beat" in decision.reason


def test_the_gate_scores_each_ranker_on_the_held_out_pairs():
    held = [learning.TrainingPair(i, f"câu hỏi {i}", f"trả lời {i}", i, "accepted")
            for i in range(4)]
    decision = learning.judge(held, lambda pairs: [1, 2, None, 1],
                              lambda pairs: [3, None, None, 10])
    assert not decision.publish
    assert decision.current == learning.Scores(0.75, (1 + 0.5 + 1) / 4, 4)
    assert decision.candidate == learning.Scores(0.5, (1 / 3 + 0.1) / 4, 4)


def test_too_few_answered_threads_train_nothing(app, member, other_member):
    answered_thread(member, other_member, "zalo")

    def trainer(*_args):
        raise AssertionError("must not train")

    outcome = learning.learn(trainer, min_threads=2)
    assert not outcome.published and outcome.version is None
    assert "only 1 answered threads" in outcome.message and "at least 2" in outcome.message
    assert db.session.scalar(select(func.count()).select_from(SearchModelVersion)) == 0


class WorseEncoder(FakeEncoder):
    """Stands for a model that learned the wrong thing."""


def fake_trainer(encoder_class, trained):
    def trainer(pairs, folder, label):
        trained.append(len(pairs))
        folder.mkdir(parents=True)
        (folder / "weights.bin").write_bytes(b"learned")
        version = int(label.rsplit("v", 1)[1])
        return learning.Candidate(encoder_class(name=f"fake-ngrams-learned-v{version}"),
                                  {"train_seconds": 0.1})
    return trainer


def ranker(encoder, _workdir):
    """A fake measurement: a worse model finds each held-out answer third, others first."""
    rank = 3 if isinstance(encoder, WorseEncoder) else 1
    return lambda held: [rank] * len(held)


@pytest.fixture
def forum_with_history(app, member, other_member):
    """Thirty answered threads on thirty topics: a few of them fall in the held-out slice."""
    threads = [answered_thread(member, other_member, topic)[0] for topic in TOPICS]
    assert any(learning.held_out(thread.id) for thread in threads)
    return threads


def test_a_worse_model_is_refused_and_search_keeps_its_model(app, forum_with_history):
    trained = []
    outcome = learning.learn(fake_trainer(WorseEncoder, trained), min_threads=10, ranker=ranker)

    assert not outcome.published
    decision = outcome.decision
    assert decision.candidate.mrr < decision.current.mrr
    assert "does not beat the current one" in outcome.message
    version = db.session.get(SearchModelVersion, outcome.version)
    assert version.status == "refused" and version.note == decision.reason
    assert json.loads(version.figures)["gate"]["candidate"]["mrr"] == decision.candidate.mrr
    assert trained == [outcome.pairs] and outcome.pairs + outcome.held_out == len(TOPICS)
    assert model_versions.active_version() is None
    assert not model_versions.version_folder(app.config, outcome.version).exists()
    assert indexing.search_engine().encoder.name == "fake-ngrams-256"  # still the base model


def test_a_better_model_is_published_as_the_active_version(app, forum_with_history, monkeypatch):
    # The current model is the worse one this time; the candidate is the plain encoder.
    monkeypatch.setattr(learning, "current_encoder", lambda _app: WorseEncoder(name="current"))
    outcome = learning.learn(fake_trainer(FakeEncoder, []), min_threads=10, ranker=ranker)

    assert outcome.published, outcome.message
    active = model_versions.active_version()
    assert active.id == outcome.version and active.space == "fake-ngrams-learned-v1-256"
    assert model_versions.version_folder(app.config, active.id).is_dir()


def test_a_dry_run_measures_but_publishes_nothing(app, forum_with_history, monkeypatch):
    monkeypatch.setattr(learning, "current_encoder", lambda _app: WorseEncoder(name="current"))
    outcome = learning.learn(fake_trainer(FakeEncoder, []), min_threads=10, ranker=ranker,
                             dry_run=True)
    assert not outcome.published and outcome.decision.publish
    assert model_versions.active_version() is None


def test_the_gate_finds_a_held_out_answer_by_its_words_not_its_threads_title(app, member,
                                                                            other_member):
    thread = posts.ask_question(member, "Quên mật khẩu Zalo thì làm sao?",
                                "Mình quên mật khẩu Zalo, đăng nhập lại thế nào ạ?", "zalo")
    posts.post_answer(other_member, thread, "Bấm Lấy lại và nhập mã gửi về điện thoại.")
    decoy = posts.ask_question(other_member, "Đổi mật khẩu Zalo ở đâu?",
                               "Mình muốn đổi mật khẩu Zalo định kỳ.", "zalo")
    posts.post_answer(member, decoy, "Mật khẩu Zalo đổi trong Cài đặt, mục Tài khoản.")
    [pair] = [p for p in learning.collect_pairs() if p.thread_id == thread.id]
    stored_before = db.session.scalar(select(func.count()).select_from(PostEmbedding))

    ranks = learning.hybrid_ranks(FakeEncoder(), Path(app.instance_path) / "gate")([pair])

    # Found through its own words (lại, nhập), second: it was first only through the title
    # answers carry, the question itself; the decoy shares the question's words.
    assert ranks == [2]
    assert db.session.scalar(select(func.count()).select_from(PostEmbedding)) == stored_before
