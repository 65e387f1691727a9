"""The faiss vector store: exact while small, inverted lists past a size, generations on disk
that other processes pick up, and changes beside a read-only (memory-mapped) index."""

import json
import shutil

import numpy as np
import pytest

from search.faiss_vectors import STAMP_NAME, FaissVectorStore, nlist_for
from search.vectors import VectorEntry


def clustered(rows, dim=16, clusters=40, seed=5):
    """Unit vectors around a few centres, as real embeddings are."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    vectors = centres[rng.integers(0, clusters, rows)] + 0.35 * rng.normal(size=(rows, dim))
    vectors = vectors.astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def fill(store, vectors, first=0):
    store.add(VectorEntry(f"d:{first + i}", f"h{first + i}", vectors[i : i + 1])
              for i in range(len(vectors)))


def exact_top(vectors, query, k, first=0):
    return [f"d:{first + i}" for i in np.argsort(-(vectors @ query))[:k]]


def stamp(directory):
    return json.loads((directory / STAMP_NAME).read_text())


def test_a_small_store_is_searched_exactly(tmp_path):
    vectors = clustered(600)
    store = FaissVectorStore(tmp_path, "s")
    fill(store, vectors)
    store.save()
    assert stamp(tmp_path)["kind"] == "flat"
    for query in vectors[:5]:
        assert [d for d, _s in store.search(query, k=10)] == exact_top(vectors, query, 10)
    store.close()


def test_past_the_threshold_it_trains_inverted_lists_and_stays_close_to_exact(tmp_path):
    vectors = clustered(4000)
    store = FaissVectorStore(tmp_path, "s", ivf_threshold=2000, nprobe=8)
    fill(store, vectors)
    store.save()
    assert stamp(tmp_path)["kind"] == "ivf"
    assert store._state.base.index.nlist == nlist_for(4000)
    queries = vectors[::97]
    recall = np.mean([
        len(set(exact_top(vectors, q, 10)) & {d for d, _s in store.search(q, k=10)}) / 10
        for q in queries
    ])
    assert recall >= 0.9
    store.close()


def test_growing_keeps_the_trained_lists_until_the_store_has_grown_fourfold(tmp_path):
    vectors = clustered(9000)
    store = FaissVectorStore(tmp_path, "s", ivf_threshold=2000)
    fill(store, vectors[:2000])
    store.save()
    trained = store._state.base.index.quantizer.reconstruct_n(0, store._state.base.index.nlist)
    fill(store, vectors[2000:5000], first=2000)
    store.save()
    base = store._state.base
    assert base.trained_rows == 2000 and base.rows == 5000
    assert np.array_equal(base.index.quantizer.reconstruct_n(0, base.index.nlist), trained)
    fill(store, vectors[5000:], first=5000)
    store.save()
    assert store._state.base.trained_rows == 9000  # trained again, with more lists
    assert store._state.base.index.nlist == nlist_for(9000)
    query = vectors[6000]
    assert store.search(query, k=1)[0][0] == "d:6000"
    store.close()


def test_a_filter_reaches_passages_outside_the_probed_lists(tmp_path):
    vectors = clustered(3000)
    store = FaissVectorStore(tmp_path, "s", ivf_threshold=1000, nprobe=1)
    fill(store, vectors)
    store.save()
    query = vectors[0]
    farthest = [f"d:{i}" for i in np.argsort(vectors @ query)[:3]]
    found = store.search(query, k=5, allowed=set(farthest) | {"missing"})
    assert sorted(d for d, _s in found) == sorted(farthest)
    store.close()


@pytest.mark.parametrize("ivf_threshold", [1, 20_000], ids=["ivf", "flat"])
def test_changes_after_a_generation_are_searched_with_it(tmp_path, ivf_threshold):
    vectors = clustered(300)
    store = FaissVectorStore(tmp_path, "s", ivf_threshold=ivf_threshold)
    fill(store, vectors[:200])
    store.save()
    fill(store, vectors[200:], first=200)  # beside the index, until the next generation
    store.remove(["d:0"])
    store.add([VectorEntry("d:1", "new", vectors[299:300])])  # replaced: old passage gone
    results = dict(store.search(vectors[299], k=3))
    assert results["d:299"] == pytest.approx(1.0) and results["d:1"] == pytest.approx(1.0)
    assert "d:0" not in dict(store.search(vectors[0], k=300))
    assert store.text_hash("d:1") == "new" and store.text_hash("d:0") is None
    expected = dict(store.search(vectors[5], k=20))
    store.save()  # folded into one index: the same answers
    assert dict(store.search(vectors[5], k=20)) == pytest.approx(expected)
    assert len(store.doc_ids()) == 299
    store.close()


def test_a_reader_sees_the_writers_changes_and_new_generations(tmp_path):
    vectors = clustered(50)
    writer = FaissVectorStore(tmp_path, "s")
    fill(writer, vectors[:20])
    writer.save()
    reader = FaissVectorStore(tmp_path, "s")
    assert reader.doc_ids() == writer.doc_ids()
    fill(writer, vectors[20:30], first=20)  # logged, not yet a generation
    reader.refresh()
    assert reader.search(vectors[25], k=1)[0][0] == "d:25"
    generation = stamp(tmp_path)["generation"]
    writer.remove(["d:25"])
    writer.save()
    assert stamp(tmp_path)["generation"] == generation + 1
    before = reader.search(vectors[3], k=1)  # still the old generation, mapped, files gone
    assert before[0][0] == "d:3"
    reader.refresh()
    assert "d:25" not in reader.doc_ids() and len(reader.doc_ids()) == 29
    assert sorted(p.name for p in tmp_path.glob("faiss-*")) == [
        f"faiss-{generation + 1}.{suffix}" for suffix in ("index", "log", "npz")
    ]
    reader.close()
    writer.close()


def test_save_without_changes_writes_no_generation(tmp_path):
    store = FaissVectorStore(tmp_path, "s")
    fill(store, clustered(10))
    store.save()
    generation = stamp(tmp_path)["generation"]
    store.save()
    FaissVectorStore(tmp_path, "s").save()
    assert stamp(tmp_path)["generation"] == generation
    store.close()


def test_many_additions_fold_into_a_generation_on_their_own(tmp_path):
    store = FaissVectorStore(tmp_path, "s")
    fill(store, clustered(3000))
    assert stamp(tmp_path)["rows"] >= 2048  # without any save()
    reopened = FaissVectorStore(tmp_path, "s")
    assert len(reopened.doc_ids()) == 3000
    reopened.close()
    store.close()


def test_a_record_cut_short_by_a_crash_is_ignored(tmp_path):
    vectors = clustered(5)
    store = FaissVectorStore(tmp_path, "s")
    fill(store, vectors[:4])
    store.close()
    log = next(tmp_path.glob("faiss-*.log"))
    log.write_bytes(log.read_bytes()[:-7])
    reopened = FaissVectorStore(tmp_path, "s")
    assert reopened.doc_ids() == {"d:0", "d:1", "d:2"}
    fill(reopened, vectors[3:], first=3)
    reopened.close()
    assert FaissVectorStore(tmp_path, "s").doc_ids() == {f"d:{i}" for i in range(5)}


def test_vectors_of_another_size_are_refused(tmp_path):
    store = FaissVectorStore(tmp_path, "s")
    fill(store, clustered(3, dim=16))
    store.save()
    with pytest.raises(ValueError, match="size 8"):
        store.add([VectorEntry("x", "h", clustered(1, dim=8))])
    store.close()


def test_typical_similarity_counts_the_index_and_the_changes_beside_it(tmp_path):
    store = FaissVectorStore(tmp_path, "s")
    store.add([VectorEntry("a", "h", np.array([[1, 0]], np.float32)),
               VectorEntry("b", "h", np.array([[0, 1]], np.float32))])
    store.save()
    store.add([VectorEntry("c", "h", np.array([[1, 0], [1, 0]], np.float32))])
    assert store.typical_similarity(np.array([1, 0], np.float32)) == pytest.approx(1.0)
    store.remove(["c"])
    assert store.typical_similarity(np.array([1, 0], np.float32)) == pytest.approx(0.5)
    store.close()


def test_a_forum_moving_from_numpy_keeps_its_vectors(tmp_path):
    from search.backends import LocalIndex
    from search.vectors import NumpyVectorStore

    vectors = clustered(5)
    old = NumpyVectorStore(tmp_path / "vectors", "e5")
    old.add([VectorEntry("q:1", "h1", vectors[:2]), VectorEntry("a:2", "h2", vectors[2:3])])
    old.close()
    other = LocalIndex(tmp_path, vector_store="faiss").open_vectors("another-encoder")
    assert other.doc_ids() == set()  # another encoder's vectors are not taken
    other.close()
    shutil.rmtree(tmp_path / "faiss")
    store = LocalIndex(tmp_path, vector_store="faiss").open_vectors("e5")
    assert store.doc_ids() == {"q:1", "a:2"} and store.text_hash("q:1") == "h1"
    assert dict(store.search(vectors[1], k=2))["q:1"] == pytest.approx(1.0)
    assert NumpyVectorStore(tmp_path / "vectors", "e5").doc_ids() == {"q:1", "a:2"}  # untouched
