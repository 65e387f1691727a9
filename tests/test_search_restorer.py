"""The diacritics restorer: learns the forum's words, puts diacritics back into queries."""

import pytest

from search.restorer import DiacriticRestorer

FORUM_TEXTS = [
    "Làm sao để đăng ký tài khoản ChatGPT miễn phí?",
    "Mình đang dùng điện thoại Android, làm sao đăng nhập được?",
    "Cách đăng ký dịch vụ công trực tuyến cho người mới.",
    "Bạn đang ở đâu? Mình đang ở Thái Nguyên.",
    "Đăng ký VNeID mức hai cần căn cước.",
    "Cô ấy có dáng người đẹp.",
    "Làm sao tạo ảnh bằng AI?",
]


@pytest.fixture
def restorer():
    model = DiacriticRestorer()
    for text in FORUM_TEXTS:
        model.add(text)
    return model


@pytest.mark.parametrize(
    ("typed", "restored"),
    [
        ("lam sao dang ky", "làm sao đăng ký"),
        ("ban dang o dau", "bạn đang ở đâu"),
        ("dang ky dich vu cong", "đăng ký dịch vụ công"),
        ("cach dang nhap chatgpt", "cách đăng nhập chatgpt"),
    ],
)
def test_restores_diacritics_from_the_forums_vocabulary(restorer, typed, restored):
    result = restorer.restore(typed)
    assert result.text == restored
    assert result.changed


def test_the_same_folded_syllable_is_restored_by_its_context(restorer):
    # "dang" is "đăng" before "ký" and "đang" after "bạn".
    assert restorer.restore("dang ky").text == "đăng ký"
    assert restorer.restore("ban dang dung").text == "bạn đang dùng"


def test_typed_diacritics_are_kept(restorer):
    assert restorer.restore("lam sao đang ky").text == "làm sao đang ký"


def test_unknown_words_are_left_alone_with_full_confidence(restorer):
    result = restorer.restore("xyz zalo")
    assert result.text == "xyz zalo"
    assert not result.changed
    assert result.confidence == 1.0


def test_confidence_is_lower_when_the_context_does_not_decide(restorer):
    clear = restorer.restore("lam sao dang ky")
    # "dang" alone: "đang" is more frequent than "đăng", but not by much.
    unclear = restorer.restore("dang")
    assert clear.confidence > 0.9
    assert unclear.confidence < clear.confidence


def test_english_is_left_alone(restorer):
    restorer.add("Làm lòng tin, hỏi tô phở đỏ")
    result = restorer.restore("summarize a long video what to do")
    assert not result.changed
    assert result.text == "summarize a long video what to do"


def test_texts_typed_without_diacritics_teach_nothing():
    model = DiacriticRestorer()
    model.add("lam sao dang ky")
    assert model.vocabulary_size() == 0
    assert not model.restore("lam sao").changed


def test_removing_a_text_undoes_adding_it(restorer):
    restorer.add("Đang kỳ nghỉ")
    restorer.remove("Đang kỳ nghỉ")
    fresh = DiacriticRestorer()
    for text in FORUM_TEXTS:
        fresh.add(text)
    assert restorer.unigrams == fresh.unigrams
    assert restorer.bigrams == fresh.bigrams
    assert restorer.restore("dang ky").text == "đăng ký"


def test_save_and_load_keep_the_model(restorer, tmp_path):
    restorer.source_fingerprint = 1234
    path = tmp_path / "restorer.json.gz"
    restorer.save(path)
    loaded = DiacriticRestorer.load(path)
    assert loaded.source_fingerprint == 1234
    assert loaded.unigrams == restorer.unigrams
    assert loaded.restore("lam sao dang ky").text == "làm sao đăng ký"
    assert not list(tmp_path.glob(".*tmp"))
