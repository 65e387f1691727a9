"""Which encoder each node searches with, and the switch from one learned model version to the next.

`flask search learn` (forum.learning) records every model it trains as a SearchModelVersion row;
at most one is "active", and none means the base multilingual-e5-small. A model version is a
vector space of its own (the encoder's name: stored post_embeddings are keyed by it), so a new
version can never be mixed with vectors of another.

Each node keeps its index of the active version in a folder of its own, and a small pointer file
beside its base index folder (`<SEARCH_INDEX_PATH>.model.json`) names the version and folder it
serves. A node's follower notices a new active version, builds a complete index of it in a new
folder (re-embedding every post with the new encoder; the old index keeps being served meanwhile),
and only then rewrites the pointer, atomically. Web processes read the pointer on each use of the
engine (one stat of a small file) and then open the new folder with the new encoder together, as
one SearchEngine: a query is always encoded by the model that built the index it hits.

The moderation classifier's embedding head was trained on the base encoder's vectors, so it keeps
reading those (`base_encoder`), whatever version search serves.
"""

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import delete, select

from forum import model_setup
from forum.extensions import db
from forum.models import PostEmbedding, SearchModelVersion, utcnow
from search import passages
from search.encoders import FakeEncoder, OnnxEncoder

log = logging.getLogger(__name__)

LEARNED_LABEL = "multilingual-e5-small-learned-v{version}"


@dataclass(frozen=True)
class NodeModel:
    """The model version this node serves (None: the base encoder) and the index folder built
    with it."""

    version: int | None
    index_path: str
    space: str | None = None  # the version's encoder name, as recorded when it was published


def learned_path(config) -> Path:
    """Where learned models are kept (shared by a forum's nodes, like MODELS_PATH)."""
    return Path(config.get("SEARCH_LEARNED_PATH") or Path(config["INSTANCE_PATH"]) / "learned")


def version_folder(config, version: int) -> Path:
    return learned_path(config) / f"v{version}"


def version_label(version: int) -> str:
    return LEARNED_LABEL.format(version=version)


def pointer_path(config) -> Path:
    base = Path(config["SEARCH_INDEX_PATH"])
    return base.with_name(base.name + ".model.json")


def index_path_for(config, version: int | None) -> Path:
    """The base index folder for the base encoder; a sibling folder per learned version."""
    base = Path(config["SEARCH_INDEX_PATH"])
    return base if version is None else base.with_name(f"{base.name}-learned-v{version}")


def node_model(app) -> NodeModel:
    """What the pointer file says now; the base model when there is none. Cheap: the file is
    read again only when its modification time or size changed."""
    path = pointer_path(app.config)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return NodeModel(None, app.config["SEARCH_INDEX_PATH"])
    stamp = (stat.st_mtime_ns, stat.st_size)
    known = app.extensions.get("search_model_pointer")
    if known is not None and known[0] == stamp:
        return known[1]
    model = NodeModel(**json.loads(path.read_text()))
    app.extensions["search_model_pointer"] = (stamp, model)
    return model


def _write_pointer(config, model: NodeModel) -> None:
    """Atomically: a reader sees the old pointer or the new one, never half of one."""
    path = pointer_path(config)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(asdict(model)))
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, path)


# Encoders --------------------------------------------------------------------------------

def base_encoder(app):
    """The configured base encoder (SEARCH_ENCODER, SEARCH_MODEL), made once per process:
    search's until a learned version is active, and always the moderation classifier's."""
    from forum.indexing import query_encoder

    return query_encoder(app)


def learned_encoder(config, version: int):
    """The encoder of a learned version: its int8 ONNX export (with the fake encoder of tests,
    a fake of its own space, so that versions still never share vectors)."""
    if config["SEARCH_ENCODER"] == "fake":
        return FakeEncoder(name=f"fake-ngrams-learned-v{version}")
    return OnnxEncoder(version_folder(config, version) / "onnx",
                       threads=config["SEARCH_ENCODER_THREADS"])


def encoder_for(app, model: NodeModel):
    if model.version is None:
        return base_encoder(app)
    cache = app.extensions.setdefault("learned_encoders", {})
    if model.version not in cache:
        cache[model.version] = learned_encoder(app.config, model.version)
    return cache[model.version]


