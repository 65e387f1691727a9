"""How the search page's relevance floor (SEARCH_CLOSE_MATCH_MIN) splits queries that have an
answer in the forum from queries that do not, on the seed forum with the real model.

    .venv/bin/python bench/close_match.py [--models instance/models]

For each floor it prints the share of the 195 benchmark queries (each has a relevant seed
thread) that would be told "no close match", and the share of off-topic queries (written
here: cooking, football, farming prices, gibberish) that would still be shown as close.
"""

import argparse
import sys

from common import ROOT, read_jsonl, seeded_app

sys.path.insert(0, str(ROOT))

from forum.services import searching  # noqa: E402

OFF_TOPIC = [
    "cách nấu phở bò Nam Định", "giá lúa hôm nay ở An Giang", "lịch thi đấu V-League tuần này",
    "bài thuốc nam chữa đau lưng", "cách trồng hoa hồng leo ban công", "kết quả xổ số miền Bắc",
    "mua xe máy cũ ở Thái Nguyên giá bao nhiêu", "thời tiết Hà Giang cuối tuần",
    "cach lam banh chung ngon", "gia vang hom nay", "tuyen sinh lop 10 Thai Nguyen diem chuan",
    "bệnh khảm lá sắn phòng trừ thế nào", "học bơi cho trẻ 5 tuổi ở đâu",
    "quy trình nuôi gà thả vườn", "sửa máy giặt bị kêu to", "xyzzy plugh quux",
    "qwerty asdf zxcv", "ok", "best pizza recipe with mozzarella", "football world cup winners",
]  # fmt: skip
FLOORS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instance", default=str(ROOT / "bench" / "out" / "close_match"))
    parser.add_argument("--models", default=str(ROOT / "instance" / "models"))
    args = parser.parse_args()
    app = seeded_app(args.instance, models_path=args.models)
    queries = [row["query"] for row in read_jsonl("search_queries_*.jsonl")]
    with app.test_request_context():
        best = {}
        for query in queries + OFF_TOPIC:
            hits = searching.similar_questions(query, limit=1, min_length=1)
            best[query] = hits[0].score if hits else 0.0
    print(f"{len(queries)} answerable queries, {len(OFF_TOPIC)} off-topic ones")
    print("floor  answerable told 'no close match'  off-topic shown as close")
    for floor in FLOORS:
        missed = sum(best[q] < floor for q in queries) / len(queries)
        passed = sum(best[q] >= floor for q in OFF_TOPIC) / len(OFF_TOPIC)
        print(f"{floor:5.2f}  {missed:30.1%}  {passed:24.1%}")
    floor = app.config["SEARCH_CLOSE_MATCH_MIN"]
    print(f"\nconfigured floor {floor}: off-topic shown as close:",
          ", ".join(q for q in OFF_TOPIC if best[q] >= floor) or "none")
    print("answerable told no close match:",
          "; ".join(q for q in queries if best[q] < floor) or "none")


if __name__ == "__main__":
    main()
