"""SearchEngine on both keyword engines: sync and repair, stored vectors, the three modes,
collapsing by thread, similar questions, concurrency."""

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from search_backends import ENGINE_BACKENDS, make_place

from search import MODES, FakeEncoder, SearchDocument
from search.embeddings import InMemoryEmbeddingStore
from search.engine import score_fusion
from search.restorer import DiacriticRestorer

START = datetime(2025, 5, 1, tzinfo=UTC)
FILLER = (
    "hôm nay trời mưa to nên cả nhà ở trong bếp nấu cơm nói chuyện về mùa vụ năm sau "
    "ông bà kể chuyện ngày xưa đi chợ phiên bán gà mua vải may áo cho các cháu đi học"
)


def question(number, title, body="", *, tags=(), answers=0, accepted=False, days=0):
    return SearchDocument(
        doc_id=f"q:{number}", kind="question", question_id=number, answer_id=None,
        title=title, body=body, tags=tuple(tags), created_at=START + timedelta(days=days),
        answer_count=answers, has_accepted=accepted,
    )


def answer(number, of, body, *, accepted=False, days=1):
    return SearchDocument(
        doc_id=f"a:{number}", kind="answer", question_id=of.question_id, answer_id=number,
        title=of.title, body=body, tags=of.tags, created_at=of.created_at + timedelta(days=days),
        has_accepted=accepted,
    )


Q1 = question(1, "Làm sao đăng ký tài khoản ChatGPT?", "Mình mới dùng, cần hướng dẫn.",
              tags=["chatgpt"], answers=1, accepted=True)
A1 = answer(11, Q1, "Bạn vào trang chủ, bấm đăng ký rồi xác nhận email.", accepted=True)
Q2 = question(2, "Đang kỳ nghỉ hè, học gì với AI?", "Con tôi muốn tự học tiếng Anh.",
              tags=["hoc-tap"], days=2)
Q3 = question(3, "Nhận biết cuộc gọi lừa đảo", "Có người giả công an gọi bắt chuyển tiền.",
              tags=["lua-dao"], answers=1, days=3)
A3 = answer(31, Q3, "Cúp máy ngay, không chuyển tiền, báo công an phường.")
CORPUS = [Q1, A1, Q2, Q3, A3]


@pytest.fixture(params=ENGINE_BACKENDS)
def place(request, tmp_path):
    """Where the index lives; `place.open(encoder)` is an engine (a node) on it."""
    place = make_place(request.param, tmp_path)
    yield place
    place.close()


@pytest.fixture
def encoder():
    return FakeEncoder()


@pytest.fixture
def engine(place, encoder):
    search_engine = place.open(encoder)
    search_engine.sync(CORPUS)
    yield search_engine
    search_engine.close()


def ids(results):
    return [hit.doc_id for hit in results.hits]


# Sync ----------------------------------------------------------------------------------------


def test_first_sync_adds_and_embeds_everything(place):
    encoder = FakeEncoder()
    engine = place.open(encoder)
    report = engine.sync(CORPUS)
    passages = sum(len(doc.passages()) for doc in CORPUS)
    assert (report.added, report.updated, report.removed) == (5, 0, 0)
    assert report.embedded_passages == encoder.passages_encoded == passages
    assert engine.stats()["documents"] == engine.stats()["vectors"] == 5
    engine.close()


def test_sync_without_changes_embeds_nothing(engine, encoder):
    before = encoder.passages_encoded
    report = engine.sync(CORPUS)
    assert report.unchanged == 5
    assert (report.added, report.updated, report.removed, report.embedded_passages) == (0,) * 4
    assert encoder.passages_encoded == before


def test_sync_updates_edits_removes_deletions_and_embeds_only_changed_text(engine, encoder):
    before = encoder.passages_encoded
    edited = replace(A3, body="Cúp máy, gọi lại số tổng đài ngân hàng để kiểm tra.")
    voted = replace(Q2, score=7)  # votes change what is stored, not what is embedded
    report = engine.sync([Q1, A1, voted, Q3, edited])
    assert (report.updated, report.removed) == (2, 0)
    assert encoder.passages_encoded - before == len(edited.passages())
    report = engine.sync([Q1, A1, voted, edited])
    assert report.removed == 1
    assert "q:3" not in ids(engine.search("lừa đảo", mode="keyword"))
    assert "q:3" not in ids(engine.search("lừa đảo", mode="semantic"))
    assert ids(engine.search("tổng đài ngân hàng", mode="keyword")) == ["a:31"]


