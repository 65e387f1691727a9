"""Load test of the forum under gunicorn, on the large synthetic forum of bench/seed_large.py.

    nice .venv/bin/python bench/seed_large.py --reset                # once: SQLite forum
    nice .venv/bin/python bench/load.py                              # every scenario, ~5 min
    nice .venv/bin/python bench/load.py --instance bench/out/large-pg/instance
    nice .venv/bin/python bench/load.py --scenarios mixed --concurrency 64 --duration 30

Starts `gunicorn -c gunicorn.conf.py` (the production settings) on 127.0.0.1 with the database
and search encoder written in the instance's bench_manifest.json, warms it up, then runs:

  page     one client reading random question pages one after another: server time per page
  mixed    --concurrency members (closed loop, no think time) for --duration seconds:
           70% reading (question pages, home page sorts, tag pages, pages 1-5),
           20% searching (the shipped benchmark queries; hybrid, some keyword),
           8% answering and voting, 2% asking (the assistant's check, then the form)
  rate     the same mix arriving at a fixed --rate (open loop): latency counts from when a
           request was due, so a slow server cannot hide its queue
  writers  --writers members posting answers as fast as they can for --writers-duration s,
           then the database must hold exactly one new answer per successful POST

Every member logs in once through the login form and posts with the form's CSRF token. An
error is any connection failure, any 5xx, and any status the action should not get (a GET
that is not 200, a POST that does not redirect). Server-side times come from gunicorn's access
log (%(D)s). Only loopback is used; everything stops when the script ends.
"""

import argparse
import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_lib.client import Client  # noqa: E402
from load_lib.synthetic_text import TextFactory  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

DEFAULT_INSTANCE = ROOT / "bench" / "out" / "large" / "instance"
LOG_DIR = ROOT / "bench" / "out" / "logs"
MIX = {  # action -> share of actions, in percent
    "question": 40, "home": 15, "tag": 15,
    "search": 15, "search_kw": 5,
    "answer": 4, "vote": 4,
    "ask": 2,
}  # fmt: skip
EXPECTED = {"answer": 302, "vote": 302, "ask": 302, "login": 302}  # everything else: 200
SORTS = ("active", "newest", "votes", "unanswered")
IDLE_WAIT_LIMIT_S = 300  # how long to watch background work after the writers stop
# Access-log paths -> request kind, for server-side times.
PATH_KINDS = [
    (re.compile(r"^/q/\d+/answer$"), "answer"),
    (re.compile(r"^/q/\d+"), "question"),
    (re.compile(r"^/p/\d+/vote$"), "vote"),
    (re.compile(r"^/tags/"), "tag"),
    (re.compile(r"^/search$"), "search"),
    (re.compile(r"^/api/v1/questions/assist$"), "ask_assist"),
    (re.compile(r"^/ask$"), "ask"),
    (re.compile(r"^/login$"), "login"),
    (re.compile(r"^/$"), "home"),
]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", type=Path, default=DEFAULT_INSTANCE)
    parser.add_argument("--scenarios", default="page,mixed,rate,writers")
    parser.add_argument("--port", type=int, default=8411)
    parser.add_argument("--workers", type=int, default=2, help="WEB_WORKERS")
    parser.add_argument("--threads", type=int, default=4, help="WEB_THREADS")
    parser.add_argument("--jobs-mode", choices=("thread", "inline"), default="thread")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=150.0, help="requests/s of the rate scenario")
    parser.add_argument("--pages", type=int, default=300, help="requests of the page scenario")
    parser.add_argument("--writers", type=int, default=30)
    parser.add_argument("--writers-duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds of mixed load first")
    parser.add_argument(
        "--mix",
        type=_mix,
        default=MIX,
        help="actions and their shares, e.g. search=1 or question=70,search=30 "
        f"(default {','.join(f'{k}={v}' for k, v in MIX.items())})",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--query-encoder", choices=("onnx", "index"), default="onnx",
        help="onnx: every query also pays the real int8 model (the index keeps its fake "
        "vectors); index: the encoder the index was built with, alone",
    )
    args = parser.parse_args(argv)
    if args.duration > 900 or args.writers_duration > 900:
        parser.error("runs are bounded to 900 s")
    return args


def _mix(text):
    mix = {}
    for part in text.split(","):
        action, _, share = part.partition("=")
        if action not in MIX:
            raise argparse.ArgumentTypeError(f"unknown action {action!r}; known: {', '.join(MIX)}")
        mix[action] = float(share or 1)
    return mix