def version_problem(config, version: SearchModelVersion) -> str | None:
    """Why this node cannot serve `version`, or None when it can."""
    if config["SEARCH_ENCODER"] == "fake":
        return None
    folder = version_folder(config, version.id) / "onnx"
    return model_setup.onnx_folder_problem(folder)


# The database's side ---------------------------------------------------------------------

def active_version() -> SearchModelVersion | None:
    return db.session.scalar(
        select(SearchModelVersion).where(SearchModelVersion.status == "active")
        .order_by(SearchModelVersion.id.desc()).limit(1)
    )


def publish(version: SearchModelVersion, config) -> None:
    """Make `version` the active one (the caller commits): every node's follower switches.

    The version it replaces stays whole (nodes serve it until their new index is built); the
    stored vectors and files of versions retired before it are deleted: a forum's vectors are
    one copy per version, and nothing reads those any more."""
    older = db.session.scalars(
        select(SearchModelVersion).where(SearchModelVersion.status == "retired")
    ).all()
    for old in older:
        old.status = "removed"
        if old.space:
            spaces = [old.space, passages.sentence_space(old.space)]
            db.session.execute(delete(PostEmbedding).where(PostEmbedding.space.in_(spaces)))
        shutil.rmtree(version_folder(config, old.id), ignore_errors=True)
    for other in db.session.scalars(
        select(SearchModelVersion).where(SearchModelVersion.status == "active")
    ):
        other.status = "retired"
    version.status = "active"
    version.activated_at = utcnow()


# The switch ------------------------------------------------------------------------------

def follow_active_version(app, *, on_built=None) -> dict | None:
    """Called by this node's follower (with its lock held) before it applies changes: when the
    database's active version is not the one this node serves, build the index of the active
    one in its own folder, then point this node at it. Returns the build's figures, or None
    when there was nothing to do (or the version's files are not here yet: said in the log,
    tried again on the next round). `on_built`: a test hook, called between the build and the
    switch."""
    from forum import indexing, search_feed
    from search import SearchEngine

    active = active_version()
    wanted = active.id if active is not None else None
    current = node_model(app)
    if wanted == current.version:
        return None
    if active is not None:
        problem = version_problem(app.config, active)
        if problem is not None:
            log.error("search: model version %s is active but this node cannot load it (%s); "
                      "still serving %s", wanted, problem, current.version or "the base model")
            return None
    target = NodeModel(wanted, str(index_path_for(app.config, wanted)),
                       active.space if active is not None else None)
    encoder = (learned_encoder(app.config, wanted) if wanted is not None
               else indexing.make_encoder(app.config))
    if target.space is not None and encoder.name != target.space:
        log.error("search: model version %s was published for space %r, but its files give "
                  "%r; not switching", wanted, target.space, encoder.name)
        return None

    log.info("search: building the index of model version %s in %s", wanted, target.index_path)
    started, load = time.perf_counter(), os.getloadavg()[0]
    cursor = search_feed.latest_change_id()  # changes after this are applied once switched
    engine = SearchEngine(indexing.search_index(app.config, Path(target.index_path)), encoder,
                          embeddings=search_feed.StoredEmbeddings())
    try:
        report = engine.sync(indexing.all_documents())
    finally:
        engine.close()
    search_feed.FollowState(cursor=cursor, engine=app.config["SEARCH_ENGINE"]).write(
        Path(target.index_path) / search_feed.STATE_FILE)
    seconds = time.perf_counter() - started
    if on_built is not None:
        on_built(target)
    _write_pointer(app.config, target)
    _remove_older_indexes(app.config, keep={target.index_path, current.index_path})
    figures = {
        "version": wanted, "documents": report.added + report.updated + report.unchanged,
        "passages_embedded": report.embedded_passages, "seconds": round(seconds, 1),
        "passages_per_second": round(report.embedded_passages / seconds, 1) if seconds else None,
        "load_average": round(load, 1),
    }
    app.extensions["search_model_switch"] = figures
    log.info("search: now serving model version %s: %s", wanted, figures)
    return figures


def _remove_older_indexes(config, keep: set[str]) -> None:
    """Index folders of versions before the one just left: a web process may still be
    finishing a query on that one, never on those."""
    base = Path(config["SEARCH_INDEX_PATH"])
    for folder in base.parent.glob(f"{base.name}-learned-v*"):
        if str(folder) not in keep and folder.is_dir():
            log.info("search: removing %s, the index of an older model version", folder)
            shutil.rmtree(folder, ignore_errors=True)
