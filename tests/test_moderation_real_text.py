"""Guard: moderation on real comments nobody here wrote must not hold ordinary members again.

Issue 17: main once held one clean comment in seven (ViHSD dev 0.143) where a branch had held
0.025, and nothing in the suite noticed. This runs the app's own pipeline (the Moderator that
create_app builds from the app's settings: lexicon, rules, classifier and the policy over its
spans, trained from the shipped data) on the public dev splits, comment by comment, in
process: ViHSD dev without the 469 comments that are in the training file, ViCTSD valid and
ViHOS dev. It fails when more than 3.5 % of any set's clean comments are held, or when recall
drops under the floor measured when the thresholds were chosen (minus a small margin).

The data live at `<repo>/../shared/eval` (FORUM_EVAL_DIR elsewhere), as on CI; without them
the test is skipped with a message. They are read, never copied.
"""

from pathlib import Path

import pytest

from forum import create_app
from moderation.evaluation import dev_sets, find_eval_dir, held_rates

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = find_eval_dir(ROOT)
MAX_CLEAN_HELD = 0.035
# Toxic comments held on the dev splits with the shipped settings (README, moderation), less
# 0.03 so that a retrain's noise passes and a real loss does not.
RECALL_FLOORS = {"ViHSD": 0.45, "ViCTSD": 0.04, "ViHOS": 0.41}

pytestmark = pytest.mark.skipif(
    EVAL_DIR is None,
    reason=f"no public dev splits at {ROOT.parent / 'shared' / 'eval'} (FORUM_EVAL_DIR): "
    "moderation's real-text guard skipped",
)


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    """Per dev set: (toxic held, clean held) by the app's moderator."""
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {"TESTING": True, "INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    moderator = app.extensions["moderation"].moderator
    found = {}
    for evaluated in dev_sets(EVAL_DIR):
        comments = list(evaluated.comments)
        held = [moderator.check(comment.text).action != "allow" for comment in comments]
        found[evaluated.name] = held_rates(comments, held)
    return found


@pytest.mark.parametrize("name", sorted(RECALL_FLOORS))
def test_few_clean_comments_are_held(figures, name):
    assert figures[name].clean_held <= MAX_CLEAN_HELD, figures[name]


@pytest.mark.parametrize("name", sorted(RECALL_FLOORS))
def test_toxic_comments_are_still_caught(figures, name):
    assert figures[name].toxic_held >= RECALL_FLOORS[name], figures[name]
