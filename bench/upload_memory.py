"""Worker memory under hostile and large image uploads, measured on a real gunicorn server.

Starts the forum as production does (gunicorn.conf.py, one worker, four threads, the real model
preloaded) on a fresh instance, logs in, and posts images to the ask page's check step (which
decodes and stores them). Prints the worker's resident memory (VmRSS) and its peak since start
(VmHWM) after: a plain page; decompression bombs whose header claims 6000x6000 (refused by the
pixel budget before any decode); bombs just inside the budget (decoded, then found truncated);
real large photos and screenshots. Worker recycling is off, so nothing is hidden by a restart.

    nice -n 10 .venv/bin/python bench/upload_memory.py [--rounds 6]
"""

import argparse
import http.cookiejar
import io
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from PIL import Image, ImageFilter
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart
from worker_memory import memory_kb  # bench/ is this script's folder

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PASSWORD = "matkhau-bench-2026"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def png_bomb(width, height):
    """A PNG of a few hundred bytes whose header claims width x height RGB pixels (its data
    stops after a few rows, as in the issue's probe)."""

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = zlib.compress(b"\x00" * (1 + 3 * width) * 4, 9)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def photo(width=4032, height=3024):
    """A phone photo's size and texture: smooth colour with sensor-like noise, as a JPEG."""
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 40).filter(ImageFilter.GaussianBlur(1))
    image = Image.merge("RGB", (base.getchannel(0), noise, base.getchannel(0).rotate(180)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def screenshot(width=3840, height=2160):
    """A 4K desktop screenshot: flat areas and text-like stripes, as a PNG."""
    image = Image.new("RGB", (width, height), (245, 245, 240))
    stripes = Image.effect_noise((width, height // 3), 90).point(lambda v: 255 if v > 128 else 30)
    image.paste(stripes.convert("RGB"), (0, height // 3))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class Browser:
    """Cookies, the page's CSRF token and multipart posts, with the standard library."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path):
        with self.opener.open(self.base + path) as response:
            return response.read().decode()

    def post(self, path, fields, files=()):
        token = CSRF.search(self.get(path)).group(1)
        values = {**fields, "csrf_token": token}
        data = list(values.items())
        data += [("images", FileStorage(io.BytesIO(content), name)) for name, content in files]
        boundary, body = encode_multipart(MultiDict(data))
        request = urllib.request.Request(
            self.base + path,
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        try:
            with self.opener.open(request) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def memory(pid):
    """(VmRSS, VmHWM, unique) of a process in MB: unique memory (USS) is what the worker holds
    alone, beside the pages it shares with the master (the model, loaded before the fork)."""
    status = Path(f"/proc/{pid}/status").read_text()
    values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    unique = memory_kb(pid)["uss"]
    return int(values["VmRSS"]) / 1024, int(values["VmHWM"]) / 1024, unique / 1024


def worker_of(master):
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            return int(stat.parent.name)
    raise RuntimeError("no gunicorn worker found")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="requests per kind of upload")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="upload-memory-"))
    (instance / "models").symlink_to(ROOT / "instance" / "models")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FORUM_INSTANCE_PATH": str(instance),
        "RATELIMIT_ENABLED": "0",
        "FORUM_COOKIE_SECURE": "0",
        "MAX_REQUESTS": "0",  # no recycling: what a worker keeps is measured, not hidden
        "WEB_WORKERS": "1",
        "BIND": f"127.0.0.1:{port}",
        "ACCESS_LOG": "/dev/null",
    }
    flask = [PYTHON, "-m", "flask", "--app", "forum"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*flask, "users", "create", "bench_user", "--password", PASSWORD],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "forum.wsgi:app"],
        env=env, cwd=ROOT, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        for _ in range(300):
            try:
                browser.get("/healthz")
                break
            except OSError:
                time.sleep(0.5)
        worker = worker_of(server.pid)
        browser.post("/login", {"username": "bench_user", "password": PASSWORD})
        ask = {"title": "Ảnh chụp màn hình lỗi khi cài ứng dụng", "tags": "chatgpt",
               "body": "Em cài ứng dụng thì báo lỗi như ảnh, làm sao sửa ạ?"}  # fmt: skip
        browser.post("/ask", ask)  # the first check trains or loads the classifier: warm-up
        rows = [("after login and one ask check", "", *memory(worker))]

        def run(label, files, per_request):
            statuses, started = [], time.perf_counter()
            for _ in range(args.rounds):
                statuses.append(browser.post("/ask", ask, files[:per_request]))
            seconds = time.perf_counter() - started
            sizes = sorted({len(content) for _name, content in files})
            described = f"{args.rounds} x {per_request} ({sizes[0]:,} B), {seconds:.1f} s"
            rows.append((label, f"{described}, HTTP {sorted(set(statuses))}", *memory(worker)))

        run("bombs claiming 6000x6000", [("bomb.png", png_bomb(6000, 6000))] * 6, 6)
        run("bombs claiming 4000x4000", [("bomb.png", png_bomb(4000, 4000))] * 6, 6)
        run("photos 4032x3024 JPEG", [("photo.jpg", photo())] * 3, 3)
        run("screenshots 3840x2160 PNG", [("screen.png", screenshot())] * 3, 3)
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"{'uploads':<30} {'requests':<48} {'RSS MB':>7} {'peak MB':>8} {'unique MB':>9}")
    for label, described, rss, peak, unique in rows:
        print(f"{label:<30} {described:<48} {rss:>7.0f} {peak:>8.0f} {unique:>9.0f}")


if __name__ == "__main__":
    main()
