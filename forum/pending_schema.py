"""Columns this branch needs before their migration exists (forum/models.py and migrations/ are
the lead's). Each is added to its model only while models.py does not define it; once the lead
adds the column and its migration, nothing here applies and this module can go.
"""

from sqlalchemy.orm import mapped_column

from forum.models import Thread, UTCDateTime

# (table, column) added here, i.e. still waiting for their migration.
ADDED = set()

if "suggestions_checked_at" not in Thread.__table__.c:
    # When the suggest_answers job last ran for the thread, whatever it found (even nothing):
    # pages only read what it stored and never search themselves.
    Thread.suggestions_checked_at = mapped_column(UTCDateTime, nullable=True)
    ADDED.add(("threads", "suggestions_checked_at"))
