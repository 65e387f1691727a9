"""The forum for gunicorn under load: `gunicorn -c gunicorn.conf.py --pythonpath bench
load_lib.wsgi:app`. The production factory and environment, plus two settings the environment
cannot give (forum/config.py does not read them): the encoder the bench index was built with,
and whether each worker checks the whole index against the database on its first request."""

import os

from forum import create_app

overrides = {}
if os.environ.get("BENCH_SEARCH_ENCODER"):
    overrides["SEARCH_ENCODER"] = os.environ["BENCH_SEARCH_ENCODER"]
if os.environ.get("BENCH_SEARCH_SYNC_ON_START") in ("0", "1"):
    overrides["SEARCH_SYNC_ON_START"] = os.environ["BENCH_SEARCH_SYNC_ON_START"] == "1"

app = create_app(overrides)
