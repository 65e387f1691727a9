"""The toxicity classifier: trains from labelled rows, saves with metadata, scores calibrated."""

import csv
import json
import logging
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sklearn

from moderation import classifier as classifier_module
from moderation.classifier import (
    ClassifierLoader,
    ToxicityClassifier,
    ToxicityClassifierCheck,
    read_labelled_csv,
    train_classifier,
)
from moderation.context import Post, PostContext
from moderation.moderator import ModerationConfig

CLEAN = [
    "Cho mình hỏi ChatGPT bản miễn phí có dùng được trên điện thoại không ạ?",
    "Làm sao để nhờ AI viết bài giới thiệu chè Tân Cương?",
    "Gemini và ChatGPT cái nào tốt hơn cho người mới?",
    "cảm ơn bạn nhiều, mình làm được rồi",
    "Mình dùng AI để tính sổ sách quán tạp hóa, rất tiện",
    "cho e hỏi cài app trên đt ntn vậy ạ",
    "Có lớp học AI nào ở Thái Nguyên cuối tuần không mọi người?",
    "Nhờ AI dịch tài liệu tiếng Anh thì có chính xác không?",
    "Bạn vào Cài đặt, chọn Ngôn ngữ rồi đổi sang tiếng Việt nhé",
    "mình cũng bị lỗi đó, khởi động lại máy là được",
    "Hướng dẫn rất dễ hiểu, cảm ơn admin",
    "AI có giúp viết đơn xin việc được không ạ?",
    "Ảnh này AI vẽ đẹp quá, bạn dùng câu lệnh gì vậy?",
    "lam sao de chatgpt tra loi bang tieng viet a",
    "Con mình lớp 5 dùng AI học tiếng Anh có nên không?",
    "Tối nay có buổi học online không mọi người?",
]
TOXIC = [
    ("mày ngu thế, hỏi mãi một câu", "offensive"),
    ("thằng admin óc chó, xóa bài tao làm gì", "offensive"),
    ("đồ mất dạy, về học lại lớp 1 đi", "offensive"),
    ("câm mồm đi, không ai hỏi mày", "offensive"),
    ("vcl trả lời như cứt", "offensive"),
    ("tao biết nhà mày rồi, tối nay chờ đấy", "threat"),
    ("tao sẽ cho người đến tận nhà mày", "threat"),
    ("bọn dân tộc thì học AI làm gì", "hate"),
    ("đàn bà biết gì về công nghệ, về bếp đi", "hate"),
    ("Bán tài khoản ChatGPT Plus giá rẻ ib zalo", "spam"),
    ("Tăng like tăng follow giá rẻ, inbox ngay", "spam"),
    ("Làm CCCD giả lấy ngay trong ngày", "scam"),
    ("Vay tiền không thẩm định, giải ngân trong ngày", "scam"),
    ("việc nhẹ lương cao, chỉ cần like video nhận tiền", "scam"),
    ("nạp thẻ nhận quà x3 giá trị uy tín", "scam"),
    ("mày là cái thá gì mà dạy tao", "offensive"),
]
TINY_SET = [(text, "clean") for text in CLEAN] + TOXIC


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "toxicity.joblib"
    report = train_classifier(TINY_SET, path, folds=3)
    return report, path


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "lang"])
        writer.writerows((text, label, "vi") for text, label in rows)


def test_training_saves_the_model_and_its_metadata(trained):
    report, path = trained
    assert path.exists()
    metadata = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert metadata["rows"] == len(TINY_SET) == report.rows
    assert metadata["label_counts"] == {
        "clean": 16,
        "hate": 2,
        "offensive": 6,
        "scam": 4,
        "spam": 2,
        "threat": 2,
    }
    assert set(metadata["labels"]) == {"clean", "offensive", "threat", "hate", "spam", "scam"}
    assert metadata["review_threshold"] == report.review_threshold
    assert metadata["reject_threshold"] is None
    assert metadata["sklearn_version"] == sklearn.__version__
    assert metadata["trained_at"]


def test_review_threshold_keeps_out_of_fold_false_positives_within_target(trained):
    report, _ = trained
    assert 0.0 < report.review_threshold < 1.0
    assert report.cv_false_positive_rate <= 0.02
    assert 0.0 <= report.cv_recall <= 1.0


