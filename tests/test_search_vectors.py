"""Vector stores: best passage per document, in faiss indexes (exact, or inverted lists), in
numpy files (snapshot plus log)."""

import numpy as np
import pytest

from search.faiss_vectors import FaissVectorStore
from search.vectors import SNAPSHOT_NAME, NumpyVectorStore, VectorEntry

STORES = ["faiss", "faiss-ivf", "numpy"]


def open_file_store(kind, directory, space):
    if kind == "numpy":
        return NumpyVectorStore(directory, space)
    # "faiss-ivf": inverted lists however small the store, so tiny tests exercise them too.
    return FaissVectorStore(directory, space, ivf_threshold=1 if kind == "faiss-ivf" else 20_000)


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, np.float32)
    return vector / np.linalg.norm(vector)


def entry(doc_id: str, *rows: np.ndarray, text_hash: str = "h") -> VectorEntry:
    return VectorEntry(doc_id, text_hash, np.stack(rows))


@pytest.fixture(params=STORES)
def open_store(request, tmp_path):
    """open_store(space) opens the store as another process would."""
    yield lambda space: open_file_store(request.param, tmp_path / "vectors", space)


@pytest.fixture
def store(open_store):
    vectors = open_store("space-a")
    vectors.add([
        entry("q:1", unit(1, 0, 0)),
        entry("a:1", unit(0, 1, 0), unit(0.9, 0.1, 0)),  # its second passage is near q:1
        entry("q:2", unit(0, 0, 1)),
    ])
    # Saved: a faiss store then holds these in its index, and later changes beside it.
    vectors.save()
    yield vectors
    vectors.close()


def test_a_document_scores_by_its_best_passage(store):
    results = store.search(unit(1, 0, 0), k=3)
    assert [doc_id for doc_id, _score in results] == ["q:1", "a:1", "q:2"]
    assert results[0][1] == pytest.approx(1.0)
    assert results[1][1] == pytest.approx(float(unit(0.9, 0.1, 0)[0]))


def test_each_document_appears_once_and_k_limits(store):
    results = store.search(unit(1, 1, 0), k=2)
    assert len(results) == 2
    assert len({doc_id for doc_id, _score in results}) == 2


def test_allowed_restricts_the_candidates(store):
    results = store.search(unit(1, 0, 0), k=3, allowed={"q:2", "missing"})
    assert [doc_id for doc_id, _score in results] == ["q:2"]
    assert store.search(unit(1, 0, 0), k=3, allowed=set()) == []


def test_replacing_a_document_drops_its_old_passages(store):
    store.add([entry("a:1", unit(0, 0, 1), text_hash="h2")])
    assert store.text_hash("a:1") == "h2"
    scores = dict(store.search(unit(1, 0, 0), k=3))
    assert scores["a:1"] == pytest.approx(0.0)  # no trace of the old passage near q:1
    assert store.search(unit(0, 0, 1), k=3)[0][1] == pytest.approx(1.0)


def test_removed_documents_are_not_found(store):
    store.remove(["q:1", "not-there"])
    assert "q:1" not in store.doc_ids()
    assert [d for d, _s in store.search(unit(1, 0, 0), k=3)] == ["a:1", "q:2"]


def test_changes_survive_reopening(store, open_store):
    store.remove(["q:2"])
    store.add([entry("q:3", unit(1, 1, 1), text_hash="h3")])
    reopened = open_store("space-a")
    assert reopened.doc_ids() == {"q:1", "a:1", "q:3"}
    assert reopened.text_hash("q:3") == "h3"
    assert reopened.search(unit(1, 1, 1), k=1)[0][0] == "q:3"
    reopened.close()


def test_save_writes_a_snapshot_and_starts_an_empty_log(tmp_path):
    store = NumpyVectorStore(tmp_path / "vectors", "space-a")
    store.add([entry("q:1", unit(1, 0, 0)), entry("a:1", unit(0, 1, 0)),
               entry("q:2", unit(0, 0, 1))])
    store.remove(["q:2"])
    store.save()
    directory = tmp_path / "vectors"
    logs = list(directory.glob("vectors-*.log"))
    assert len(logs) == 1 and logs[0].stat().st_size == 0
    reopened = NumpyVectorStore(directory, "space-a")
    assert reopened.doc_ids() == {"q:1", "a:1"}
    assert reopened.search(unit(0, 1, 0), k=1)[0][0] == "a:1"
    reopened.close()


def test_a_record_cut_short_by_a_crash_is_ignored(tmp_path):
    store = NumpyVectorStore(tmp_path / "vectors", "space-a")
    store.add([entry("q:1", unit(1, 0, 0)), entry("a:1", unit(0, 1, 0)),
               entry("q:2", unit(0, 0, 1))])
    store.add([entry("q:9", unit(1, 0, 1), text_hash="h9")])
    store.close()
    log = next((tmp_path / "vectors").glob("vectors-*.log"))
    data = log.read_bytes()
    log.write_bytes(data[:-7])  # the last record loses its tail
    reopened = NumpyVectorStore(tmp_path / "vectors", "space-a")
    assert reopened.doc_ids() == {"q:1", "a:1", "q:2"}
    # Writing after the damage still works and survives another reopening.
    reopened.add([entry("q:9", unit(1, 0, 1), text_hash="h9")])
    reopened.close()
    again = NumpyVectorStore(tmp_path / "vectors", "space-a")
    assert again.text_hash("q:9") == "h9"
    again.close()


def test_a_different_encoder_starts_an_empty_store(store, open_store):
    store.close()
    other = open_store("space-b")
    assert other.doc_ids() == set()
    assert open_store("space-b").doc_ids() == set()
    other.add([entry("q:5", unit(1, 0))])
    assert open_store("space-b").doc_ids() == {"q:5"}
    other.close()


def test_a_new_encoder_writes_a_snapshot_at_once(tmp_path):
    NumpyVectorStore(tmp_path / "vectors", "space-b").close()
    assert (tmp_path / "vectors" / SNAPSHOT_NAME).exists()


def test_another_process_sees_changes_after_refresh(store, open_store):
    reader = open_store("space-a")
    store.add([entry("q:4", unit(0, 1, 1), text_hash="h4")])
    assert "q:4" not in reader.doc_ids()
    reader.refresh()
    assert "q:4" in reader.doc_ids()
    store.save()  # a new snapshot and log generation
    store.remove(["q:4"])
    reader.refresh()
    assert "q:4" not in reader.doc_ids()
    reader.close()


def test_many_documents_keep_exact_top_k(open_store):
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(500, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    vectors = open_store("s")
    vectors.add(VectorEntry(f"d:{i}", "h", matrix[i : i + 1]) for i in range(500))
    query = matrix[7]
    expected = np.argsort(-(matrix @ query))[:10]
    assert [d for d, _s in vectors.search(query, k=10)] == [f"d:{i}" for i in expected]
    vectors.close()


def test_typical_similarity_is_the_median_over_stored_passages(store):
    # Similarities of unit(1, 0, 0) to the four passages: 1.0, 0.0, ~0.99, 0.0.
    assert store.typical_similarity(unit(1, 0, 0)) == pytest.approx(0.5, abs=0.01)
    store.remove(["q:1", "a:1", "q:2"])
    assert store.typical_similarity(unit(1, 0, 0)) == 0.0