# What there is to read and write -----------------------------------------------------------


@dataclass
class World:
    """Ids and names sampled from the database, so every request names something that exists."""

    threads: list  # (id, slug)
    answers: list  # (post id, author id)
    tags: list
    members: list  # (id, username)
    password: str
    queries: list
    drafts: list  # (title, body) of questions to ask
    factory: TextFactory


def load_world(manifest, rng):
    engine = create_engine(manifest["database_url"])
    with engine.connect() as conn:
        threads = conn.execute(text(
            "SELECT t.id, t.slug FROM threads t JOIN posts p ON p.thread_id = t.id "
            "AND p.post_type = 'question' WHERE p.status = 'published' AND p.deleted_at IS NULL "
            "ORDER BY random() LIMIT 20000"
        )).all()  # fmt: skip
        answers = conn.execute(text(
            "SELECT id, author_id FROM posts WHERE post_type = 'answer' "
            "AND status = 'published' AND deleted_at IS NULL ORDER BY random() LIMIT 20000"
        )).all()  # fmt: skip
        tags = conn.execute(text("SELECT slug FROM tags WHERE question_count > 0")).scalars().all()
        members = conn.execute(
            text("SELECT id, username FROM users WHERE role = 'member' ORDER BY id")
        ).all()
    engine.dispose()
    queries, drafts = [], []
    for path in sorted((ROOT / "bench" / "data").glob("search_queries_*.jsonl")):
        queries += [json.loads(line)["query"] for line in path.read_text().splitlines() if line]
    for path in sorted((ROOT / "bench" / "data").glob("suggest_questions_*.jsonl")):
        for line in path.read_text().splitlines():
            if line:
                record = json.loads(line)
                drafts.append((record["title"], record["body"]))
    return World(
        [tuple(r) for r in threads], [tuple(r) for r in answers], list(tags),
        [tuple(r) for r in members], manifest["password"], queries, drafts,
        TextFactory(random.Random(rng.random())),
    )  # fmt: skip


# Measurements -------------------------------------------------------------------------------


@dataclass
class Sample:
    kind: str
    status: int  # 0: no response
    seconds: float
    ok: bool


@dataclass
class Results:
    samples: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # a few examples, to print
    dropped: int = 0  # open loop: actions still waiting when the run ended (server too slow)
    successes: dict = field(default_factory=dict)  # kind -> successful writes

    def add(self, kind, status, seconds, error=None):
        expected = EXPECTED.get(kind, 200)
        ok = error is None and status == expected
        self.samples.append(Sample(kind, status, seconds, ok))
        if ok and kind in ("answer", "ask"):
            self.successes[kind] = self.successes.get(kind, 0) + 1
        if not ok and len(self.errors) < 8:
            self.errors.append(f"{kind}: {error or f'HTTP {status}'}")


