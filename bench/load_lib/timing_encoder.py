"""An encoder for benchmarks on the large synthetic forum, whose stored vectors come from the
fake encoder (encoding 400k posts with the real model takes hours here): each query is also
encoded by the real int8 ONNX model, so a request pays what it pays in production, while the
vectors compared stay the fake encoder's, in the index's own vector space."""

from pathlib import Path

from forum import model_setup
from search.encoders import FakeEncoder


class RealQueryCostEncoder:
    def __init__(self, models_dir: Path, threads: int = 1):
        self.fake = FakeEncoder()
        self.real = model_setup.make_encoder("onnx", "auto", Path(models_dir), threads=threads)
        self.name = self.fake.name  # the index holds the fake encoder's vectors
        self.dim = self.fake.dim

    def load(self):
        """Loaded in gunicorn's master like the forum's encoder (indexing.preload_encoder)."""
        self.real.load()

    def encode_queries(self, texts):
        self.real.encode_queries(texts)  # the cost of the real model, result unused
        return self.fake.encode_queries(texts)

    def encode_passages(self, texts):
        return self.fake.encode_passages(texts)


def install(models_dir: Path) -> None:
    """Make the forum's search use this encoder (call before the app's engine is made)."""
    from forum import indexing

    indexing.make_encoder = lambda config: RealQueryCostEncoder(models_dir)
