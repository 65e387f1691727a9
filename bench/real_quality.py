"""The real-text yardstick in one run: search and suggestions (bench/real_search.py) and
moderation (bench/real_moderation.py), each by the recipe of ../shared/eval/README.md through
the API, each beside its trivial baselines (and, for moderation, the team's held-out set).
The team's own search sets are in bench/search_quality.py and bench/suggest_quality.py.

    python bench/real_quality.py [real_search options, e.g. --questions 0 --full]
"""

import os

import real_moderation
import real_search


def main():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = real_search.parser().parse_args()
    real_search.measure(args)
    source = real_search.eval_dir()
    if source is None:
        return
    app = real_moderation.production_app(real_search.ROOT / "bench" / "out" / "real-moderation")
    rows = real_moderation.measure(app)
    print("\nModeration on real comments (dev splits), through POST /api/v1/moderation/check")
    print(real_moderation.format_table(rows))


if __name__ == "__main__":
    main()
