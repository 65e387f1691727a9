"""The Vietnamese analyzer: what text becomes in the index, and what that means for matching."""

import unicodedata
from datetime import UTC, datetime

import pytest
from search_backends import BACKENDS, make_place

from search.documents import SearchDocument
from search.query import Filters, QueryTerms
from search.vietnamese import (
    bigrams,
    fold,
    has_diacritics,
    index_terms,
    looks_vietnamese,
    normalize,
    phrases,
    tokens,
    vietnamese_share,
)
from search.whoosh_keyword import VietnameseAnalyzer


def test_composed_and_decomposed_input_are_the_same_text():
    decomposed = unicodedata.normalize("NFD", "Tiếng Việt")
    assert decomposed != "Tiếng Việt"
    assert normalize(decomposed) == "tiếng việt"
    assert tokens(decomposed) == tokens("TIẾNG VIỆT") == ["tiếng", "việt"]


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("đăng ký", "dang ky"),
        ("Đường", "Duong"),
        ("trí tuệ nhân tạo", "tri tue nhan tao"),
        ("ắ ằ ẳ ẵ ặ ơ ư", "a a a a a o u"),
        ("chatgpt 4o", "chatgpt 4o"),
    ],
)
def test_folding_removes_every_diacritic_and_maps_d_stroke_to_d(text, folded):
    assert fold(text) == folded


def test_has_diacritics_counts_d_stroke_as_one():
    assert has_diacritics("đi")
    assert has_diacritics("ký")
    assert not has_diacritics("dang ky chatgpt")


@pytest.mark.parametrize("token", ["thoai", "nguyễn", "nghiêng", "quyết", "khuya", "a", "đăng"])
def test_vietnamese_syllables_are_recognised(token):
    assert looks_vietnamese(token)


@pytest.mark.parametrize("token", ["with", "summarize", "chatgpt", "free", "english", "is"])
def test_other_words_are_not_vietnamese_syllables(token):
    assert not looks_vietnamese(token)


def test_vietnamese_share_tells_english_queries_apart():
    assert vietnamese_share("cach cai chatgpt vao dien thoai") > 0.8
    assert vietnamese_share("chatgpt free plan limit reached what to do") < 0.3


def test_phrases_split_at_punctuation_and_expand_teencode():
    assert phrases("Ko dc, mn ơi! Cách dùng ChatGPT?") == [
        ["không", "được"],
        ["mọi", "người", "ơi"],
        ["cách", "dùng", "chatgpt"],
    ]


def test_bigrams_join_adjacent_syllables_within_a_phrase_only():
    assert bigrams(["dịch", "vụ", "công"]) == ["dịch_vụ", "vụ_công"]
    terms = index_terms("Trí tuệ. Nhân tạo", folded=True)
    assert "tri_tue" in terms and "nhan_tao" in terms
    assert "tue_nhan" not in terms


def test_exact_field_indexes_syllables_only():
    assert index_terms("Đăng ký dịch vụ", folded=False) == ["đăng", "ký", "dịch", "vụ"]


def test_folded_field_indexes_folded_syllables_and_bigrams():
    assert index_terms("Đăng ký dịch vụ", folded=True) == [
        "dang", "ky", "dich", "vu", "dang_ky", "ky_dich", "dich_vu",
    ]


def test_whoosh_analyzer_yields_the_same_terms():
    analyzer = VietnameseAnalyzer(folded=True)
    assert [t.text for t in analyzer("Đăng ký")] == ["dang", "ky", "dang_ky"]


def _doc(doc_id: str, title: str, body: str = "") -> SearchDocument:
    return SearchDocument(
        doc_id=doc_id, kind="question", question_id=int(doc_id[2:]), answer_id=None,
        title=title, body=body, tags=(), created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


@pytest.fixture(params=BACKENDS)
def index(request, tmp_path):
    keyword = make_place(request.param, tmp_path).keyword_index()
    keyword.write(
        delete=[],
        add=[
            _doc("q:1", "Cách đăng ký tài khoản"),
            _doc("q:2", "Cach dang ky tai khoan"),  # the same, typed without diacritics
            _doc("q:3", "Đang kỳ nghỉ, tài khoản bị khoá"),  # folds to the same syllables
            _doc("q:4", "Trồng chè", "Trí tuệ nhân tạo giúp trồng chè"),
            _doc("q:5", "Hỏi về trí nhớ", "Tuệ hay quên, nhân viên tạo tài liệu"),
        ],
    )
    yield keyword
    keyword.close()


def _ids(keyword, query: str) -> list[str]:
    terms = QueryTerms.from_phrases(phrases(query), typed_with_diacritics=has_diacritics(query))
    matches, _total = keyword.search(terms, Filters(), limit=10)
    return [match.doc_id for match in matches]


def test_exact_diacritics_match_ranks_above_folded_only_matches(index):
    ranked = _ids(index, "đăng ký")
    assert ranked[0] == "q:1"
    assert set(ranked) == {"q:1", "q:2", "q:3"}


def test_query_without_diacritics_finds_accented_documents(index):
    assert {"q:1", "q:2", "q:3"} <= set(_ids(index, "dang ky"))


def test_decomposed_query_matches_composed_document(index):
    assert _ids(index, unicodedata.normalize("NFD", "đăng ký"))[0] == "q:1"


def test_compound_words_rank_as_units(index):
    # Both documents contain the four syllables; only q:4 contains the compound.
    ranked = _ids(index, "trí tuệ nhân tạo")
    assert ranked[0] == "q:4"
    assert "q:5" in ranked


@pytest.mark.parametrize(
    "text",
    ["Đăng ký ChatGPT ko dc, mn ơi!", "İstanbul và Đà Lạt", "Trí tuệ nhân tạo (AI) giúp trồng chè"],
)
def test_folded_words_are_the_folded_index_terms_without_bigrams(text):
    from search.vietnamese import BIGRAM_JOINER, folded_words

    unigrams = {t for t in index_terms(text, folded=True) if BIGRAM_JOINER not in t}
    assert unigrams <= folded_words(text)