def test_a_title_change_reembeds_the_question_and_its_answers(engine, encoder):
    before = encoder.passages_encoded
    retitled = replace(Q1, title="Đăng ký ChatGPT bằng số điện thoại")
    engine.sync([retitled, replace(A1, title=retitled.title), Q2, Q3, A3])
    assert encoder.passages_encoded - before == len(retitled.passages()) + len(A1.passages())


def test_sync_repairs_what_a_crash_left_out_of_step(engine, encoder, place):
    # Crash after the keyword commit, before the vectors were logged:
    engine.vectors.remove(["a:11"])
    # Crash after the vectors were logged, before the keyword commit:
    engine.keyword.write(delete=["q:2"], add=[])
    # The saved restorer lost:
    place.forget_restorer()
    engine.restorer.source_fingerprint = 0
    before = encoder.passages_encoded
    report = engine.sync(CORPUS)
    assert report.added == 1  # q:2 back in the keyword index
    assert encoder.passages_encoded - before == len(A1.passages())  # only a:11 re-embedded
    assert "rebuilt the diacritics restorer" in report.notes
    assert engine.search("lam sao dang ky").restored_query == "làm sao đăng ký"
    assert "a:11" in ids(engine.search("xác nhận email", mode="semantic"))


def test_a_rebuild_from_stored_vectors_encodes_nothing(tmp_path):
    store = InMemoryEmbeddingStore()
    first = make_place("whoosh", tmp_path / "first").open(FakeEncoder(), embeddings=store)
    first.sync(CORPUS)
    first.close()
    encoder = FakeEncoder()
    rebuilt = make_place("tantivy", tmp_path / "rebuilt").open(encoder, embeddings=store)
    report = rebuilt.sync(CORPUS)
    assert report.added == len(CORPUS)
    assert report.embedded_passages == encoder.passages_encoded == 0
    assert rebuilt.stats()["vectors"] == len(CORPUS)
    assert ids(rebuilt.search("xác nhận email", mode="semantic"))[0] == "a:11"
    rebuilt.close()


def test_only_text_without_stored_vectors_is_encoded_and_then_stored(place):
    store = InMemoryEmbeddingStore()
    store.save([Q1], {"q:1": FakeEncoder().encode_passages(Q1.passages())}, "fake-ngrams-256")
    stale = replace(Q2, body="Một nội dung khác.")  # stored vectors of another text: unused
    store.save([stale], {"q:2": FakeEncoder().encode_passages(stale.passages())},
               "fake-ngrams-256")
    encoder = FakeEncoder()
    engine = place.open(encoder, embeddings=store)
    engine.sync(CORPUS)
    assert encoder.passages_encoded == sum(len(doc.passages()) for doc in CORPUS[1:])
    assert set(store.load(CORPUS, encoder.name)) == {doc.doc_id for doc in CORPUS}
    engine.close()


def test_changing_the_encoder_reembeds_everything(place):
    first = place.open(FakeEncoder(dim=64))
    first.sync(CORPUS)
    first.close()
    other = FakeEncoder(dim=128)
    second = place.open(other)
    report = second.sync(CORPUS)
    assert report.unchanged == 5
    assert other.passages_encoded == sum(len(doc.passages()) for doc in CORPUS)
    assert second.search("lừa đảo", mode="semantic").hits
    second.close()


def test_upsert_and_remove_are_visible_to_the_next_search(engine):
    new = question(4, "Zalo bị khoá tài khoản", "Làm sao mở lại?", days=5)
    engine.upsert([new])
    assert ids(engine.search("zalo", mode="keyword")) == ["q:4"]
    engine.remove(["q:4"])
    assert engine.search("zalo", mode="keyword").total == 0


def test_update_adds_and_removes_in_one_commit(engine, monkeypatch):
    engine.upsert([question(4, "Zalo bị khoá tài khoản", "Làm sao mở lại?", days=5)])
    commits = []
    write = engine.keyword.write
    monkeypatch.setattr(engine.keyword, "write", lambda **kw: commits.append(1) or write(**kw))
    engine.update([question(6, "Zalo không gửi được ảnh", "Ảnh cứ quay mãi.")], ["q:4"])
    assert commits == [1]
    assert ids(engine.search("zalo", mode="keyword")) == ["q:6"]


