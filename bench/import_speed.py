"""Facebook import speed: a synthetic group archive (members' archives gathered in one folder,
mojibake and all) written to a temp folder, imported twice into fresh SQLite forums: once with
moderation off (no moderation models at all), once with moderation on and its classifier
loaded beforehand. Prints posts per second for both (target: >= 200 posts/s without the
moderation models), then the search indexing of the imported threads, timed apart. The search
encoder is the fake one, as in the tests; with the real model every question's duplicate check
and tag suggestion also encodes its text.

    python bench/import_speed.py [--posts 2000] [--members 80]
"""

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402

from forum import create_app  # noqa: E402
from forum.facebook_import import import_archive, index_imported  # noqa: E402
from forum.services import screening  # noqa: E402

TARGET = 200.0
GROUP = "Xứ trà học AI - Bình dân học AI Thái Nguyên"
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương"]
MIDDLE = ["Thị", "Văn", "Minh", "Thu", "Đức", "Ngọc", "Quang", "Thanh", "Hải", "Kim"]
GIVEN = ["Lan", "Hùng", "Mai", "Tuấn", "Hoa", "Nam", "Hương", "Dũng", "Yến", "Sơn", "Thảo", "Bình"]
TOOLS = ["ChatGPT", "Gemini", "Zalo AI", "Copilot", "Canva", "CapCut", "VNeID", "Google Dịch"]
TASKS = [
    "viết thư mời họp tổ dân phố", "tóm tắt biên bản cuộc họp", "dịch tài liệu tiếng Anh",
    "làm ảnh quảng cáo bán chè", "soạn giáo án lớp ba", "đọc hóa đơn tiền điện",
    "viết bài giới thiệu sản phẩm", "làm video ngắn cho cửa hàng", "tra cứu thủ tục hành chính",
    "lập kế hoạch chăm sóc vườn chè", "viết lời chúc đám cưới", "học tiếng Anh giao tiếp",
]  # fmt: skip
ASKS = [
    "Làm sao dùng {tool} để {task}?", "Có ai dùng {tool} để {task} chưa ạ?",
    "{tool} có {task} được không mọi người?", "Nhờ mọi người chỉ cách {task} bằng {tool}.",
]  # fmt: skip
DETAILS = [
    "Em đã thử mấy lần mà kết quả chưa như ý.", "Mình dùng điện thoại Android, mạng hơi yếu.",
    "Cháu mới học nên chưa rành lắm, mong các anh chị chỉ giúp.",
    "Mình muốn làm nhanh vì cuối tuần phải nộp rồi.",
    "Có cách nào làm bằng tiếng Việt có dấu không ạ?",
]  # fmt: skip
ANSWERS = [
    "Bạn mở {tool}, gõ rõ yêu cầu {task}, thêm ví dụ cụ thể là được nhé.",
    "Mình hay làm thế này: nói {tool} đóng vai người giỏi việc đó rồi hỏi từng bước.",
    "Thử chia nhỏ yêu cầu ra, mỗi lần hỏi {tool} một phần thôi bạn ạ.",
    "Nhớ kiểm tra lại kết quả, {tool} đôi khi viết sai tên riêng và số liệu.",
]  # fmt: skip
THANKS = ["Cảm ơn bạn nhiều!", "Hay quá, để mình thử.", "Làm được rồi ạ, cảm ơn anh.", "Ok nhé"]


def mojibake(value):
    if isinstance(value, str):
        return value.encode("utf-8").decode("latin-1")
    if isinstance(value, list):
        return [mojibake(v) for v in value]
    if isinstance(value, dict):
        return {k: mojibake(v) for k, v in value.items()}
    return value


