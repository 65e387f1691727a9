"""Fine-tuning the search encoder on the forum's own pairs (torch): `flask search learn` only.

Web processes never import this module (they encode with onnxruntime). One epoch of contrastive
learning with in-batch negatives (sentence-transformers' MultipleNegativesRankingLoss): each
question's own answer against the other answers of its batch, with e5's "query: " and
"passage: " prefixes. The word embeddings (250k x 384, three quarters of the model) are frozen:
the forum's few thousand pairs cannot teach them much, and leaving them out of the optimizer
keeps peak memory small. Texts are cut at 128 tokens while training (the saved model reads up
to 512, as the base one). The result is saved as a sentence-transformers folder, exported to
int8 ONNX and checked against torch exactly as `models prepare` checks the base model.
"""

import gc
import json
import logging
import multiprocessing
import os
import random
import resource
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from forum import model_setup
from forum.learning import Candidate
from search.encoders import OnnxEncoder

log = logging.getLogger(__name__)

TRAIN_MAX_TOKENS = 128


def peak_memory_mb() -> float:
    """This process's peak resident memory so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_encoder(pairs, dest: Path, *, base: Path, epochs: int = 1, batch_size: int = 32,
                  learning_rate: float = 3e-5, frozen_layers: int = 0,
                  gradient_checkpointing: bool = False, seed: int = 0, threads: int | None = None,
                  on_start=None, on_step=None) -> dict:
    """Fine-tune the sentence-transformers model at `base` on `pairs` and save it to `dest`;
    returns the figures. `on_start(steps)` is called once, `on_step(loss)` after each step."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import get_linear_schedule_with_warmup

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    started = time.perf_counter()
    model = SentenceTransformer(str(base), device="cpu")
    base_max_length = model.max_seq_length
    model.max_seq_length = TRAIN_MAX_TOKENS
    transformer = model[0].auto_model
    transformer.embeddings.word_embeddings.weight.requires_grad_(False)
    for layer in transformer.encoder.layer[:frozen_layers]:
        layer.requires_grad_(False)
    if gradient_checkpointing:
        transformer.gradient_checkpointing_enable()
    loss_fn = MultipleNegativesRankingLoss(model)
    trainable = [p for p in model.parameters() if p.requires_grad]

    batches = _batches(pairs, batch_size, epochs, seed)
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, len(batches) // 10), len(batches))
    model.train()
    if on_start is not None:
        on_start(len(batches))
    losses = []
    for batch in batches:
        queries = model.preprocess([model_setup.QUERY_PROMPT + p.query for p in batch])
        answers = model.preprocess([model_setup.PASSAGE_PROMPT + p.answer for p in batch])
        loss = loss_fn([queries, answers], None)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        if on_step is not None:
            on_step(losses[-1])
    model.eval()
    train_seconds = time.perf_counter() - started

    model.max_seq_length = base_max_length
    model.prompts = {"query": model_setup.QUERY_PROMPT, "passage": model_setup.PASSAGE_PROMPT}
    dest.mkdir(parents=True, exist_ok=True)
    model.save(str(dest))
    # The export and the ONNX encoder read the classic layout that `models prepare` writes:
    # the base model's tokenizer file (training does not change it) and max_seq_length.
    shutil.copyfile(Path(base) / "tokenizer.json", dest / "tokenizer.json")
    settings_file = dest / "sentence_bert_config.json"
    settings = json.loads(settings_file.read_text(encoding="utf-8"))
    settings["max_seq_length"] = base_max_length
    settings_file.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    first, last = losses[: max(1, len(losses) // 10)], losses[-max(1, len(losses) // 10):]
    figures = {
        "pairs": len(pairs), "steps": len(batches), "batch_size": batch_size, "epochs": epochs,
        "trainable_parameters": sum(p.numel() for p in trainable),
        "frozen_layers": frozen_layers, "gradient_checkpointing": gradient_checkpointing,
        "train_seconds": round(train_seconds, 1),
        "loss_first_tenth": round(float(np.mean(first)), 4) if losses else None,
        "loss_last_tenth": round(float(np.mean(last)), 4) if losses else None,
        "train_peak_mb": round(peak_memory_mb()),
    }
    del model, loss_fn, optimizer, trainable
    gc.collect()
    return figures


def _batches(pairs, batch_size, epochs, seed):
    """Shuffled batches in which no answer appears twice: a copy of a question's own answer
    elsewhere in its batch would be counted as a wrong one."""
    rng = random.Random(seed)
    batches = []
    for _ in range(epochs):
        order = list(pairs)
        rng.shuffle(order)
        current, answers = [], set()
        for pair in order:
            if pair.answer in answers:
                continue  # this epoch's batch would hold the answer twice; rarely happens
            current.append(pair)
            answers.add(pair.answer)
            if len(current) == batch_size:
                batches.append(current)
                current, answers = [], set()
        if len(current) > 1:
            batches.append(current)
    return batches


def export_onnx(torch_folder: Path, dest: Path, label: str) -> float:
    """The int8 ONNX export of the trained model, checked against torch; returns the lowest
    cosine (ModelPrepError below model_setup.ONNX_MIN_COSINE, and nothing left behind)."""
    build = dest.with_name(f".{dest.name}.build")
    try:
        model_setup.write_onnx_folder(torch_folder, build, label=label)
        cosine = model_setup.verify_onnx_against_torch(build, torch_folder)
        (build / model_setup.MARKER_FILE).write_text(json.dumps({
            "model": label, "variant": "int8", "source": str(torch_folder),
            "min_cosine": cosine, "files": model_setup._file_sizes(build),
        }))
        build.rename(dest)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return cosine


def make_trainer(config, *, on_start=None, on_step=None, **options):
    """The trainer `forum.learning.learn` calls: fine-tune the base e5 folder, export it, and
    return the candidate's ONNX encoder (the one every node will load for this version)."""
    base = Path(config["MODELS_PATH"]) / model_setup.E5_FOLDER_NAME

    def trainer(pairs, folder: Path, label: str) -> Candidate:
        problem = model_setup.folder_problem(base)
        if problem is not None:
            raise model_setup.ModelPrepError(
                f"no base model to learn from: {problem} (run: flask --app forum models prepare)")
        figures = train_encoder(pairs, folder / "torch", base=base, on_start=on_start,
                                on_step=on_step, **options)
        started = time.perf_counter()
        # In a fresh process: the memory training used is not given back to the system, and
        # the export loads the model twice more (trace, then the check against torch).
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            cosine = pool.submit(export_onnx, folder / "torch", folder / "onnx", label).result()
        figures["onnx_min_cosine"] = round(cosine, 4)
        figures["export_seconds"] = round(time.perf_counter() - started, 1)
        figures["export_peak_mb"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        return Candidate(OnnxEncoder(folder / "onnx", threads=config["SEARCH_ENCODER_THREADS"]),
                         figures)

    return trainer