def test_restorer_learns_from_indexed_documents(engine):
    engine.upsert([question(5, "Cách phòng tránh sâu bệnh cho chè", "Chè bị sâu bệnh.")])
    assert engine.search("sau benh").restored_query == "sâu bệnh"


def test_rebuild_restorer_counts_the_indexed_documents_again(engine):
    engine.restorer = DiacriticRestorer()
    assert engine.search("lam sao dang ky").restored_query is None
    engine.rebuild_restorer()
    assert engine.search("lam sao dang ky").restored_query == "làm sao đăng ký"
    assert "rebuilt the diacritics restorer" not in engine.sync(CORPUS).notes


def test_a_second_engine_on_the_same_index_sees_changes_after_refresh(engine, place):
    reader = place.open(FakeEncoder())
    engine.upsert([question(6, "Gemini dùng thử", "Gemini có miễn phí không?")])
    reader.refresh()
    assert ids(reader.search("gemini", mode="keyword")) == ["q:6"]
    assert "q:6" in ids(reader.search("gemini", mode="semantic"))
    reader.close()


def test_an_engine_that_only_searched_writes_nothing_on_close(engine, place):
    reader = place.open(FakeEncoder())
    engine.upsert([question(7, "Viết prompt cho giáo án", "Mẫu câu lệnh nào tốt?")])
    reader.close()  # its view is older: saving it would lose q:7
    engine.close()
    reopened = place.open(FakeEncoder())
    assert "q:7" in reopened.vectors.doc_ids()
    assert ids(reopened.search("giáo án", mode="keyword"))[0] == "q:7"
    reopened.close()


def test_two_writers_on_one_index_keep_both_changes(engine, place):
    other = place.open(FakeEncoder())  # say, a `reindex` command
    engine.upsert([question(8, "Gemini viết thơ", "Thơ lục bát.")])
    other.upsert([question(9, "Gemini vẽ tranh", "Tranh sơn dầu.")])
    engine.upsert([question(10, "Gemini dịch tiếng Anh", "Dịch văn bản.")])
    other.close()
    engine.close()
    reopened = place.open(FakeEncoder())
    assert {"q:8", "q:9", "q:10"} <= reopened.vectors.doc_ids()
    assert set(ids(reopened.search("gemini", mode="keyword"))) == {"q:8", "q:9", "q:10"}
    reopened.close()


# Searching -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
@pytest.mark.parametrize(
    "query",
    ["", "   ", "?!…", '"(*:', "title:chatgpt AND (", "OR NOT *", "😀", "đăng " * 500],
)
def test_bad_queries_never_raise(engine, mode, query):
    results = engine.search(query, mode=mode)
    assert results.total >= len(results.hits)


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_an_empty_index_answers_with_nothing(place, mode):
    engine = place.open(FakeEncoder())
    results = engine.search("đăng ký tài khoản", mode=mode, tag="chatgpt")
    assert (results.hits, results.total) == ([], 0)
    assert engine.similar_questions("Làm sao đăng ký tài khoản ChatGPT?") == []
    engine.close()


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_every_mode_honours_filters(engine, mode):
    results = engine.search("đăng ký tài khoản chatgpt lừa đảo", mode=mode, tag="lua-dao")
    assert set(ids(results)) <= {"q:3", "a:31"} and results.hits
    results = engine.search("đăng ký chatgpt", mode=mode, kind="answer", accepted=True)
    assert ids(results) == ["a:11"]
    results = engine.search("đăng ký", mode=mode, date_from=START + timedelta(days=2))
    assert all(hit.created_at >= START + timedelta(days=2) for hit in results.hits)


def test_hits_carry_what_a_results_page_shows(engine):
    hit = engine.search("đăng ký email", mode="keyword", kind="answer").hits[0]
    assert (hit.doc_id, hit.kind, hit.question_id, hit.answer_id) == ("a:11", "answer", 1, 11)
    assert hit.title == Q1.title and hit.tags == ("chatgpt",) and hit.has_accepted
    assert "<mark>đăng</mark> <mark>ký</mark>" in hit.snippet_html
    assert hit.title_html == "Làm sao <mark>đăng</mark> <mark>ký</mark> tài khoản ChatGPT?"


