"""Indexes the QA review list needs on the ACD's history: recordings by time (the list is a time window,
newest first), surveys by call (each listed call shows its caller's score) and by time (scores per
period). Without them the list took over a second on 20,000 recorded calls."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0231_qa_indexes")
def qa_indexes(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE INDEX IF NOT EXISTS qa_acd_recordings_started ON acd_recordings(started_at);
        CREATE INDEX IF NOT EXISTS qa_acd_surveys_call ON acd_surveys(call_id);
        CREATE INDEX IF NOT EXISTS qa_acd_surveys_at ON acd_surveys(at);
        """
    )
