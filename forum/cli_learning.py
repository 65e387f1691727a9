"""`flask --app forum search learn`: the forum's search learns from its own answered threads."""

import json

import click
from flask import current_app
from tqdm import tqdm

from forum import learning, model_setup


@click.command("learn")
@click.option("--exclude-author", "exclude_authors", multiple=True, metavar="USERNAME",
              help="Do not learn from this member's threads (repeatable).")
@click.option("--min-threads", type=int, default=None,
              help=f"Answered threads needed to learn at all (default {learning.MIN_THREADS}, "
                   "or SEARCH_LEARN_MIN_THREADS).")
@click.option("--max-pairs", type=int, default=None, help="Train on at most this many pairs.")
# Measured peaks of training (3 steps on the longest answers, bench/learn_search.py's data):
# batch 32: 6.5 GB, with gradient checkpointing 3.7 GB; batch 16 with it 2.6 GB; batch 32 with
# it and 6 lower layers frozen 2.9 GB. The defaults stay under 3 GB.
@click.option("--batch-size", type=int, default=16, show_default=True,
              help="Pairs per step; each answer is a wrong one for the batch's other questions.")
@click.option("--epochs", type=int, default=1, show_default=True)
@click.option("--frozen-layers", type=int, default=0, show_default=True,
              help="Also freeze this many lower transformer layers (less memory, less learning).")
@click.option("--gradient-checkpointing/--no-gradient-checkpointing", default=True,
              show_default=True, help="Recompute activations: far less memory, a little slower.")
@click.option("--dry-run", is_flag=True, help="Train and measure, but publish nothing.")
def learn_command(exclude_authors, min_threads, max_pairs, batch_size, epochs, frozen_layers,
                  gradient_checkpointing, dry_run):
    """Fine-tune the search encoder on this forum's answered threads; publish it only if it
    beats the current one on threads held out of training (each node then switches)."""
    from forum import learn_trainer  # torch: loaded by this command only

    bar = {}

    def on_start(steps):
        bar["bar"] = tqdm(total=steps, desc="learn: train", unit="step", mininterval=1.0,
                          dynamic_ncols=True)

    def on_step(loss):
        bar["bar"].update(1)
        bar["bar"].set_postfix(loss=f"{loss:.3f}", refresh=False)

    trainer = learn_trainer.make_trainer(
        current_app.config, on_start=on_start, on_step=on_step, batch_size=batch_size,
        epochs=epochs, frozen_layers=frozen_layers, gradient_checkpointing=gradient_checkpointing)
    try:
        outcome = learning.learn(trainer, exclude_authors=exclude_authors, max_pairs=max_pairs,
                                 min_threads=min_threads, dry_run=dry_run)
    except model_setup.ModelPrepError as error:
        raise click.ClickException(str(error)) from error
    finally:
        if "bar" in bar:
            bar["bar"].close()
    if outcome.version is None:
        click.echo(outcome.message)
        return
    click.echo(f"learn: {outcome.pairs} pairs trained on, {outcome.held_out} threads held out")
    click.echo(json.dumps(outcome.figures, indent=1))
    click.echo(outcome.message)
