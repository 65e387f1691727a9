"""A tiny ONNX encoder folder for tests: a word-level tokenizer and a graph whose token vectors
are rows of a random embedding table, so the expected sentence vectors can be computed by hand.

    folder = write_tiny_onnx_folder(tmp_path / "tiny")
    OnnxEncoder(folder).encode_queries(["chè ngon"])
"""

import json
from pathlib import Path

import numpy as np

SPECIALS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
WORDS = ["query:", "passage:", "chè", "ngon", "giá", "bao", "nhiêu", "zalo", "mật", "khẩu"]
VOCAB = {**SPECIALS, **{word: len(SPECIALS) + i for i, word in enumerate(WORDS)}}
DIM = 8


def embedding_table(seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(len(VOCAB), DIM)).astype(np.float32)


def expected_vector(text: str, max_seq_length: int = 16) -> np.ndarray:
    """What mean pooling and L2 norm over the tiny graph's token vectors give for `text`."""
    ids = [VOCAB.get(word, VOCAB["<unk>"]) for word in text.split()][: max_seq_length - 2]
    rows = embedding_table()[[VOCAB["<s>"], *ids, VOCAB["</s>"]]]
    mean = rows.mean(axis=0)
    return mean / np.linalg.norm(mean)


def write_tiny_onnx_folder(folder: Path, *, max_seq_length: int = 16, marker=None) -> Path:
    """model.onnx, tokenizer.json and encoder.json (and prepared.json if `marker` is given)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    folder = Path(folder)
    folder.mkdir(parents=True)
    tokenizer = Tokenizer(models.WordLevel(VOCAB, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tokenizer.save(str(folder / "tokenizer.json"))

    # Token vectors ignore the mask on purpose: padding must be left out by the pooling.
    gather = helper.make_node("Gather", ["embedding", "input_ids"], ["last_hidden_state"], axis=0)
    graph = helper.make_graph(
        [gather],
        "tiny-encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info(
                "attention_mask", TensorProto.INT64, ["batch", "sequence"]
            ),
        ],
        [helper.make_tensor_value_info(
            "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", DIM]
        )],
        initializer=[numpy_helper.from_array(embedding_table(), "embedding")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    (folder / "encoder.json").write_text(json.dumps({
        "label": "tiny", "variant": "int8", "query_prompt": "query: ",
        "passage_prompt": "passage: ", "max_seq_length": max_seq_length, "dim": DIM,
    }))
    if marker is not None:
        files = {path.name: path.stat().st_size for path in sorted(folder.iterdir())}
        (folder / "prepared.json").write_text(json.dumps({**marker, "files": files}))
    return folder
