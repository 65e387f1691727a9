"""Commands for moving the community over from Facebook: import-facebook, users claim-link,
and the mail group (weekly digest, sending what waits in the outbox)."""

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from forum.facebook_archive import BadArchive
from forum.facebook_import import import_archive
from forum.services import claims, mail
from forum.services.errors import PermissionDenied

SHOWN = 30  # problems listed one by one; the rest are counted


@click.command("import-facebook")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would be created, skipped and held.")
@click.option("--group", default=None, help="Only posts of groups whose name contains this.")
@click.option("--match-days", default=7, show_default=True, type=click.IntRange(1, 365),
              help="A comment matches its author's post made this many days before it.")
@click.option("--all-problems", is_flag=True, help="List every problem, not the first 30.")
def import_facebook(path, dry_run, group, match_days, all_problems):
    """Import a Facebook group archive (.zip, its folder, or one of its JSON files)."""
    with click.progressbar(length=0, label="threads", file=sys.stderr) as bar:

        def on_progress(done, total):
            bar.length = total
            bar.update(1)

        try:
            report = import_archive(
                path, dry_run=dry_run, group=group, match_window_days=match_days,
                on_progress=on_progress,
            )  # fmt: skip
        except BadArchive as error:
            raise click.ClickException(str(error)) from error
    limit = None if all_problems else SHOWN
    _list("bad file", report.bad_files, limit)
    _list("bad entry", report.bad_entries, limit)
    _list("not matched to a post", report.unmatched, limit)
    _list("photo", report.photo_problems, limit)
    _list("held for review", report.held, limit, err=False)
    if len(report.groups) > 1 and not group:
        click.echo("groups in the archive (pick one with --group):")
        for name, count in sorted(report.groups.items(), key=lambda kv: -kv[1]):
            click.echo(f"  {count:6d}  {name or '(no group name)'}")
    verb = "would create" if dry_run else "created"
    click.echo(
        f"{'DRY RUN: ' if dry_run else ''}{verb} {report.questions} questions, "
        f"{report.answers} answers, {report.comments} comments, {report.photos} photos, "
        f"{report.placeholders} placeholder accounts; already there {report.skipped_existing}; "
        f"held for review {len(report.held)}; bad files {len(report.bad_files)}, "
        f"bad entries {len(report.bad_entries)}, not matched {len(report.unmatched)}, "
        f"photo problems {len(report.photo_problems)} (files read: {report.files_read})"
    )


def _list(label, rows, limit, err=True):
    for source, message in rows[:limit]:
        click.echo(f"{label}: {source}: {message}", err=err)
    if limit is not None and len(rows) > limit:
        click.echo(f"{label}: … and {len(rows) - limit} more (--all-problems lists them)", err=err)


@click.command("claim-link")
@click.argument("name")
def claim_link(name):
    """Print a one-time link with which a member takes over a placeholder's posts (NAME is the
    placeholder's username or the Facebook name)."""
    author = claims.find_placeholder(name)
    if author is None:
        raise click.ClickException(f"no placeholder account {name!r}")
    try:
        url = claims.make_link(author)
    except PermissionDenied as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{author.name} ({author.user.username}): {url}")


mail_cli = AppGroup("mail", help="Email notices and the weekly digest.")


@mail_cli.command("digest")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 31))
def mail_digest(days):
    """Queue and send the weekly digest to every member who chose it (once a week each)."""
    if not mail.enabled():
        raise click.ClickException("MAIL_SERVER is not set: no email is sent")
    queued = mail.queue_digests(days=days)
    sent, failed = mail.send_due()
    click.echo(f"digests queued {queued}; sent {sent}, failed {failed} (kept for a retry)")


@mail_cli.command("send")
def mail_send():
    """Send every message waiting in the outbox whose time has come (run it from cron)."""
    if not mail.enabled():
        raise click.ClickException("MAIL_SERVER is not set: no email is sent")
    sent, failed = mail.send_due()
    click.echo(f"sent {sent}, failed {failed} (kept for a retry), waiting {mail.waiting_count()}")


def init_app(app, users_cli):
    users_cli.add_command(claim_link)
    app.cli.add_command(import_facebook)
    app.cli.add_command(mail_cli)