def percentile(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def print_table(title, samples, seconds, server_times=None):
    print(f"\n{title}")
    header = f"  {'kind':<11} {'count':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
    header += f" {'max ms':>7} {'errors':>6}"
    if server_times is not None:
        header += f" {'srv p50':>7} {'srv p95':>7}"
    print(header)
    kinds = sorted({s.kind for s in samples}, key=lambda k: (-sum(s.kind == k for s in samples), k))
    for kind in [*kinds, "ALL"]:
        chosen = samples if kind == "ALL" else [s for s in samples if s.kind == kind]
        times = [s.seconds * 1000 for s in chosen]
        line = (
            f"  {kind:<11} {len(chosen):>6} {len(chosen) / seconds:>7.1f} "
            f"{percentile(times, 50):>7.0f} {percentile(times, 95):>7.0f} "
            f"{percentile(times, 99):>7.0f} {max(times, default=0):>7.0f} "
            f"{sum(not s.ok for s in chosen):>6}"
        )
        if server_times is not None:
            server = server_times.get(kind, []) if kind != "ALL" else sum(server_times.values(), [])
            line += f" {percentile(server, 50):>7.1f} {percentile(server, 95):>7.1f}"
        print(line)


# The server --------------------------------------------------------------------------------


class Server:
    """gunicorn with the production config file, its access log timing every request."""

    def __init__(self, args, manifest):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.access_log = LOG_DIR / f"access-{args.port}.log"
        self.error_log = LOG_DIR / f"gunicorn-{args.port}.log"
        self.access_log.write_text("")
        env = dict(os.environ)
        env.update(
            DATABASE_URL=manifest["database_url"],
            FORUM_INSTANCE_PATH=str(args.instance.resolve()),
            BIND=f"127.0.0.1:{args.port}",
            WEB_WORKERS=str(args.workers),
            WEB_THREADS=str(args.threads),
            JOBS_MODE=args.jobs_mode,
            RATELIMIT_ENABLED="0",
            FORUM_COOKIE_SECURE="0",
            ACCESS_LOG=str(self.access_log),
            HF_HUB_OFFLINE="1",
            GUNICORN_CMD_ARGS="--access-logformat '%(s)s %(D)s %(m)s %(U)s?%(q)s'",
        )
        env.pop("REDIS_URL", None)  # jobs in a thread of each worker, limits off: no Redis
        if manifest.get("search_encoder"):
            env["BENCH_SEARCH_ENCODER"] = manifest["search_encoder"]
        env["SEARCH_ENGINE"] = manifest.get("search_engine", "tantivy")
        command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py",
                   "--pythonpath", "bench", "load_lib.wsgi:app"]  # fmt: skip
        if args.query_encoder == "onnx":
            env["BENCH_QUERY_ENCODER"] = "onnx"
        self.log_handle = open(self.error_log, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log_handle, stderr=subprocess.STDOUT
        )
        # The node's index follower, as make serve runs it: the web workers only read.
        follower_env = dict(env, SEARCH_ENCODER=manifest.get("search_encoder") or "auto")
        self.follower = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "flask"), "--app", "forum", "search", "follow",
             "--poll", "0.5"],
            cwd=ROOT, env=follower_env, stdout=self.log_handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.port = args.port

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.error_log}")
            try:
                if (
                    Client("127.0.0.1", self.port, timeout=5).request("GET", "/healthz").status
                    == 200
                ):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"gunicorn did not answer in {timeout} s; see {self.error_log}")

    def log_offsets(self):
        return self.access_log.stat().st_size, self.error_log.stat().st_size

    def server_times(self, since):
        """Milliseconds per kind from the access log, from a byte offset on."""
        times = {}
        with open(self.access_log, "rb") as handle:
            handle.seek(since[0])
            for line in handle.read().decode("utf-8", "replace").splitlines():
                parts = line.split(" ", 3)
                if len(parts) != 4 or not parts[1].isdigit():
                    continue
                _status, micros, _method, target = parts
                path, _, query = target.partition("?")
                kind = next((k for pattern, k in PATH_KINDS if pattern.match(path)), "other")
                if kind == "search" and "mode=keyword" in query:
                    kind = "search_kw"
                times.setdefault(kind, []).append(int(micros) / 1000)
        return times

    def logged_problems(self, since):
        with open(self.error_log, "rb") as handle:
            handle.seek(since[1])
            log = handle.read().decode("utf-8", "replace")
        return log.count("Traceback"), [
            line for line in log.splitlines() if "[ERROR]" in line or " ERROR " in line
        ]

    def cpu_seconds(self):
        """CPU time of the master, its live workers and the follower."""
        pids = [self.process.pid, self.follower.pid] + self.worker_pids()
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError):
                pass
        return total

    def seconds_until_idle(self, below_cores=0.05, quiet_s=3.0):
        """Seconds until the server's CPU stays under `below_cores` for `quiet_s` (jobs done)."""
        started = time.monotonic()
        quiet_since, last_cpu, last_time = None, self.cpu_seconds(), time.monotonic()
        while time.monotonic() - started < IDLE_WAIT_LIMIT_S:
            time.sleep(0.5)
            cpu, now = self.cpu_seconds(), time.monotonic()
            if (cpu - last_cpu) / (now - last_time) < below_cores:
                quiet_since = quiet_since or last_time
                if now - quiet_since >= quiet_s:
                    return quiet_since - started
            else:
                quiet_since = None
            last_cpu, last_time = cpu, now
        return IDLE_WAIT_LIMIT_S

    def worker_pids(self):
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def worker_rss_mb(self):
        sizes = []
        for pid in self.worker_pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        sizes.append(int(line.split()[1]) / 1024)
            except OSError:
                pass
        return sizes

    def stop(self):
        for process in (self.process, self.follower):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.log_handle.close()