def test_an_answer_hit_shows_its_threads_answer_count(engine):
    # Answers carry no answer count (a new answer rewrites only itself and its question).
    hits = engine.search("cúp máy chuyển tiền", mode="keyword", kind="answer").hits
    assert [(hit.doc_id, hit.answer_count) for hit in hits] == [("a:31", Q3.answer_count)]


def test_an_answer_always_passes_the_answered_filter(engine):
    assert "a:31" in ids(engine.search("cúp máy", mode="keyword", answered=True))
    assert "a:31" not in ids(engine.search("cúp máy", mode="keyword", answered=False))


def test_query_without_diacritics_is_restored_and_prefers_the_restored_words(engine):
    results = engine.search("dang ky", mode="keyword")
    assert results.restored_query == "đăng ký"
    assert ids(results)[0] in {"q:1", "a:11"}
    assert "q:2" in ids(results)  # "Đang kỳ" still matches, folded, lower down
    assert ids(results).index("q:2") > 1


def test_hybrid_newest_shows_the_best_matches_newest_first(engine):
    results = engine.search("chuyển tiền công an", sort="newest")
    dates = [hit.created_at for hit in results.hits]
    assert dates == sorted(dates, reverse=True)
    assert results.hits


def test_paging_in_ranked_modes(engine):
    everything = engine.search("đăng ký tài khoản chatgpt", limit=100)
    second = engine.search("đăng ký tài khoản chatgpt", limit=2, offset=2)
    assert ids(second) == ids(everything)[2:4]
    assert second.total == everything.total


def test_score_fusion_weighs_standardized_scores_and_ignores_zero_weights():
    keyword = [("a", 9.0), ("b", 8.0), ("c", 1.0)]
    semantic = [("b", 0.80), ("c", 0.79), ("d", 0.40)]
    fused = score_fusion([(keyword, 1.0, 0.0), (semantic, 1.0, None)])
    fused = [doc_id for doc_id, _score in fused]
    assert fused[0] == "b"  # high in both
    assert fused[-1] == "d"  # low in one, missing from the other
    keyword_only = score_fusion([(keyword, 1.0, 0.0), (semantic, 0.0, None)])
    assert [doc_id for doc_id, _score in keyword_only] == ["a", "b", "c"]


def test_score_fusion_keeps_a_clear_lead_that_rank_fusion_would_flatten():
    # "a" is far ahead in keyword scores and only a little behind in semantic ones.
    keyword = [("a", 20.0), ("b", 2.0), ("c", 1.9), ("d", 1.8)]
    semantic = [("b", 0.81), ("a", 0.80), ("c", 0.60), ("d", 0.59)]
    fused = score_fusion([(keyword, 1.0, 0.0), (semantic, 1.0, None)])
    assert fused[0][0] == "a"
    assert score_fusion([([], 1.0, 0.0)]) == []


def test_hybrid_keeps_what_each_mode_finds_best(place):
    """Keyword alone prefers a title that merely lists the words; semantic alone prefers
    near-words ("chatgpt4", "androidtv"); both rank the real answer second. Fused, the leaders
    of both modes and the answer both rank second are the first three."""
    query = "cài chatgpt android"
    keyword_decoy = question(1, "Cài chatgpt android", " ".join([FILLER] * 4))
    target = question(2, "Hỏi về điện thoại Samsung đời cũ của mẹ tôi ở quê",
                      "Cài chatgpt trên android")
    near_words = [question(3, "Chatgpt4 androidtv"), question(4, "Chatgpt4 trên tivi")]
    others = [question(10 + i, f"Chuyện {i}", FILLER) for i in range(6)]
    engine = place.open(FakeEncoder())
    engine.sync([keyword_decoy, target, *near_words, *others])
    keyword = ids(engine.search(query, mode="keyword"))
    semantic = ids(engine.search(query, mode="semantic"))
    hybrid = ids(engine.search(query, mode="hybrid"))
    assert keyword[:2] == ["q:1", "q:2"]
    assert semantic[0] != "q:2" and semantic.index("q:2") < semantic.index("q:1")
    assert set(hybrid[:3]) == {keyword[0], semantic[0], "q:2"}
    engine.close()


# Collapsing by thread --------------------------------------------------------------------------

