"""gunicorn settings for `make serve` (production): every value can come from the environment."""

import os

import gunicorn.http.wsgi

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = os.environ.get("ACCESS_LOG", "-")
# Load the app once in the master and fork: workers share the model's memory pages.
preload_app = os.environ.get("PRELOAD_APP", "1") == "1"
# Workers are recycled after about this many requests (a second line behind the bounded image
# decoding: memory a worker's allocator kept after a peak is given back); the jitter keeps them
# from restarting all at once. A new worker re-opens the index (its models are shared with the
# master, which loaded them). MAX_REQUESTS=0 turns recycling off.
max_requests = int(os.environ.get("MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10

# gunicorn names itself in a Server header on every response and has no setting to drop it:
# its response class reads this module global, so a neutral name replaces it.
gunicorn.http.wsgi.SERVER = "xutra"


def when_ready(server):
    """In the master, after the app is loaded and before the workers fork: load the query
    encoder's tokenizer and model once, so that every worker shares their pages (about 400 MB)
    instead of loading its own copy; then freeze what is allocated so far, so that the
    workers' garbage collector does not write to (and so copy) those shared pages."""
    if not server.cfg.preload_app:
        return
    import gc

    from forum import indexing

    indexing.preload_encoder(server.app.wsgi())
    gc.freeze()


def post_worker_init(worker):
    """Each worker opens the search index (memory-mapped files, shared with the other workers
    through the page cache) and loads the query encoder before it takes a request."""
    from forum import indexing

    indexing.warm(worker.app.wsgi())