def machine_busy():
    """(busy, total) jiffies of the whole machine: other programs' load shows here."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


# Members ------------------------------------------------------------------------------------


class Member:
    """A logged-in member with a browser: reads, searches, answers, votes and asks."""

    def __init__(self, world, user, port, rng):
        self.world, self.user_id, self.username = world, user[0], user[1]
        self.rng = rng
        self.client = Client("127.0.0.1", port)

    def log_in(self, results):
        started = time.perf_counter()
        try:
            ok = self.client.log_in(self.username, self.world.password)
            results.add("login", 302 if ok else 401, time.perf_counter() - started)
        except OSError as error:
            results.add("login", 0, time.perf_counter() - started, repr(error))

    def act(self, action, results, due=None):
        """Do one action; each request's latency counts from `due` when given (open loop)."""
        for kind, method, path, payload in self._requests(action):
            started = due if due is not None else time.perf_counter()
            due = None
            try:
                if method == "JSON":
                    response = self.client.request("POST", path, json_body=payload)
                else:
                    response = self.client.request(method, path, form=payload)
                results.add(kind, response.status, time.perf_counter() - started)
                if response.status >= 400:
                    return
            except OSError as error:
                results.add(kind, 0, time.perf_counter() - started, repr(error))
                return

    def _requests(self, action):
        rng, world = self.rng, self.world
        if action == "question":
            thread_id, slug = rng.choice(world.threads)
            return [("question", "GET", f"/q/{thread_id}/{slug}", None)]
        if action == "home":
            return [("home", "GET", f"/?sort={rng.choice(SORTS)}&page={rng.randint(1, 5)}", None)]
        if action == "tag":
            path = (
                f"/tags/{rng.choice(world.tags)}?sort={rng.choice(SORTS)}&page={rng.randint(1, 5)}"
            )
            return [("tag", "GET", path, None)]
        if action in ("search", "search_kw"):
            mode = "&mode=keyword" if action == "search_kw" else ""
            return [(action, "GET", f"/search?q={quote(rng.choice(world.queries))}{mode}", None)]
        if action == "answer":
            return [self.answer_request()]
        if action == "vote":
            post_id, author = rng.choice(world.answers)
            while author == self.user_id:
                post_id, author = rng.choice(world.answers)
            value = "up" if rng.random() < 0.9 else "down"
            form = {"csrf_token": self.client.csrf_token, "value": value}
            return [("vote", "POST", f"/p/{post_id}/vote", form)]
        if action == "ask":
            return self.ask_requests()
        raise ValueError(action)

    def answer_request(self):
        thread_id, _slug = self.rng.choice(self.world.threads)
        factory = self.world.factory
        body = factory.answer(factory.topic(), factory.style()).md
        form = {"csrf_token": self.client.csrf_token, "body": body}
        return ("answer", "POST", f"/q/{thread_id}/answer", form)

    def ask_requests(self):
        rng, factory = self.rng, self.world.factory
        if rng.random() < 0.5:
            title, body = rng.choice(self.world.drafts)
        else:
            topic, style = factory.topic(), factory.style()
            title, body = factory.title(topic, style), factory.question(topic, style).md
        tags = ", ".join(rng.sample(self.world.tags, rng.randint(1, 3)))
        form = {"csrf_token": self.client.csrf_token, "title": title, "body": body,
                "tags": tags, "confirmed": "1"}  # fmt: skip
        assist = json.dumps({"title": title, "body": body})
        return [("ask_assist", "JSON", "/api/v1/questions/assist", assist),
                ("ask", "POST", "/ask", form)]  # fmt: skip


def make_members(world, count, port, rng, results, offset=0):
    chosen = world.members[offset : offset + count]
    if len(chosen) < count:
        raise SystemExit(f"only {len(world.members)} members for {offset + count} clients")
    members = [Member(world, user, port, random.Random(rng.random())) for user in chosen]
    run_threads([m.log_in for m in members], results)
    return members


