"""Encoders: the fake one used by every other test, and the real sentence-transformers one."""

import threading

import numpy as np
import pytest

from search import FakeEncoder, SearchDocument, SearchEngine, SentenceTransformerEncoder, encoders


def test_fake_vectors_are_deterministic_and_normalized():
    first = FakeEncoder().encode_passages(["Đăng ký tài khoản", "Trồng chè"])
    again = FakeEncoder().encode_passages(["Đăng ký tài khoản", "Trồng chè"])
    assert first.dtype == np.float32 and first.shape == (2, 256)
    assert np.array_equal(first, again)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0)


def test_fake_vectors_of_texts_sharing_words_are_closer():
    encoder = FakeEncoder()
    query = encoder.encode_queries(["cách đăng ký tài khoản"])[0]
    related, unrelated = encoder.encode_passages(["Đăng ký tài khoản Zalo", "Bán chè online"])
    assert query @ related > query @ unrelated + 0.3


def test_fake_encoder_counts_what_it_encodes():
    encoder = FakeEncoder()
    encoder.encode_passages(["a", "b"])
    encoder.encode_queries(["c"])
    assert (encoder.passages_encoded, encoder.queries_encoded) == (2, 1)


def test_real_encoder_names_its_vector_space_without_loading():
    encoder = SentenceTransformerEncoder("some/model", query_prompt="query: ")
    other = SentenceTransformerEncoder("some/model", query_prompt="")
    assert encoder.name != other.name  # prompts change the vectors, so the space
    assert encoder._model is None  # nothing loaded until the first encode


class CountingModel:
    """Stands in for a sentence-transformers model: fake vectors, and the texts it was given."""

    def __init__(self):
        self.calls = []

    def encode(self, texts, **options):
        self.calls.append(list(texts))
        return FakeEncoder().encode_passages(texts)


def test_real_encoder_reuses_recent_query_vectors(monkeypatch):
    monkeypatch.setattr(encoders, "QUERY_CACHE_SIZE", 2)
    encoder = SentenceTransformerEncoder("some/model", query_prompt="query: ")
    model = encoder._model = CountingModel()
    first = encoder.encode_queries(["lừa đảo", "chè"])
    again = encoder.encode_queries(["chè", "lừa đảo", "chè"])
    assert model.calls == [["query: lừa đảo", "query: chè"]]
    assert np.array_equal(again, first[[1, 0, 1]])
    again[0] += 1  # a caller's array is its own
    assert np.array_equal(encoder.encode_queries(["chè"])[0], first[1])
    encoder.encode_queries(["zalo"])  # the least recently used, "lừa đảo", goes
    encoder.encode_queries(["chè", "lừa đảo"])
    assert model.calls[1:] == [["query: zalo"], ["query: lừa đảo"]]
    encoder.encode_passages(["chè", "chè"])  # passages are not kept
    assert model.calls[-1] == ["chè", "chè"]


@pytest.fixture(scope="module")
def minilm():
    from search.model_prep import fallback_model_path

    return SentenceTransformerEncoder(fallback_model_path(), label="all-MiniLM-L6-v2")


@pytest.mark.slow
def test_real_model_loads_once_for_concurrent_callers(minilm):
    results, models = [], []

    def encode():
        results.append(minilm.encode_queries(["how do I reset my password"]))
        models.append(minilm._model)

    threads = [threading.Thread(target=encode) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(model) for model in models}) == 1
    assert all(np.allclose(result, results[0], atol=1e-5) for result in results)
    assert results[0].shape == (1, 384)
    assert np.isclose(np.linalg.norm(results[0]), 1.0)


@pytest.mark.slow
def test_engine_with_the_real_model_finds_a_paraphrase(minilm, tmp_path):
    from datetime import UTC, datetime

    def doc(number, title, body):
        return SearchDocument(f"q:{number}", "question", number, None, title, body, (),
                              datetime(2025, 1, number, tzinfo=UTC))

    engine = SearchEngine(tmp_path / "index", minilm)
    engine.sync([
        doc(1, "Forgot my password", "I cannot log in to my account any more."),
        doc(2, "Growing tea plants", "When should I prune the tea bushes?"),
        doc(3, "Selling online", "How to write a good product description?"),
    ])
    hits = engine.search("recover access to my login", mode="semantic").hits
    assert hits[0].doc_id == "q:1"
    engine.close()
