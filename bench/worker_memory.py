"""Memory of gunicorn's web workers on a forum instance, as `make serve` runs them: RSS, and the
unique memory that RSS hides, USS (pages only this worker holds) and PSS (its fair share of the
pages it shares with the master and the other workers), from /proc/PID/smaps_rollup.

    nice -n 10 .venv/bin/python bench/worker_memory.py                  # instance/, 2 workers
    nice -n 10 .venv/bin/python bench/worker_memory.py --instance bench/out/large/instance

Each worker is warmed (post_worker_init) and then asked a few pages and searches, so the
figures include what serving loads, not only what start-up does.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["/", "/search?q=%C4%91%C4%83ng+k%C3%BD+chatgpt", "/search?q=dang+ky+vneid&mode=keyword",
         "/tags", "/search?q=c%C3%A1ch+vi%E1%BA%BFt+prompt+hay&mode=hybrid"]


def memory_kb(pid: int) -> dict[str, int]:
    """Rss, Pss and Uss (Private_Clean + Private_Dirty) in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0])
    return {"rss": fields["Rss"], "pss": fields["Pss"],
            "uss": fields["Private_Clean"] + fields["Private_Dirty"]}


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instance", type=Path, default=ROOT / "instance")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8431)
    parser.add_argument("--requests", type=int, default=40, help="requests after start-up")
    args = parser.parse_args(argv)
    env = dict(os.environ, FORUM_INSTANCE_PATH=str(args.instance.resolve()),
               BIND=f"127.0.0.1:{args.port}", WEB_WORKERS=str(args.workers), ACCESS_LOG="/dev/null",
               RATELIMIT_ENABLED="0", HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "forum.wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn exited: {server.stderr.read()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=5)
                if len(children(server.pid)) == args.workers:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not answer in 300 s") from None
            time.sleep(0.5)
        for number in range(args.requests):
            url = f"http://127.0.0.1:{args.port}{PAGES[number % len(PAGES)]}"
            with urllib.request.urlopen(url, timeout=60) as response:
                response.read()
        time.sleep(1)
        master = memory_kb(server.pid)
        print(f"master   RSS {master['rss'] / 1024:6.0f} MB  PSS {master['pss'] / 1024:6.0f} MB"
              f"  USS {master['uss'] / 1024:6.0f} MB")
        for pid in children(server.pid):
            worker = memory_kb(pid)
            print(f"worker   RSS {worker['rss'] / 1024:6.0f} MB  PSS {worker['pss'] / 1024:6.0f} MB"
                  f"  USS {worker['uss'] / 1024:6.0f} MB   (pid {pid})")
        print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
