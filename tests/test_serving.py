"""Served like production: compressed pages, fingerprinted static files cached for a year, and a
first start that is honest about the search index still being built."""

import gzip
import json
import re

from forum import indexing
from forum.extensions import db
from forum.importer import import_lines
from forum.models import Thread

STATIC_RE = re.compile(r'href="(/static/css/site\.css\?v=([0-9a-f]{12}))"')


def test_pages_are_gzipped_for_browsers_that_accept_it(client):
    response = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert "Xứ Trà" in gzip.decompress(response.data).decode()


def test_static_urls_carry_a_content_hash_and_are_cached_for_a_year(client):
    page = client.get("/").get_data(as_text=True)
    url, digest = STATIC_RE.search(page).groups()
    assert re.search(r'src="/static/js/site\.js\?v=[0-9a-f]{12}"', page)
    response = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Encoding"] == "gzip"  # CSS is compressed like pages
    assert b".site-header" in gzip.decompress(response.data)


def test_static_files_without_the_current_hash_are_revalidated(client):
    for url in ("/static/css/site.css", "/static/css/site.css?v=000000000000"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "no-cache"
        again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304


def test_a_changed_file_gets_a_new_url(app, tmp_path):
    from forum import assets

    path = tmp_path / "a.css"
    path.write_text("a{}")
    first = assets.fingerprint(tmp_path, "a.css")
    path.write_text("a{color:red}")
    assert assets.fingerprint(tmp_path, "a.css") != first


def imported_forum(n=2):
    """Threads written straight to the database, as an import without --index does."""
    lines = [
        json.dumps(
            {
                "title": f"Cách dùng Zalo AI để tóm tắt tin nhắn số {i}",
                "body": "Mình muốn Zalo tóm tắt nhóm chat dài, làm thế nào ạ?",
                "tags": ["zalo"],
                "author": "thu_nhap",
            },
            ensure_ascii=False,
        )
        for i in range(n)
    ]
    return import_lines(lines, create_authors=True)


def test_search_says_results_are_being_prepared_while_the_index_is_empty(app, client):
    imported_forum()
    assert not indexing.index_ready()
    page = client.get("/search?q=zalo").get_data(as_text=True)
    assert "đang được chuẩn bị" in page
    assert "Chưa tìm thấy câu hỏi nào phù hợp" not in page
    assert "Đặt câu hỏi mới về điều này" not in page  # no invitation to ask a duplicate
    assert client.get("/api/v1/search?q=zalo").get_json()["index_ready"] is False
    indexing.apply_search_changes()  # what this node's follower does on a first start
    page = client.get("/search?q=zalo").get_data(as_text=True)
    assert "đang được chuẩn bị" not in page and "tóm tắt tin nhắn" in page


def test_a_first_start_is_reported_until_the_follower_has_built_the_index(app, client):
    imported_forum()
    assert not indexing.index_ready()
    assist = client.post(
        "/api/v1/questions/assist", json={"title": "Làm sao viết prompt hay hơn?", "body": ""}
    ).get_json()
    assert assist["index_ready"] is False
    report = indexing.apply_search_changes()
    assert report.rebuilt
    assert indexing.index_ready()
    assert client.get("/api/v1/search?q=zalo").get_json()["index_ready"] is True


def test_an_empty_forum_is_ready_at_once(app):
    assert db.session.query(Thread).count() == 0
    assert indexing.index_ready()


def test_make_run_serves_with_gunicorn_not_the_development_server():
    from forum.config import ROOT

    makefile = (ROOT / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "gunicorn -c gunicorn.conf.py forum.wsgi:app" in run
    assert "$(FLASK) run" not in run  # Flask's development server, with its red warning


def test_a_web_worker_is_warm_before_its_first_request(app, make_thread, member):
    make_thread(member)
    app.extensions.pop("search", None)
    indexing.warm(app)  # gunicorn's post_worker_init
    assert app.extensions["search"].encoder.encode_queries(["x"]).shape[0] == 1
    compiled = {template.name for template in app.jinja_env.cache.values()}
    assert {"base.html", "search.html", "questions/ask.html"} <= compiled


class LoadCountingEncoder:
    """An encoder that says how often its model was loaded."""

    def __init__(self, inner):
        self.inner, self.name, self.loads = inner, inner.name, 0

    def load(self):
        self.loads += 1

    def encode_queries(self, texts):
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts):
        return self.inner.encode_passages(texts)


def test_the_encoder_preloaded_before_the_fork_is_the_one_the_workers_search_with(app):
    app.extensions.pop("search", None)
    encoder = LoadCountingEncoder(indexing.query_encoder(app))
    app.extensions["search_encoder"] = encoder
    assert indexing.preload_encoder(app)  # gunicorn's when_ready, in the master
    indexing.warm(app)  # gunicorn's post_worker_init, in each forked worker
    assert app.extensions["search"].encoder is encoder
    assert encoder.loads == 1


def test_an_encoder_without_a_separate_load_is_not_preloaded(app):
    assert not hasattr(indexing.query_encoder(app), "load")  # the tests' fake encoder
    assert not indexing.preload_encoder(app)


def test_gunicorn_loads_the_encoder_in_the_master_so_workers_share_it():
    from forum.config import ROOT

    config = (ROOT / "gunicorn.conf.py").read_text()
    assert "def when_ready(server)" in config and "indexing.preload_encoder(" in config
    assert 'preload_app = os.environ.get("PRELOAD_APP", "1") == "1"' in config


def test_gunicorn_warms_each_worker_before_it_takes_requests():
    from forum.config import ROOT

    config = (ROOT / "gunicorn.conf.py").read_text()
    assert "def post_worker_init(worker)" in config and "indexing.warm(" in config
