"""The trainer of `flask search learn` on the real multilingual-e5-small, on a handful of pairs:
word embeddings stay as they were, the rest learns, and the int8 export agrees with torch."""

from pathlib import Path

import numpy as np
import pytest

from forum import learn_trainer, model_setup
from forum.learning import TrainingPair
from search.encoders import OnnxEncoder

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent

PAIRS = [
    TrainingPair(1, "Quên mật khẩu Zalo thì làm sao?", "Vào màn hình đăng nhập, chọn Lấy lại "
                 "mật khẩu và nhập mã gửi về số điện thoại.", 1, "accepted"),
    TrainingPair(2, "Canva có miễn phí không?", "Canva có bản miễn phí, đủ để làm thiệp mời.",
                 2, "accepted"),
    TrainingPair(3, "Gemini trả lời tiếng Anh, làm sao cho nó nói tiếng Việt?", "Bạn dặn nó "
                 "ở đầu câu hỏi: hãy trả lời bằng tiếng Việt có dấu.", 3, "best voted"),
    TrainingPair(4, "Tiêm vắc xin xong bị sốt có sao không?", "Sốt nhẹ một hai ngày là bình "
                 "thường; sốt cao thì đi khám.", 4, "only answer"),
]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The prepared e5 folder of this checkout when it is there (instance/models), else one
    prepared for this module."""
    prepared = ROOT / "instance" / "models" / model_setup.E5_FOLDER_NAME
    if model_setup.folder_problem(prepared) is None:
        return prepared
    return model_setup.prepare_e5_small(tmp_path_factory.mktemp("models") / prepared.name)


def test_learning_changes_the_layers_but_not_the_word_embeddings(base, tmp_path):
    from safetensors.numpy import load_file

    steps = []
    figures = learn_trainer.train_encoder(PAIRS * 2, tmp_path / "torch", base=base,
                                          batch_size=4, on_step=steps.append)
    before, after = load_file(base / "model.safetensors"), load_file(
        tmp_path / "torch" / "model.safetensors")
    word = "embeddings.word_embeddings.weight"
    assert np.array_equal(before[word], after[word])
    query = "encoder.layer.11.attention.self.query.weight"
    assert not np.array_equal(before[query], after[query])
    assert figures["steps"] == len(steps) == 2 and figures["train_peak_mb"] > 0

    cosine = learn_trainer.export_onnx(tmp_path / "torch", tmp_path / "onnx", "e5-learned-v7")
    assert cosine >= model_setup.ONNX_MIN_COSINE
    assert model_setup.onnx_folder_problem(tmp_path / "onnx") is None  # nodes will load it
    encoder = OnnxEncoder(tmp_path / "onnx")
    assert encoder.name == "onnx:e5-learned-v7-int8|q=query: |p=passage: "
    assert encoder.max_seq_length == 512