def write_archive(folder, posts_wanted, members, rng):
    """Each member's archive in the current layout; returns how many entries were written."""
    names = sorted({f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
                    for _ in range(members * 3)})[:members]  # fmt: skip
    start = datetime(2023, 1, 1, tzinfo=UTC)
    posts = {name: [] for name in names}
    comments = {name: [] for name in names}
    # One post per member every 8+ days, so a comment within the 7-day window has one candidate.
    made = 0
    for slot in range(posts_wanted):
        name = names[slot % members]
        when = start + timedelta(days=8 * (slot // members), hours=rng.randint(0, 40))
        tool, task = rng.choice(TOOLS), rng.choice(TASKS)
        text = rng.choice(ASKS).format(tool=tool, task=task) + " " + rng.choice(DETAILS)
        if rng.random() < 0.7:
            text += f" #{tool.replace(' ', '_')}"
        posts[name].append({"timestamp": int(when.timestamp()), "data": [{"post": text}],
                            "title": f"{name} posted in {GROUP}."})  # fmt: skip
        made += 1
        for answer_no in range(rng.randint(0, 4)):
            other = rng.choice([n for n in names if n != name])
            at = when + timedelta(hours=1 + answer_no * 3, minutes=rng.randint(0, 59))
            body = rng.choice(ANSWERS).format(tool=tool, task=task)
            title = f"{other} commented on {name}'s post."
            comments[other].append(_comment(other, at, body, title))
            made += 1
            if rng.random() < 0.3:  # the asker thanks the answerer
                reply_at = at + timedelta(minutes=20)
                title = f"{name} replied to {other}'s comment."
                comments[name].append(_comment(name, reply_at, rng.choice(THANKS), title))
                made += 1
    for number, name in enumerate(names):
        groups = folder / f"member_{number:03d}" / "your_facebook_activity" / "groups"
        groups.mkdir(parents=True)
        (groups / "your_posts_in_groups.json").write_text(
            json.dumps(mojibake({"group_posts_v2": posts[name]}))
        )
        (groups / "your_comments_in_groups.json").write_text(
            json.dumps(mojibake({"group_comments_v2": comments[name]}))
        )
    return made


def _comment(author, when, text, title):
    stamp = int(when.timestamp())
    return {"timestamp": stamp, "title": title,
            "data": [{"comment": {"timestamp": stamp, "comment": text, "author": author,
                                  "group": GROUP}}]}  # fmt: skip


def run(archive, instance, moderation, classifier):
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'forum.db'}",
            "JOBS_MODE": "inline",
            "SEARCH_ENCODER": "fake",
            "SEARCH_FOLLOW_IN_PROCESS": True,
            "RATELIMIT_ENABLED": False,
            "MODERATION_ENABLED": moderation,
            "MODERATION_CLASSIFIER_PATH": str(classifier),
        }
    )
    with app.app_context():
        upgrade()
        if moderation:
            started = time.perf_counter()
            screening.moderator().check("khởi động")  # load (or train, the first time) the model
            print(f"  moderation model ready in {time.perf_counter() - started:.1f}s (not counted)")
        started = time.perf_counter()
        report = import_archive(archive, index=False)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        index_imported(sorted(report.thread_ids))
        index_seconds = time.perf_counter() - started
    return report, seconds, index_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000, help="group posts (questions)")
    parser.add_argument("--members", type=int, default=80)
    parser.add_argument("--without-moderation-only", action="store_true",
                        help="skip the (slow) run with the moderation model")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fb-bench-") as temp:
        temp = Path(temp)
        entries = write_archive(temp / "archive", args.posts, args.members, random.Random(13))
        print(f"synthetic archive: {args.members} members, {entries} entries")
        classifier = temp / "toxicity.joblib"
        figures = {}
        runs = [("moderation off", False), ("moderation on, model warm", True)]
        for label, moderation in runs[:1] if args.without_moderation_only else runs:
            print(label)
            instance = temp / label.split(",")[0].replace(" ", "_")
            report, seconds, index_seconds = run(temp / "archive", instance, moderation, classifier)
            figures[label] = report.created / seconds
            print(
                f"  {report.created} posts ({report.questions} questions, {report.answers} "
                f"answers, {report.comments} comments), held {len(report.held)}, not matched "
                f"{len(report.unmatched)}, bad {len(report.bad_entries)}: {seconds:.1f}s = "
                f"{figures[label]:.0f} posts/s; search indexing {index_seconds:.1f}s"
            )
        print()
        for label, rate in figures.items():
            print(f"{label:28s} {rate:7.0f} posts/s")
        met = figures["moderation off"] >= TARGET
        verdict = "met" if met else "MISSED"
        print(f"target >= {TARGET:.0f} posts/s without moderation models: {verdict}")


if __name__ == "__main__":
    main()
