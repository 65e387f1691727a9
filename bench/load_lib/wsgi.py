"""The forum for gunicorn under load: `gunicorn -c gunicorn.conf.py --pythonpath bench
load_lib.wsgi:app`. The production factory and environment, plus a setting the environment
cannot give (forum/config.py does not read it): the encoder the bench index was built with."""

import os

from forum import create_app

overrides = {}
if os.environ.get("BENCH_SEARCH_ENCODER"):
    overrides["SEARCH_ENCODER"] = os.environ["BENCH_SEARCH_ENCODER"]

app = create_app(overrides)
