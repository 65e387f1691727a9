"""Text encoders: a sentence-transformers model, loaded once, and a small fake for tests."""

import os
import threading
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np

from search.vietnamese import fold, normalize


class Encoder(Protocol):
    name: str  # identifies the vector space: vectors from encoders of different names never mix

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, rows L2-normalized."""
        ...

    def encode_passages(self, texts: list[str]) -> np.ndarray: ...


QUERY_CACHE_SIZE = 512  # recent query vectors kept, by prompted text


class SentenceTransformerEncoder:
    """Any sentence-transformers model (a local path, or a name already in the local cache).

    The model is loaded on first use, once, whichever thread asks first. Nothing is fetched
    from a hub: HF_HUB_OFFLINE=1 is set before loading. torch_threads sets torch's thread
    count for the whole process, on purpose: on a small machine one thread per request
    encodes a short query faster than two competing ones. The vectors of recent queries are
    kept (least recently used go first), since a draft is searched for and then compared
    with answers, and a results page is asked for again when paging.
    """

    def __init__(
        self,
        model: str | Path,
        *,
        query_prompt: str = "",
        passage_prompt: str = "",
        torch_threads: int | None = 1,
        batch_size: int = 32,
        label: str | None = None,
    ):
        self.model_path = str(model)
        self.query_prompt = query_prompt
        self.passage_prompt = passage_prompt
        self.torch_threads = torch_threads
        self.batch_size = batch_size
        self.label = label or self.model_path
        self.name = f"st:{self.label}|q={query_prompt}|p={passage_prompt}"
        self._model = None
        self._load_lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def from_setting(
        cls, setting: str, models_dir: Path, *, torch_threads: int | None = 1
    ) -> "SentenceTransformerEncoder":
        """The model the setting names ("auto", a path or a name), chosen by search.model_prep."""
        from search.model_prep import resolve_model  # written separately; heavy imports inside

        choice = resolve_model(setting, models_dir)
        return cls(
            choice.name_or_path,
            query_prompt=choice.query_prompt or "",
            passage_prompt=choice.passage_prompt or "",
            torch_threads=torch_threads,
            label=choice.label,
        )

    def _loaded(self):
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    import torch
                    from sentence_transformers import SentenceTransformer

                    if self.torch_threads:
                        torch.set_num_threads(self.torch_threads)
                    self._model = SentenceTransformer(self.model_path, device="cpu")
        return self._model

    def _encode(self, prompted: list[str]) -> np.ndarray:
        model = self._loaded()
        vectors = model.encode(
            prompted,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        prompted = [self.query_prompt + text for text in texts]
        if not prompted:
            return self._encode(prompted)
        found: dict[str, np.ndarray] = {}
        with self._cache_lock:
            for text in prompted:
                vector = self._query_cache.get(text)
                if vector is not None:
                    self._query_cache.move_to_end(text)
                    found[text] = vector
        missing = [text for text in dict.fromkeys(prompted) if text not in found]
        if missing:
            for text, vector in zip(missing, self._encode(missing), strict=True):
                vector.setflags(write=False)  # shared by every caller asking the same
                found[text] = vector
            with self._cache_lock:
                for text in missing:
                    self._query_cache[text] = found[text]
                while len(self._query_cache) > QUERY_CACHE_SIZE:
                    self._query_cache.popitem(last=False)
        return np.stack([found[text] for text in prompted])

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prompt + text for text in texts])


class FakeEncoder:
    """Deterministic stand-in for tests: hashed character n-grams and words of folded text.

    Texts that share words or word pieces get close vectors, which is enough to exercise
    every code path of semantic and hybrid search without a neural model. It counts the
    passages it encodes, so tests can check that unchanged text is not re-embedded.
    """

    def __init__(self, dim: int = 256, name: str = "fake-ngrams"):
        self.dim = dim
        self.name = f"{name}-{dim}"
        self.passages_encoded = 0
        self.queries_encoded = 0
        self._lock = threading.Lock()

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, np.float32)
        words = fold(normalize(text)).split()
        features = list(words)
        for word in words:
            padded = f"#{word}#"
            features.extend(padded[i : i + 3] for i in range(len(padded) - 2))
        for feature in features:
            code = zlib.crc32(feature.encode())
            sign = 1.0 if code & 1 else -1.0
            vector[(code >> 1) % self.dim] += sign
        norm = np.linalg.norm(vector)
        return vector / norm if norm else vector

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._vector(text) for text in texts])

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self.queries_encoded += len(texts)
        return self._encode(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self.passages_encoded += len(texts)
        return self._encode(texts)
