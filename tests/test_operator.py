"""What operators run: retraining is picked up by running servers, and long commands show
their progress while they work."""

import csv
import os

import pytest

from forum.services import screening
from moderation import read_labelled_csv, train_classifier
from moderation.classifier import metadata_path_for


def small_training_set(path):
    rows = [(f"Cảm ơn bạn, mình làm theo được rồi lần {i}", "clean") for i in range(12)]
    rows += [(f"Đồ ngu, biến đi chỗ khác lần {i}", "offensive") for i in range(12)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.fixture
def app_overrides(tmp_path):
    return {"MODERATION_CLASSIFIER_PATH": str(tmp_path / "moderation" / "toxicity.joblib")}


def test_a_retrain_here_is_swapped_in_at_once(app, tmp_path):
    data = small_training_set(tmp_path / "labelled.csv")
    runner = app.test_cli_runner()
    runner.invoke(args=["moderation", "train", "--data", str(data), "--no-dev"])
    serving = screening.moderator()
    assert screening.moderator() is serving  # built once, used by every check
    result = runner.invoke(args=["moderation", "train", "--data", str(data), "--no-dev"])
    assert result.exit_code == 0, result.output
    assert screening.moderator() is not serving


def test_a_retrain_elsewhere_is_picked_up_when_the_model_file_is_next_looked_at(app, tmp_path):
    model = tmp_path / "moderation" / "toxicity.joblib"
    data = small_training_set(tmp_path / "labelled.csv")
    app.test_cli_runner().invoke(args=["moderation", "train", "--data", str(data), "--no-dev"])
    service = app.extensions["moderation"]
    serving = screening.moderator()
    # Another process (or a machine sharing the instance folder) retrains: this one hears
    # of it only through the file, which it looks at every RELOAD_CHECK_SECONDS.
    stamp = model.stat().st_mtime_ns
    train_classifier(read_labelled_csv(data), model)
    os.utime(model, ns=(stamp + 10**9, stamp + 10**9))  # even where mtimes are coarse
    assert screening.moderator() is serving  # not looked at yet
    service.reload_check_seconds = 0
    fresh = screening.moderator()
    assert fresh is not serving
    assert screening.moderator() is fresh


def test_training_swaps_the_model_in_whole(app, tmp_path):
    model = tmp_path / "moderation" / "toxicity.joblib"
    result = app.test_cli_runner().invoke(
        args=[
            "moderation", "train", "--no-dev", "--data",
            str(small_training_set(tmp_path / "d.csv")),
        ]
    )  # fmt: skip
    assert f"-> {model}" in result.output
    assert model.exists() and metadata_path_for(model).exists()
    assert not list(model.parent.glob("*.new.*"))  # the staged files were moved into place
    assert "train on 24 examples" in result.output  # said while it works
    assert "team's own phrases: innocent held" in result.output


def false_alarm_dev_split(folder):
    """A dev folder whose only split is clean comments that the small model holds."""
    split = folder / "vi_hate_spans_vihos"
    split.mkdir(parents=True)
    with (split / "dev.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "content", "index_spans"])
        for i in range(10):
            writer.writerow([i, f"Đồ ngu, biến đi chỗ khác lần {i + 100}", "[]"])
        writer.writerow([10, "Đồ ngu", "[0, 1]"])
    return folder


def test_a_retrain_that_holds_too_many_clean_comments_is_refused_unless_forced(
    app, tmp_path, monkeypatch
):
    model = tmp_path / "moderation" / "toxicity.joblib"
    monkeypatch.setenv("FORUM_EVAL_DIR", str(false_alarm_dev_split(tmp_path / "eval")))
    data = str(small_training_set(tmp_path / "d.csv"))
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["moderation", "train", "--data", data])
    assert refused.exit_code != 0
    assert "not swapped in" in refused.output and "ViHOS (1.000)" in refused.output
    assert not model.exists() and not list(model.parent.glob("*.new.*"))
    forced = runner.invoke(args=["moderation", "train", "--data", data, "--force"])
    assert forced.exit_code == 0, forced.output
    assert model.exists()


def test_reindex_shows_its_progress(app, thread):
    result = app.test_cli_runner().invoke(args=["search", "reindex", "--full"])
    assert "index: read" in result.output and "1/1" in result.output
    assert "index: embed" in result.output and "passage" in result.output
    assert "search index: 1 added" in result.output
