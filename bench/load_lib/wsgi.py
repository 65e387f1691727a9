"""The forum for gunicorn under load: `gunicorn -c gunicorn.conf.py --pythonpath bench
load_lib.wsgi:app`. The production factory and environment, plus settings the environment
cannot give (forum/config.py does not read them): the encoder the bench index was built with,
and BENCH_QUERY_ENCODER=onnx to pay the real int8 model's cost for every query while
comparing the index's fake vectors (load_lib.timing_encoder)."""

import os
from pathlib import Path

from forum import create_app

ROOT = Path(__file__).resolve().parent.parent.parent

overrides = {}
if os.environ.get("BENCH_SEARCH_ENCODER"):
    overrides["SEARCH_ENCODER"] = os.environ["BENCH_SEARCH_ENCODER"]
if os.environ.get("BENCH_QUERY_ENCODER") == "onnx":
    from load_lib import timing_encoder

    timing_encoder.install(ROOT / "instance" / "models")

app = create_app(overrides)
