"""For the feed's fault test: a follower that dies like `kill -9` right after its first index
commit, before it records how far it got.

    python tests/follower_killer.py INSTANCE_PATH DATABASE_URL
"""

import os
import signal
import sys

from forum import create_app
from forum.search_feed import Follower


def main(instance_path, database_url):
    app = create_app(
        {"TESTING": True, "INSTANCE_PATH": instance_path, "SQLALCHEMY_DATABASE_URI": database_url}
    )

    def die(_rows):
        os.kill(os.getpid(), signal.SIGKILL)

    Follower(app, batch=2, on_batch=die).run_once()


if __name__ == "__main__":
    main(*sys.argv[1:3])
