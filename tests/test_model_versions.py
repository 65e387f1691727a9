"""Learned model versions across nodes: each node's follower builds the new version's index in
a folder of its own, then switches; a query never meets an index built by another model."""

from pathlib import Path

from sqlalchemy import func, select

from forum import indexing, model_versions
from forum.extensions import db
from forum.models import PostEmbedding, SearchModelVersion
from forum.search_feed import Follower
from forum.services import screening
from tests.test_search_feed import ask, index_matches_database, shared_database  # noqa: F401

BASE_SPACE = "fake-ngrams-256"


def publish_version(app) -> int:
    """What `flask search learn` records when its gate lets a model through."""
    with app.app_context():
        version = SearchModelVersion(status="training", pairs=1, held_out=1)
        db.session.add(version)
        db.session.flush()
        version.space = model_versions.learned_encoder(app.config, version.id).name
        model_versions.publish(version, app.config)
        db.session.commit()
        return version.id


def served(app, query="Canva thiệp mời"):
    """What a search on this node runs with: (encoder, index folder, threads found), checking
    that the index it hits was built by that very encoder, for every post of the forum."""
    with app.app_context():
        engine = indexing.search_engine()
        assert index_matches_database(app), "a query met an index built by another model"
        hits = engine.search(query, mode="semantic", limit=5).hits
        return (engine.encoder.name, Path(engine.backend.index_dir).name,
                [hit.question_id for hit in hits])


def test_nodes_switch_to_a_new_version_without_a_query_meeting_a_mismatched_index(
        shared_database):  # noqa: F811
    node, _url = shared_database
    node_a = node("node-a")
    web_b, follower_b = node("node-b"), node("node-b")  # one node: a web process, its follower
    thread_id = ask(node_a, "lan_node_a", "Dùng Canva AI thiết kế thiệp mời đám cưới")
    Follower(node_a).run_once()
    Follower(follower_b).run_once()
    assert served(web_b)[:2] == (BASE_SPACE, "search-v2")
    assert thread_id in served(web_b)[2]

    version = publish_version(node_a)
    learned_space = f"fake-ngrams-learned-v{version}-256"
    seen_while_building = []

    def while_building(target):
        # The new index is complete on disk, the pointer not yet moved: still the old pair.
        seen_while_building.append(served(web_b))
        assert Path(target.index_path).name == f"search-v2-learned-v{version}"

    report = Follower(follower_b, on_switch_built=while_building).run_once()

    assert seen_while_building[0][:2] == (BASE_SPACE, "search-v2")
    assert report.switched["version"] == version and report.switched["passages_embedded"] > 0
    encoder, folder, found = served(web_b)
    assert (encoder, folder) == (learned_space, f"search-v2-learned-v{version}")
    assert thread_id in found
    with node_a.app_context():  # every post now has vectors of the new version stored
        assert db.session.scalar(select(func.count()).where(
            PostEmbedding.space == learned_space)) == len(list(indexing.all_documents()))
    # Node A serves the old version until its own follower has built the new one.
    assert served(node_a)[0] == BASE_SPACE
    Follower(node_a).run_once()
    assert served(node_a)[0] == learned_space

    # A question asked after the switch reaches the new index through the follower.
    later = ask(node_a, "lan_node_a", "Cách dùng Gemini tóm tắt sách dài")
    Follower(follower_b).run_once()
    assert later in served(web_b, "Gemini tóm tắt sách")[2]


def test_moderation_keeps_the_base_encoder_across_a_switch(shared_database, monkeypatch):  # noqa: F811
    node, _url = shared_database
    node_a = node("node-a")
    ask(node_a, "lan_node_a", "Dùng Canva AI thiết kế thiệp mời đám cưới")
    Follower(node_a).run_once()
    publish_version(node_a)
    Follower(node_a).run_once()
    monkeypatch.setattr(screening, "uses_embeddings", lambda _config: True)
    with node_a.app_context():
        learned = indexing.search_engine().encoder
        assert learned.name.startswith("fake-ngrams-learned-v")
        base = model_versions.base_encoder(node_a)
        assert base.name == BASE_SPACE  # what the classifier was trained on
        before = (base.queries_encoded, learned.queries_encoded)
        screening.embedding_for(node_a).encode(["bình luận cần kiểm tra"])
        assert (base.queries_encoded, learned.queries_encoded) == (before[0] + 1, before[1])


def test_a_node_without_the_versions_files_keeps_serving_its_model(shared_database, caplog):  # noqa: F811
    node, _url = shared_database
    node_a = node("node-a")
    node_a.config["SEARCH_ENCODER"] = "onnx"  # a real encoder: the version's folder is needed
    node_a.config["SEARCH_MODEL"] = "/nonexistent"
    with node_a.app_context():
        db.session.add(SearchModelVersion(status="active", space="onnx:x", pairs=1, held_out=1))
        db.session.commit()
        Path(node_a.config["SEARCH_INDEX_PATH"]).mkdir(parents=True)
        assert model_versions.follow_active_version(node_a) is None
    assert model_versions.node_model(node_a).version is None
    assert "cannot load it" in caplog.text


def test_publishing_removes_the_vectors_and_files_of_versions_before_the_last(
        shared_database):  # noqa: F811
    node, _url = shared_database
    node_a = node("node-a")
    ask(node_a, "lan_node_a", "Dùng Canva AI thiết kế thiệp mời đám cưới")
    Follower(node_a).run_once()
    first = publish_version(node_a)
    Follower(node_a).run_once()
    model_versions.version_folder(node_a.config, first).mkdir(parents=True)
    second = publish_version(node_a)
    Follower(node_a).run_once()

    def stored(version):
        with node_a.app_context():
            return db.session.scalar(select(func.count()).where(
                PostEmbedding.space == f"fake-ngrams-learned-v{version}-256"))

    assert stored(first) > 0 and stored(second) > 0  # nodes may still serve the first
    publish_version(node_a)
    assert stored(first) == 0 and stored(second) > 0
    assert not model_versions.version_folder(node_a.config, first).exists()
    Follower(node_a).run_once()
    learned = sorted(p.name for p in Path(node_a.config["SEARCH_INDEX_PATH"]).parent.glob(
        "search-v2-learned-v*"))
    assert learned == [f"search-v2-learned-v{second}", f"search-v2-learned-v{second + 1}"]


def test_a_new_node_builds_the_active_versions_index_directly(shared_database):  # noqa: F811
    node, _url = shared_database
    node_a = node("node-a")
    thread_id = ask(node_a, "lan_node_a", "Dùng Canva AI thiết kế thiệp mời đám cưới")
    Follower(node_a).run_once()
    version = publish_version(node_a)
    node_c = node("node-c")
    report = Follower(node_c).run_once()
    assert report.rebuilt is None and report.switched["version"] == version
    encoder, folder, found = served(node_c)
    assert (encoder, folder) == (f"fake-ngrams-learned-v{version}-256",
                                 f"search-v2-learned-v{version}")
    assert thread_id in found
