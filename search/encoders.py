"""Text encoders, each loaded once from a folder: an ONNX export run by onnxruntime (no torch),
a sentence-transformers model (torch), and a small fake for tests. Which folder, and which
encoder, is the caller's choice (the forum's is in forum.model_setup)."""

import json
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


class QueryCache:
    """The vectors of recent queries, least recently used dropped first: a draft is searched
    for and then compared with answers, and a results page is asked for again when paging."""

    def __init__(self):
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, prompted: list[str], encode) -> np.ndarray:
        """Vectors of `prompted`, calling encode(texts) only for those not kept."""
        if not prompted:
            return encode(prompted)
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in prompted:
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
        missing = [text for text in dict.fromkeys(prompted) if text not in found]
        if missing:
            for text, vector in zip(missing, encode(missing), strict=True):
                vector.setflags(write=False)  # shared by every caller asking the same
                found[text] = vector
            with self._lock:
                for text in missing:
                    self._vectors[text] = found[text]
                while len(self._vectors) > QUERY_CACHE_SIZE:
                    self._vectors.popitem(last=False)
        return np.stack([found[text] for text in prompted])


class SentenceTransformerEncoder:
    """Any sentence-transformers model (a local path, or a name already in the local cache).

    The model is loaded on first use, once, whichever thread asks first. Nothing is fetched
    from a hub: HF_HUB_OFFLINE=1 is set before loading. torch_threads sets torch's thread
    count for the whole process, on purpose: on a small machine one thread per request
    encodes a short query faster than two competing ones. Recent query vectors are kept.
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
        self._query_cache = QueryCache()

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
        return self._query_cache.encode([self.query_prompt + text for text in texts], self._encode)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.passage_prompt + text for text in texts])


ONNX_SETTINGS_FILE = "encoder.json"


class OnnxEncoder:
    """A transformer exported to ONNX, run by onnxruntime, with mean pooling and L2 norm.

    `folder` holds model.onnx, the fast tokenizer's tokenizer.json and encoder.json (label,
    prompts, max_seq_length, dim, variant), as forum.model_setup writes them. Only onnxruntime,
    tokenizers and numpy are imported, never torch: a web process that only encodes queries
    loads in well under a second and stays small. Loaded on first use, once; threads is
    onnxruntime's intra-op thread count for this session (one per request, as with torch).
    Texts of a batch are sorted by length so that little padding is computed.
    """

    def __init__(self, folder: str | Path, *, threads: int | None = 1, batch_size: int = 16):
        self.folder = Path(folder)
        settings = json.loads((self.folder / ONNX_SETTINGS_FILE).read_text(encoding="utf-8"))
        self.label = settings["label"]
        self.query_prompt = settings.get("query_prompt") or ""
        self.passage_prompt = settings.get("passage_prompt") or ""
        self.max_seq_length = int(settings["max_seq_length"])
        self.dim = int(settings["dim"])
        variant = settings.get("variant")
        self.threads = threads
        self.batch_size = batch_size
        label = f"{self.label}-{variant}" if variant else self.label
        self.name = f"onnx:{label}|q={self.query_prompt}|p={self.passage_prompt}"
        self._session = None
        self._tokenizer = None
        self._pad_id = 0
        self._load_lock = threading.Lock()
        self._query_cache = QueryCache()

    def load(self) -> None:
        """Load the tokenizer and the model now. A server loads them once, before it forks its
        workers, so that every worker shares these pages (copy-on-write; nothing writes
        them) instead of holding its own copy: the tokenizer alone is about 290 MB."""
        self._loaded()

    def _loaded(self):
        if self._session is None:
            with self._load_lock:
                if self._session is None:
                    import onnxruntime
                    from tokenizers import Tokenizer

                    tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                    tokenizer.no_padding()
                    tokenizer.enable_truncation(self.max_seq_length)
                    self._pad_id = tokenizer.token_to_id("<pad>") or 0
                    options = onnxruntime.SessionOptions()
                    if self.threads:
                        options.intra_op_num_threads = self.threads
                    options.inter_op_num_threads = 1
                    options.log_severity_level = 3  # errors only
                    self._tokenizer = tokenizer
                    self._session = onnxruntime.InferenceSession(
                        str(self.folder / "model.onnx"), options,
                        providers=["CPUExecutionProvider"],
                    )
        return self._session, self._tokenizer

    def _encode(self, texts: list[str]) -> np.ndarray:
        session, tokenizer = self._loaded()
        vectors = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return vectors
        encoded = [tokenizer.encode(texts[0]).ids] if len(texts) == 1 else [
            encoding.ids for encoding in tokenizer.encode_batch(texts)
        ]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            length = max(len(encoded[i]) for i in batch)
            ids = np.full((len(batch), length), self._pad_id, np.int64)
            mask = np.zeros((len(batch), length), np.int64)
            for row, i in enumerate(batch):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = 1
            (hidden,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
            weights = mask.astype(np.float32)
            pooled = np.einsum("bld,bl->bd", hidden, weights) / weights.sum(axis=1)[:, None]
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            vectors[batch] = pooled / np.maximum(norms, 1e-12)
        return vectors

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._query_cache.encode([self.query_prompt + text for text in texts], self._encode)

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