Q40 = question(40, "Cách ủ phân hữu cơ cho chè", "Ủ phân chuồng thế nào cho chè?", answers=3,
               tags=["che"])
THREADS = [
    Q40,
    answer(41, Q40, "Ủ phân chuồng với vôi bột, đảo phân chè mỗi tuần.", days=1),
    answer(42, Q40, "Phân chè ủ ba tháng là dùng được.", days=2),
    answer(43, Q40, "Hỏi hợp tác xã chè về phân.", days=3),
    question(50, "Bón phân cho chè mùa khô", "Phân nào tốt cho chè?", answers=1, days=5),
    answer(51, question(50, "Bón phân cho chè mùa khô"), "Phân hữu cơ ủ kỹ.", days=6),
    question(60, "Zalo bị khoá tài khoản", "Làm sao mở lại?", days=7),
]


def first_per_thread(hits):
    seen, kept = set(), []
    for hit in hits:
        if hit.question_id not in seen:
            seen.add(hit.question_id)
            kept.append(hit.doc_id)
    return kept


@pytest.mark.parametrize("mode", MODES)
def test_collapse_shows_each_thread_once_by_its_best_hit(place, mode):
    engine = place.open(FakeEncoder())
    engine.sync(THREADS[:-2])
    # Two more writes: with Whoosh, documents of one thread in several segments.
    engine.upsert([THREADS[-2]])
    engine.upsert([THREADS[-1]])
    every = engine.search("phân chè", mode=mode, limit=50)
    collapsed = engine.search("phân chè", mode=mode, limit=50, collapse=True)
    assert len({hit.question_id for hit in every.hits}) < len(every.hits)
    assert ids(collapsed) == first_per_thread(every.hits)
    assert collapsed.total == len(collapsed.hits) == len({h.question_id for h in every.hits})
    second = engine.search("phân chè", mode=mode, limit=1, offset=1, collapse=True)
    assert ids(second) == ids(collapsed)[1:2] and second.total == collapsed.total
    engine.close()


@pytest.mark.parametrize("mode", MODES)
def test_collapse_sorted_by_newest_shows_each_thread_once(place, mode):
    engine = place.open(FakeEncoder())
    engine.sync(THREADS)
    results = engine.search("phân chè", mode=mode, sort="newest", collapse=True)
    threads = [hit.question_id for hit in results.hits]
    dates = [hit.created_at for hit in results.hits]
    assert len(threads) == len(set(threads)) == results.total and 40 in threads
    assert dates == sorted(dates, reverse=True)
    engine.close()


class BrokenEncoder(FakeEncoder):
    def encode_queries(self, texts):
        raise OSError("model folder missing")


def test_a_broken_model_falls_back_to_keyword_search(place, caplog):
    engine = place.open(FakeEncoder())
    engine.sync(CORPUS)
    engine.close()
    broken = place.open(BrokenEncoder())
    results = broken.search("lừa đảo chuyển tiền")
    assert results.mode == "keyword"
    assert ids(results)[0] in {"q:3", "a:31"}
    assert broken.similar_questions("cuộc gọi lừa đảo")[0].question_id == 3
    assert "Semantic search is off" in caplog.text
    broken.close()


# Similar questions ---------------------------------------------------------------------------


def test_similar_questions_put_answered_threads_first_among_equals(place):
    unanswered = question(1, "Cách tạo ảnh bằng AI miễn phí", "Dùng công cụ nào?")
    answered = question(2, "Cách tạo ảnh bằng AI miễn phí", "Dùng công cụ nào?",
                        answers=2, accepted=True)
    unrelated = question(3, "Bán chè Thái Nguyên online", "Viết bài quảng cáo thế nào?",
                         answers=3, accepted=True)
    engine = place.open(FakeEncoder())
    engine.sync([unanswered, answered, unrelated])
    similar = engine.similar_questions("Tạo ảnh bằng AI miễn phí được không?")
    assert [hit.question_id for hit in similar][:2] == [2, 1]
    assert similar[0].has_accepted and similar[0].answer_count == 2
    assert all(hit.kind == "question" for hit in similar)
    engine.close()


def test_a_much_better_match_beats_an_answered_one(place):
    exact = question(1, "Lỗi đăng nhập Zalo trên máy tính", "Zalo báo lỗi mạng.")
    loose = question(2, "Hỏi chung về máy tính", "Máy chậm.", answers=1, accepted=True)
    engine = place.open(FakeEncoder())
    engine.sync([exact, loose])
    similar = engine.similar_questions("Zalo không đăng nhập được trên máy tính, báo lỗi mạng")
    assert [hit.question_id for hit in similar][0] == 1
    engine.close()


