"""Encoders: the fake one used by every other test, the ONNX one (no torch), and the
sentence-transformers one."""

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from tiny_onnx import expected_vector, write_tiny_onnx_folder

from search import (
    FakeEncoder,
    OnnxEncoder,
    SearchDocument,
    SearchEngine,
    SentenceTransformerEncoder,
    encoders,
)

ROOT = Path(__file__).resolve().parent.parent


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


# The ONNX encoder ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    return write_tiny_onnx_folder(tmp_path_factory.mktemp("onnx") / "tiny")


def test_onnx_vectors_are_the_mean_of_token_vectors_with_the_prompts(tiny_folder):
    encoder = OnnxEncoder(tiny_folder)
    query, = encoder.encode_queries(["chè ngon"])
    passage, = encoder.encode_passages(["chè ngon"])
    assert query.dtype == np.float32
    np.testing.assert_allclose(query, expected_vector("query: chè ngon"), rtol=1e-5)
    np.testing.assert_allclose(passage, expected_vector("passage: chè ngon"), rtol=1e-5)


def test_onnx_padding_and_length_sorting_change_no_vector(tiny_folder):
    encoder = OnnxEncoder(tiny_folder, batch_size=2)
    texts = ["giá chè bao nhiêu", "chè", "mật khẩu zalo ngon", "zalo", "chè ngon"]
    together = encoder.encode_passages(texts)
    alone = np.stack([encoder.encode_passages([text])[0] for text in texts])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(together[0], expected_vector("passage: giá chè bao nhiêu"),
                               rtol=1e-5)


def test_onnx_truncates_long_texts_to_the_models_length(tiny_folder):
    encoder = OnnxEncoder(tiny_folder)
    # The model takes 16 tokens: <s>, the prompt, 13 × "chè", </s>; every "zalo" is cut.
    long_text = " ".join(["chè"] * 13 + ["zalo"] * 10)
    np.testing.assert_allclose(encoder.encode_passages([long_text])[0],
                               expected_vector("passage: " + long_text), rtol=1e-5)
    assert encoder.encode_passages([]).shape == (0, 8)


def test_onnx_encoder_names_its_space_and_loads_on_first_use(tiny_folder):
    encoder = OnnxEncoder(tiny_folder)
    assert encoder.name == "onnx:tiny-int8|q=query: |p=passage: "
    assert encoder._session is None
    first = encoder.encode_queries(["zalo"])
    session = encoder._session
    assert np.array_equal(encoder.encode_queries(["zalo"]), first)  # kept, not encoded again
    assert encoder._session is session


def test_onnx_encoding_needs_no_torch(tiny_folder, tmp_path):
    """A web process encodes queries and searches without torch ever being imported."""
    script = f"""
import sys
from datetime import UTC, datetime
from search import OnnxEncoder, SearchDocument, SearchEngine
encoder = OnnxEncoder({str(tiny_folder)!r})
engine = SearchEngine({str(tmp_path / "index")!r}, encoder)
doc = SearchDocument("q:1", "question", 1, None, "giá chè", "chè ngon", (), datetime.now(UTC))
engine.sync([doc])
hits = engine.search("chè ngon", mode="semantic").hits
engine.close()
loaded = sorted(name for name in sys.modules if name.split(".")[0] in
                ("torch", "sentence_transformers", "transformers"))
print(hits[0].doc_id, loaded)
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["q:1", "[]"]


def test_onnx_settings_come_from_the_folder(tiny_folder, tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    settings = json.loads((tiny_folder / "encoder.json").read_text())
    (folder / "encoder.json").write_text(json.dumps({**settings, "variant": None}))
    encoder = OnnxEncoder(folder)
    assert (encoder.name, encoder.dim, encoder.max_seq_length) == (
        "onnx:tiny|q=query: |p=passage: ", 8, 16)


# The sentence-transformers encoder -------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm():
    from forum.model_setup import fallback_model_path

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
