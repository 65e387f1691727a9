"""`flask backup` and `flask restore`: the database and the uploads in one file, and back."""

from pathlib import Path

import click
from flask.cli import with_appcontext

from forum import backup


@click.command("backup")
@with_appcontext
@click.argument("directory", default="backups", type=click.Path(file_okay=False, path_type=Path))
def backup_command(directory):
    """Write a backup (database and uploaded images) into DIRECTORY (default: backups/)."""
    try:
        path = backup.backup(directory)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    counts = backup.table_counts()
    size_mb = path.stat().st_size / 1e6
    click.echo(
        f"{path} ({size_mb:.1f} MB): {counts.get('users', 0)} members, "
        f"{counts.get('posts', 0)} posts, {counts.get('attachments', 0)} images"
    )


@click.command("restore")
@with_appcontext
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(archive):
    """Restore a backup into this empty instance, then check every table's row count."""
    try:
        report = backup.restore(archive)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    for table, rows in report.counts.items():
        click.echo(f"{table}: {rows}")
    click.echo(f"uploaded files: {report.uploads}")
    if report.mismatched:
        details = ", ".join(f"{t} {want} expected, {got} found" for t, (want, got) in
                            report.mismatched.items())  # fmt: skip
        raise click.ClickException(f"row counts differ from the backup's: {details}")
    click.echo(
        "restored; the search index is rebuilt by the follower "
        "(`flask --app forum search follow --once`, or the running follower)"
    )


def init_app(app):
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
