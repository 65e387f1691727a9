"""Keyword search on both engines' indexes (Whoosh, tantivy): ranking fields, filters,
sorting, paging, collapsing, coverage; snippets."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from search_backends import BACKENDS, make_place

from search.documents import SearchDocument
from search.query import Filters, QueryTerms
from search.snippets import highlight
from search.vietnamese import has_diacritics, phrases

DAY = datetime(2025, 3, 1, tzinfo=UTC)


def doc(doc_id, title, body="", *, tags=(), days=0, answers=0, accepted=False, question_id=None):
    kind = "question" if doc_id.startswith("q:") else "answer"
    number = int(doc_id[2:])
    return SearchDocument(
        doc_id=doc_id,
        kind=kind,
        question_id=question_id or number,
        answer_id=None if kind == "question" else number,
        title=title,
        body=body,
        tags=tuple(tags),
        created_at=DAY + timedelta(days=days),
        answer_count=answers,
        has_accepted=accepted,
    )


DOCS = [
    doc("q:1", "Đăng ký ChatGPT", "Mình không biết bắt đầu từ đâu.", tags=["chatgpt"],
        days=0, answers=2, accepted=True),
    doc("a:11", "Đăng ký ChatGPT", "Bạn vào trang openai rồi bấm đăng ký bằng email.",
        tags=["chatgpt"], days=1, accepted=True, question_id=1),
    doc("q:2", "Hỏi về điện thoại", "Làm sao cài ChatGPT trên điện thoại Android?",
        tags=["dien-thoai"], days=2),
    doc("q:3", "Cách viết prompt hay", "Dùng vai trò và ví dụ cụ thể.", tags=["viet-prompt"],
        days=3, answers=1),
    doc("q:4", "Lừa đảo qua điện thoại", "Có người gọi nói là công an yêu cầu chuyển tiền.",
        tags=["lua-dao", "dien-thoai"], days=4),
]


@pytest.fixture(params=BACKENDS)
def place(request, tmp_path):
    place = make_place(request.param, tmp_path)
    yield place
    place.close()


@pytest.fixture
def empty_index(place):
    keyword = place.keyword_index()
    yield keyword
    keyword.close()


@pytest.fixture
def index(empty_index):
    empty_index.write(delete=[], add=DOCS[:3])
    empty_index.write(delete=[], add=DOCS[3:])  # two segments, as after separate commits
    return empty_index


def search(index, query, filters=None, **options):
    filters = filters or Filters()
    terms = QueryTerms.from_phrases(phrases(query), typed_with_diacritics=has_diacritics(query))
    matches, total = index.search(terms, filters, limit=options.pop("limit", 10), **options)
    return [m.doc_id for m in matches], total


def test_title_outranks_tags_which_outrank_body(empty_index):
    empty_index.write(delete=[], add=[
        doc("q:1", "Câu hỏi khác", "Nói về zalo một lần.", tags=["khac"]),
        doc("q:2", "Câu hỏi khác", "Không có gì.", tags=["zalo"]),
        doc("q:3", "Zalo bị khoá", "Không có gì."),
    ])
    assert search(empty_index, "zalo")[0] == ["q:3", "q:2", "q:1"]


def test_any_word_matches_and_more_words_rank_higher(index):
    ids, total = search(index, "đăng ký điện thoại")
    assert set(ids) == {"q:1", "a:11", "q:2", "q:4"}
    assert total == 4


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(tag="dien-thoai"), {"q:2", "q:4"}),
        (Filters(kind="answer"), {"a:11"}),
        (Filters(answered=True), {"q:1", "a:11", "q:3"}),
        (Filters(answered=False), {"q:2", "q:4"}),
        (Filters(accepted=True), {"q:1", "a:11"}),
        (Filters(date_from=DAY + timedelta(days=2)), {"q:2", "q:3", "q:4"}),
        (Filters(date_to=DAY + timedelta(days=1)), {"q:1", "a:11"}),
        (Filters(tag="dien-thoai", date_from=DAY + timedelta(days=3)), {"q:4"}),
        (Filters(tag="no-such-tag"), set()),
    ],
)
def test_filters(index, filters, expected):
    # Words from every document, so only the filter decides.
    ids, total = search(index, "đăng ký chatgpt điện thoại prompt lừa đảo", filters)
    assert set(ids) == expected
    assert total == len(expected)


def test_matches_tell_the_share_of_query_words_they_contain(index):
    terms = QueryTerms.from_phrases(phrases("lừa đảo chuyển tiền xyz"), typed_with_diacritics=True)
    matches, _total = index.search(terms, Filters(), limit=1)
    assert matches[0].doc_id == "q:4"
    # Every word but "xyz", which no document has; rare words weigh more, so it weighs most.
    assert 0.4 < matches[0].coverage < 0.8


def test_collapsed_results_reach_past_a_thread_with_many_better_answers(empty_index):
    thread = [doc("q:1", "Chè xanh", "Chè chè chè.", answers=30)]
    thread += [doc(f"a:{n}", "Chè xanh", "Chè chè chè chè.", question_id=1) for n in range(2, 32)]
    others = [doc(f"q:{n}", "Hỏi chung", "Có bán chè không?") for n in (40, 41, 42)]
    empty_index.write(delete=[], add=thread + others)
    ids, threads = search(empty_index, "chè", limit=2, collapse=True)
    assert threads == 4
    assert ids[0] in {d.doc_id for d in thread} and ids[1] in {"q:40", "q:41", "q:42"}
    ids, _ = search(empty_index, "chè", limit=2, offset=2, collapse=True)
    assert len(ids) == 2 and set(ids) <= {"q:40", "q:41", "q:42"}


@pytest.mark.parametrize("newest_first", [False, True])
def test_an_empty_index_finds_nothing_even_collapsed(empty_index, newest_first):
    assert search(empty_index, "chè", collapse=True, newest_first=newest_first) == ([], 0)


def test_newest_first_requires_every_word(index):
    ids, total = search(index, "điện thoại", newest_first=True)
    assert ids == ["q:4", "q:2"]
    assert total == 2


def test_pages_do_not_overlap_and_total_counts_all(index):
    everything, total = search(index, "đăng ký chatgpt điện thoại prompt lừa đảo")
    first, _ = search(index, "đăng ký chatgpt điện thoại prompt lừa đảo", limit=2)
    second, _ = search(index, "đăng ký chatgpt điện thoại prompt lừa đảo", limit=2, offset=2)
    assert total == 5
    assert first + second == everything[:4]


def test_replaced_and_deleted_documents_disappear(index):
    index.write(delete=["q:4", "q:2"], add=[doc("q:2", "Hỏi về máy tính", "Không liên quan.")])
    assert search(index, "điện thoại")[0] == []
    assert search(index, "máy tính")[0] == ["q:2"]
    assert set(index.content_hashes()) == {"q:1", "a:11", "q:2", "q:3"}


@pytest.mark.parametrize(
    "query", ["", "   ", "?!…", '"(*:', "title:chatgpt AND", "OR NOT", "*", "đăng ký)"]
)
def test_user_text_is_never_query_syntax(index, query):
    ids, total = search(index, query)
    assert total == len(ids)


def test_stored_documents_come_back_whole(index):
    found = index.documents_by_id(["a:11", "missing"])
    assert list(found) == ["a:11"]
    assert found["a:11"] == DOCS[1]


def test_filtered_doc_ids_and_question_lookup(index):
    assert index.filtered_doc_ids(Filters(tag="chatgpt")) == {"q:1", "a:11"}
    assert index.question_documents([1, 99]) == {1: DOCS[0]}


def test_a_new_answer_count_or_vote_reaches_filters_and_stored_fields(index):
    answered = replace(DOCS[2], answer_count=2, score=5)
    assert search(index, "điện thoại", Filters(answered=True))[0] == []
    index.write(delete=["q:2"], add=[answered])
    assert search(index, "điện thoại", Filters(answered=True))[0] == ["q:2"]
    assert index.documents_by_id(["q:2"])["q:2"] == answered


def test_snippet_marks_matches_ignoring_diacritics_and_escapes_html():
    text = "Bạn <b>vào</b> trang rồi bấm Đăng ký & xác nhận email."
    html = highlight(text, {"dang", "ky"})
    assert "<mark>Đăng</mark> <mark>ký</mark>" in html
    assert "&lt;b&gt;vào&lt;/b&gt;" in html and "&amp;" in html
    assert "<b>" not in html


def test_snippet_handles_characters_that_change_length_when_lowercased():
    html = highlight("İstanbul và Đà Lạt", {"da", "lat"})
    assert html == "İstanbul và <mark>Đà</mark> <mark>Lạt</mark>"


def test_snippet_is_the_window_around_the_matches():
    words = [f"từ{i}" for i in range(100)]
    words[70] = "chè"
    html = highlight(" ".join(words), {"che"}, window=10)
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>chè</mark>" in html
    assert "từ10 " not in html


def test_coverage_ignores_replaced_copies_of_a_document(empty_index):
    # Until segments merge, an engine still counts replaced copies in a word's frequency.
    thread = doc("q:1", "Đổi mật khẩu Zalo", "Em muốn đổi mật khẩu Zalo.")
    for _time in range(4):
        empty_index.write(delete=["q:1"], add=[thread])
    terms = QueryTerms.from_phrases(phrases("doi mat khau zalo"), typed_with_diacritics=False)
    matches, _total = empty_index.search(terms, Filters(), limit=1)
    assert matches[0].coverage == pytest.approx(1.0)


def test_a_collapsed_total_past_the_exact_limit_is_a_close_estimate(tmp_path, monkeypatch):
    from search import tantivy_keyword

    monkeypatch.setattr(tantivy_keyword, "EXACT_THREAD_COUNT", 10)
    keyword = make_place("tantivy", tmp_path).keyword_index()
    threads = [doc(f"q:{n}", "Chè xanh", "Chè ngon.") for n in range(1, 201)]
    answers = [doc(f"a:{n}", "Chè xanh", "Chè.", question_id=n - 1000) for n in range(1001, 1201)]
    keyword.write(delete=[], add=threads + answers)
    _ids, total = search(keyword, "chè", collapse=True)
    assert total == pytest.approx(200, rel=0.05)


def test_ids_only_matches_name_every_kind_of_doc_id(place):
    keyword = place.keyword_index()
    keyword.write(delete=[], add=[doc("q:7", "Chè"), doc("a:12", "Chè", question_id=7),
                                  replace(doc("q:8", "Chè"), doc_id="q:8-copy")])
    terms = QueryTerms.from_phrases(phrases("chè"), typed_with_diacritics=True)
    matches, _total = keyword.search(terms, Filters(), limit=10, with_documents=False)
    assert {m.doc_id for m in matches} == {"q:7", "a:12", "q:8-copy"}
    assert keyword.filtered_doc_ids(Filters()) == {"q:7", "a:12", "q:8-copy"}
    keyword.close()


def test_a_pasted_question_full_of_common_words_still_finds_its_thread(empty_index):
    filler = "mình có một câu hỏi là không biết tại sao cho nên nhờ mọi người giúp với ạ"
    empty_index.write(delete=[], add=[
        doc(f"q:{n}", f"Câu hỏi số {n}", filler, tags=["khac"]) for n in range(1, 30)
    ] + [doc("q:99", "Lỗi đăng nhập Zalo", "Zalo báo sai mật khẩu dù mình nhập đúng.")])
    assert search(empty_index, f"{filler} Zalo báo sai mật khẩu")[0][0] == "q:99"