def test_a_trained_model_scores_abuse_above_ordinary_questions(trained):
    _, path = trained
    model = ToxicityClassifier.load(path)
    abusive = model.score("mày ngu thế, câm mồm đi")
    ordinary = model.score("Cho mình hỏi cách dùng ChatGPT trên điện thoại ạ")
    assert abusive.needs_human > ordinary.needs_human
    assert 0.0 <= ordinary.needs_human <= 1.0
    assert abusive.label == "offensive"


def test_training_needs_both_clean_and_flagged_rows(tmp_path):
    with pytest.raises(ValueError, match="at least 2 clean and 2 non-clean"):
        train_classifier([(text, "clean") for text in CLEAN], tmp_path / "m.joblib")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("sklearn_version", "0.1", "scikit-learn 0.1"),
        ("features", "char_wb 2-5 TF-IDF", "other features: char_wb 2-5 TF-IDF"),
    ],
)
def test_a_model_from_another_scikit_learn_or_other_features_is_refused(
    trained, tmp_path, key, value, message
):
    _, path = trained
    copy = tmp_path / "old.joblib"
    copy.write_bytes(path.read_bytes())
    metadata = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    metadata[key] = value
    copy.with_suffix(".json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        ToxicityClassifier.load(copy)


def test_labelled_csv_is_read_as_text_and_label(tmp_path):
    path = tmp_path / "set.csv"
    write_csv(path, [("dòng 1,\n có phẩy", "clean"), ("ngu", "offensive ")])
    assert read_labelled_csv(path) == [("dòng 1,\n có phẩy", "clean"), ("ngu", "offensive")]


# --- the check ---------------------------------------------------------------------------------


def check_with(path, **thresholds) -> ToxicityClassifierCheck:
    model = ToxicityClassifier.load(path)
    return ToxicityClassifierCheck(lambda: model, **thresholds)


def test_the_check_holds_posts_at_the_trained_threshold(trained):
    _, path = trained
    check = check_with(path)
    (reason,) = check.run(Post("mày ngu thế, câm mồm đi"), PostContext())
    assert (reason.code, reason.action, reason.check) == (
        "classifier_offensive",
        "review",
        "toxicity_classifier",
    )
    assert "độ tin cậy" in reason.message_vi
    assert check.run(Post("Cho mình hỏi cách dùng ChatGPT ạ"), PostContext()) == []


@pytest.mark.parametrize("text", ["", "   ", "+1", "👍👍", "100%"])
def test_posts_without_words_are_not_judged(trained, text):
    _, path = trained
    assert check_with(path, review_threshold=0.0).run(Post(text), PostContext()) == []


def test_thresholds_from_config_override_the_trained_ones(trained):
    _, path = trained
    ordinary = Post("Cho mình hỏi cách dùng ChatGPT ạ")
    assert check_with(path, review_threshold=0.0).run(ordinary, PostContext()) != []
    never = check_with(path, review_threshold=math.inf)
    assert never.run(Post("mày ngu thế, câm mồm đi"), PostContext()) == []
    (reason,) = check_with(path, reject_threshold=0.0).run(Post("câm mồm"), PostContext())
    assert reason.action == "reject"


# --- loading -----------------------------------------------------------------------------------


def test_a_missing_model_is_trained_once_from_the_labelled_set(tmp_path, caplog, monkeypatch):
    data = tmp_path / "labelled.csv"
    write_csv(data, TINY_SET)
    model_path = tmp_path / "instance" / "toxicity.joblib"
    calls = []
    real_train = classifier_module.train_classifier

    def counting_train(*args, **kwargs):
        calls.append(threading.get_ident())
        return real_train(*args, **kwargs)

    monkeypatch.setattr(classifier_module, "train_classifier", counting_train)
    loader = ClassifierLoader(model_path, lambda: read_labelled_csv(data))
    with (
        caplog.at_level(logging.INFO, logger="moderation.classifier"),
        ThreadPoolExecutor(max_workers=4) as pool,
    ):
        models = list(pool.map(lambda _: loader(), range(8)))
    assert len(calls) == 1
    assert all(model is models[0] for model in models)
    assert model_path.exists()
    assert "training one" in caplog.text
    # A second process finds the saved model and does not train again.
    ClassifierLoader(model_path, lambda: read_labelled_csv(data))()
    assert len(calls) == 1


def test_a_model_built_with_other_features_is_retrained(trained, tmp_path, caplog):
    _, path = trained
    stale = tmp_path / "toxicity.joblib"
    stale.write_bytes(path.read_bytes())
    metadata = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    stale.with_suffix(".json").write_text(
        json.dumps({**metadata, "features": "char_wb 2-5 TF-IDF", "trained_at": "then"}),
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="moderation.classifier"):
        model = ClassifierLoader(stale, lambda: TINY_SET)()
    assert "retraining" in caplog.text
    assert model.metadata["features"] == classifier_module.FEATURES
    assert model.metadata["trained_at"] != "then"


def test_a_failed_load_is_remembered_instead_of_retried_on_every_post(tmp_path):
    loader = ClassifierLoader(tmp_path / "m.joblib", lambda: read_labelled_csv(tmp_path / "no.csv"))
    with pytest.raises(FileNotFoundError):
        loader()
    with pytest.raises(RuntimeError, match="classifier unavailable"):
        loader()


@pytest.mark.slow
def test_full_shipped_set_trains_to_the_quality_target(tmp_path):
    rows = read_labelled_csv(ModerationConfig().training_data_path)
    report = train_classifier(rows, tmp_path / "toxicity.joblib")
    assert report.rows >= 1000
    assert report.cv_false_positive_rate <= 0.02
    assert report.cv_recall >= 0.8


# --- the embedding head ------------------------------------------------------------------------


def fake_embedding(name="fake-ngrams-256"):
    from search import FakeEncoder

    encoder = FakeEncoder()
    return classifier_module.Embedding(name, encoder.encode_queries)


@pytest.fixture(scope="module")
def with_head(tmp_path_factory):
    path = tmp_path_factory.mktemp("head") / "toxicity.joblib"
    embedding = fake_embedding()
    report = train_classifier(TINY_SET, path, folds=3, embedding=embedding)
    return report, path, embedding


def test_the_embedding_head_is_saved_with_the_encoders_name(with_head):
    report, path, embedding = with_head
    metadata = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert metadata["embedding"] == embedding.name
    assert "sentence vectors" in metadata["model"]
    assert report.cv_false_positive_rate <= 0.02


def test_the_embedding_head_alone_separates_abuse_from_questions(with_head):
    _, path, embedding = with_head
    model = ToxicityClassifier.load(path, embedding)
    head = model.head
    clean_index = list(head.classes_).index("clean")
    vectors = embedding.encode([text for text, _ in TINY_SET])
    not_clean = 1 - head.predict_proba(vectors)[:, clean_index]
    flagged = [label != "clean" for _, label in TINY_SET]
    toxic_scores = [p for p, f in zip(not_clean, flagged, strict=True) if f]
    clean_scores = [p for p, f in zip(not_clean, flagged, strict=True) if not f]
    assert min(toxic_scores) > max(clean_scores)


def test_both_heads_score_together_calibrated(with_head):
    _, path, embedding = with_head
    model = ToxicityClassifier.load(path, embedding)
    abusive, ordinary = model.score_many(
        ["mày ngu thế, câm mồm đi", "Cho mình hỏi cách dùng ChatGPT trên điện thoại ạ"]
    )
    assert 0.0 <= ordinary.needs_human < abusive.needs_human <= 1.0
    assert abusive.label == "offensive"
    assert model.score("mày ngu thế, câm mồm đi") == abusive


@pytest.mark.parametrize("given", [None, "another-encoder"])
def test_a_model_for_another_encoder_is_refused_and_retrained(with_head, tmp_path, given):
    _, path, _ = with_head
    copy = tmp_path / "toxicity.joblib"
    copy.write_bytes(path.read_bytes())
    copy.with_suffix(".json").write_bytes(path.with_suffix(".json").read_bytes())
    other = fake_embedding(given) if given else None
    with pytest.raises(ValueError, match="sentence encoder"):
        ToxicityClassifier.load(copy, other)
    retrained = ClassifierLoader(copy, lambda: TINY_SET, embedding=other)()
    assert retrained.metadata["embedding"] == given
    assert (retrained.head is None) == (given is None)


def test_an_n_gram_model_is_refused_when_an_encoder_is_given(trained):
    _, path = trained
    with pytest.raises(ValueError, match="sentence encoder None"):
        ToxicityClassifier.load(path, fake_embedding())