def test_similar_question_scores_are_absolute(engine):
    duplicate = engine.similar_questions(f"{Q3.title}\n{Q3.body}")
    assert duplicate[0].question_id == 3 and duplicate[0].score >= 0.8
    unrelated = engine.similar_questions("Nấu phở bò thế nào cho ngon?")
    assert all(0.0 <= hit.score < 0.5 for hit in unrelated)


class RecordingEncoder(FakeEncoder):
    def __init__(self):
        super().__init__()
        self.queries = []

    def encode_queries(self, texts):
        self.queries.extend(texts)
        return super().encode_queries(texts)


def test_query_vector_is_the_one_similar_questions_compared_with(place):
    encoder = RecordingEncoder()
    engine = place.open(encoder)
    engine.sync(CORPUS)
    draft = "lam sao dang ky tai khoan chatgpt " + "ba " * 60
    engine.similar_questions(draft)
    used = encoder.queries[-1]
    assert used == "làm sao đăng ký tài khoản chatgpt" + " ba" * 33  # restored, 40 words
    assert np.array_equal(engine.query_vector(draft), encoder.encode_queries([used])[0])
    engine.close()


def test_similar_questions_count_answers_for_their_thread_and_honour_exclusions(engine):
    similar = engine.similar_questions("cúp máy báo công an phường")
    assert similar[0].question_id == 3 and similar[0].doc_id == "q:3"
    excluded = engine.similar_questions("cúp máy báo công an phường", exclude_question_ids=[3])
    assert 3 not in [hit.question_id for hit in excluded]
    assert engine.similar_questions("?!") == []


def test_similar_questions_show_an_edited_question_as_it_is_now(engine):
    engine.upsert([question(3, "Nhận biết cuộc gọi lừa đảo giả công an", "Cúp máy ngay.")])
    similar = engine.similar_questions("cuộc gọi giả công an lừa đảo")
    assert similar[0].question_id == 3
    assert similar[0].title == "Nhận biết cuộc gọi lừa đảo giả công an"


# Concurrency ---------------------------------------------------------------------------------


def test_searches_run_while_a_writer_commits(engine):
    errors: list[BaseException] = []
    stop = threading.Event()

    def write():
        try:
            for number in range(100, 130):
                engine.upsert([question(number, f"Câu hỏi số {number} về Zalo", "Zalo lỗi.")])
                if number % 5 == 0:
                    engine.remove([f"q:{number - 1}"])
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)
        finally:
            stop.set()

    def read(mode):
        try:
            while not stop.is_set():
                engine.search("zalo lỗi", mode=mode, limit=5)
                engine.search("zalo", mode=mode, tag="chatgpt")
                engine.similar_questions("Zalo bị lỗi")
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=write)]
    threads += [threading.Thread(target=read, args=(m,)) for m in ("keyword", "semantic", "hybrid")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    # 30 added; q:104, q:109, q:114, q:119 and q:124 removed.
    assert engine.search("zalo", mode="keyword").total == 25


def test_writers_in_other_processes_at_once_keep_every_change(engine, place):
    """Each engine stands for a process (a worker, a web node): its own connections and
    locks. They write at the same time; nothing is lost and keyword and vectors agree."""
    writers = [place.open(FakeEncoder()) for _ in range(3)]
    errors: list[BaseException] = []

    def write(number, writer):
        try:
            for i in range(8):
                doc = question(200 + 10 * number + i, f"Máy gặt số {number}-{i}", "Máy gặt hỏng.")
                writer.upsert([doc])
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=write, args=item) for item in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    for writer in writers:
        writer.close()
    engine.refresh()
    assert engine.search("gặt", mode="keyword").total == 24
    assert {f"q:{200 + 10 * n + i}" for n in range(3) for i in range(8)} <= engine.vectors.doc_ids()
    added = [question(200 + 10 * n + i, f"Máy gặt số {n}-{i}", "Máy gặt hỏng.")
             for n in range(3) for i in range(8)]
    assert engine.sync([*CORPUS, *added]).unchanged == len(CORPUS) + 24
