"""A job for the fault tests: the first run dies like a killed worker; the retry succeeds."""

import os
import signal
from pathlib import Path

from forum.jobs import job


@job
def crash_once(marker):
    marker = Path(marker)
    if not marker.exists():
        marker.write_text("started")
        os.kill(os.getpid(), signal.SIGKILL)
    marker.write_text("done")
