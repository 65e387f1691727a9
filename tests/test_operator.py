"""What operators run: retraining is picked up by running servers, and long commands show
their progress while they work."""

import csv
import os

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


def test_a_retrained_classifier_is_used_without_a_restart(app, tmp_path):
    model = tmp_path / "moderation" / "toxicity.joblib"
    app.config["MODERATION_CLASSIFIER_PATH"] = str(model)
    data = small_training_set(tmp_path / "labelled.csv")
    runner = app.test_cli_runner()
    runner.invoke(args=["moderation", "train", "--data", str(data)])
    serving = screening.moderator()
    assert screening.moderator() is serving  # loaded once while the file stays the same
    # Another process (or a machine sharing the instance folder) retrains: this one hears
    # of it only through the file.
    stamp = model.stat().st_mtime_ns
    train_classifier(read_labelled_csv(data), model)
    os.utime(model, ns=(stamp + 10**9, stamp + 10**9))  # even where mtimes are coarse
    fresh = screening.moderator()
    assert fresh is not serving
    assert screening.moderator() is fresh


def test_training_swaps_the_model_in_whole(app, tmp_path):
    model = tmp_path / "moderation" / "toxicity.joblib"
    app.config["MODERATION_CLASSIFIER_PATH"] = str(model)
    result = app.test_cli_runner().invoke(
        args=["moderation", "train", "--data", str(small_training_set(tmp_path / "d.csv"))]
    )
    assert f"-> {model}" in result.output
    assert model.exists() and metadata_path_for(model).exists()
    assert not list(model.parent.glob("*.new.*"))  # the staged files were moved into place
    assert "train on 24 examples" in result.output  # said while it works


def test_reindex_shows_its_progress(app, thread):
    result = app.test_cli_runner().invoke(args=["search", "reindex", "--full"])
    assert "index: read" in result.output and "1/1" in result.output
    assert "index: embed" in result.output and "passage" in result.output
    assert "search index: 1 added" in result.output