def run_threads(functions, results):
    threads = [threading.Thread(target=f, args=(results,)) for f in functions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def choose(rng, mix=MIX):
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def closed_loop(members, duration, mix=MIX, action=None):
    """Every member acts again as soon as its last answer arrives, until time is up."""
    results = Results()
    stop = time.monotonic() + duration

    def loop(member):
        while time.monotonic() < stop:
            member.act(action or choose(member.rng, mix), results)

    threads = [threading.Thread(target=loop, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def open_loop(members, duration, rate, rng, mix=MIX, grace=10.0):
    """Actions arrive at `rate` per second (Poisson); free members take them in turn. Actions
    not started `grace` seconds after the last one was due are dropped, and counted."""
    results = Results()
    due_actions = queue.Queue()
    start = time.perf_counter()
    moment = start
    plan = []
    while moment - start < duration:
        moment += rng.expovariate(rate)
        plan.append((moment, choose(rng, mix)))
    give_up = start + duration + grace

    def feed():
        for when, action in plan:
            delay = when - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            due_actions.put((when, action))
        for _ in members:
            due_actions.put(None)

    def work(member):
        while (item := due_actions.get()) is not None:
            if time.perf_counter() > give_up:
                results.dropped += 1
                continue
            member.act(item[1], results, due=item[0])

    threads = [threading.Thread(target=feed)] + [
        threading.Thread(target=work, args=(m,)) for m in members
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - start


# Scenarios ----------------------------------------------------------------------------------


def count_new_posts(manifest, after_id, author_ids):
    """{(post_type, status): count} of posts after `after_id` by these members."""
    engine = create_engine(manifest["database_url"])
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT post_type, status, count(*) FROM posts WHERE id > :after "
                "AND author_id IN (" + ",".join(str(int(i)) for i in author_ids) + ") "
                "GROUP BY post_type, status"
            ),
            {"after": after_id},
        ).all()
    engine.dispose()
    return {(kind, status): count for kind, status, count in rows}


def max_post_id(manifest):
    engine = create_engine(manifest["database_url"])
    with engine.connect() as conn:
        value = conn.execute(text("SELECT max(id) FROM posts")).scalar()
    engine.dispose()
    return value or 0


class Run:
    """One scenario's bookkeeping: wall time, CPU of server, client and machine, log windows."""

    def __init__(self, server):
        self.server = server
        self.offsets = server.log_offsets()
        self.wall = time.perf_counter()
        self.server_cpu = server.cpu_seconds()
        self.client_cpu = time.process_time()
        self.machine = machine_busy()

    def report(self, title, results, seconds=None):
        seconds = seconds or time.perf_counter() - self.wall
        server_times = self.server.server_times(self.offsets)
        print_table(title, results.samples, seconds, server_times)
        busy, total = machine_busy()
        cores = os.cpu_count() or 1
        machine = (busy - self.machine[0]) / max(1, total - self.machine[1]) * cores
        print(
            f"  CPU: server {(self.server.cpu_seconds() - self.server_cpu) / seconds:.2f} cores, "
            f"load generator {(time.process_time() - self.client_cpu) / seconds:.2f}, "
            f"whole machine {machine:.2f} of {cores}"
        )
        tracebacks, error_lines = self.server.logged_problems(self.offsets)
        if tracebacks or error_lines:
            print(f"  server log: {tracebacks} tracebacks, {len(error_lines)} ERROR lines, e.g.")
            for line in error_lines[:3]:
                print(f"    {line[:160]}")
        if results.dropped:
            print(f"  DROPPED: {results.dropped} actions never started (the server fell behind)")
        for example in results.errors:
            print(f"  error: {example}")
        return server_times


def scenario_page(args, world, server, rng):
    client = Client("127.0.0.1", args.port)
    results = Results()
    run = Run(server)
    for _ in range(args.pages):
        thread_id, slug = rng.choice(world.threads)
        started = time.perf_counter()
        try:
            response = client.request("GET", f"/q/{thread_id}/{slug}")
            results.add("question", response.status, time.perf_counter() - started)
        except OSError as error:
            results.add("question", 0, time.perf_counter() - started, repr(error))
    times = run.report(
        f"page: {args.pages} question pages, one anonymous reader, one after another", results
    )
    return {"question page p50 ms (server)": percentile(times.get("question", []), 50)}


def scenario_mixed(args, world, server, members, manifest):
    before = max_post_id(manifest)
    run = Run(server)
    results = closed_loop(members, args.duration, args.mix)
    run.report(f"mixed: {len(members)} members, closed loop, {args.duration:.0f} s", results)
    return verify_writes(manifest, before, members, results, "mixed")


def scenario_rate(args, world, server, members, manifest, rng):
    before = max_post_id(manifest)
    run = Run(server)
    results, seconds = open_loop(members, args.duration, args.rate, rng, args.mix)
    run.report(
        f"rate: {args.rate:.0f} actions/s arriving (open loop), up to {len(members)} at once, "
        f"{args.duration:.0f} s",
        results,
        seconds,
    )
    return verify_writes(manifest, before, members, results, "rate")


def scenario_writers(args, world, server, manifest, rng):
    login_results = Results()
    offset = args.concurrency  # members the other scenarios did not use
    if offset + args.writers > len(world.members):
        offset = 0
    writers = make_members(world, args.writers, args.port, rng, login_results, offset)
    before = max_post_id(manifest)
    run = Run(server)
    results = closed_loop(writers, args.writers_duration, action="answer")
    run.report(
        f"writers: {args.writers} members posting answers back to back, "
        f"{args.writers_duration:.0f} s",
        results,
    )
    for member in writers:
        member.client.close()
    outcome = verify_writes(manifest, before, writers, results, "writers")
    busy = server.seconds_until_idle()
    print(
        f"  background work (search index jobs) went on for {busy:.0f} s after the last POST"
        + (" and was still going" if busy >= IDLE_WAIT_LIMIT_S else "")
    )
    outcome["writers background s"] = round(busy)
    return outcome


def verify_writes(manifest, before, members, results, name):
    time.sleep(1.0)
    stored = count_new_posts(manifest, before, [m.user_id for m in members])
    answers = sum(c for (kind, _s), c in stored.items() if kind == "answer")
    questions = sum(c for (kind, _s), c in stored.items() if kind == "question")
    held = sum(c for (kind, s), c in stored.items() if s != "published")
    posted_answers = results.successes.get("answer", 0)
    posted_questions = results.successes.get("ask", 0)
    five_hundreds = sum(s.status >= 500 for s in results.samples)
    ok = answers == posted_answers and questions == posted_questions
    print(
        f"  writes: {posted_answers} answers and {posted_questions} questions accepted (302); "
        f"database has {answers} and {questions} new ({held} held for review by the checks); "
        f"{'MATCH' if ok else 'MISMATCH'}; 5xx: {five_hundreds}; "
        f"client retries on closed keep-alive: {sum(m.client.retries for m in members)}"
    )
    return {f"{name} writes match": ok, f"{name} 5xx": five_hundreds, f"{name} held": held}


def code_version():
    """The commit measured, and whether the app's or search's files differ from it."""

    def git(*command):
        done = subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    changed = git("status", "--porcelain", "--", "forum", "search", "moderation", "templates")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if changed else "")


def main(argv=None):
    args = parse_args(argv)
    manifest_path = args.instance / "bench_manifest.json"
    if not manifest_path.exists():
        raise SystemExit(f"{manifest_path} is missing: run bench/seed_large.py first")
    manifest = json.loads(manifest_path.read_text())
    rng = random.Random(args.seed)
    scenarios = args.scenarios.split(",")
    world = load_world(manifest, rng)
    print(
        f"database: {manifest['database_url']}; search: {manifest.get('search_engine', 'tantivy')}"
        f" engine, {manifest['search_encoder']} vectors, queries encoded by "
        f"{'the real int8 model too' if args.query_encoder == 'onnx' else 'that encoder'}"
    )
    print(f"code: {code_version()}")
    print(
        f"gunicorn: {args.workers} workers x {args.threads} threads, jobs {args.jobs_mode}, "
        f"port {args.port}"
    )
    server = Server(args, manifest)
    summary = {}
    try:
        started = time.perf_counter()
        server.wait_ready()
        print(f"server up in {time.perf_counter() - started:.1f} s")
        login_results = Results()
        members = make_members(world, args.concurrency, args.port, rng, login_results)
        failed = sum(not s.ok for s in login_results.samples)
        print(f"{len(members)} members logged in ({failed} failed)")
        if args.warmup:
            warm = closed_loop(members[: min(8, len(members))], args.warmup, args.mix)
            print(f"warm-up: {len(warm.samples)} requests in {args.warmup:.0f} s, "
                  f"{sum(not s.ok for s in warm.samples)} errors")  # fmt: skip
        if "page" in scenarios:
            summary.update(scenario_page(args, world, server, rng))
        if "mixed" in scenarios:
            summary.update(scenario_mixed(args, world, server, members, manifest))
        if "rate" in scenarios:
            summary.update(scenario_rate(args, world, server, members, manifest, rng))
        if "writers" in scenarios:
            summary.update(scenario_writers(args, world, server, manifest, rng))
        rss = server.worker_rss_mb()
        print(f"\nworker memory (RSS): {', '.join(f'{mb:.0f} MiB' for mb in rss)}")
    finally:
        for member in locals().get("members", []):
            member.client.close()
        server.stop()
    print("summary:", json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
