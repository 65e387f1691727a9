"""Try the checks on a text from the command line: python -m moderation "text" [--title T].

Prints the verdict as JSON. Uses the default configuration, so the first run trains the model
into instance/moderation/ if it is not there yet.
"""

import argparse
import json
import logging

from . import ModerationConfig, Moderator, PostContext


def main() -> None:
    parser = argparse.ArgumentParser(description="Moderate one post and print the verdict.")
    parser.add_argument("text")
    parser.add_argument("--title")
    parser.add_argument("--author-age-days", type=float, default=365)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    verdict = Moderator(ModerationConfig()).check(
        args.text, title=args.title, context=PostContext(author_age_days=args.author_age_days)
    )
    print(json.dumps(verdict.to_dict(), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
