"""QA of recorded calls: scorecards (every loaded version kept), scores (append-only: a re-score is a new
row, the newest per call counts) and the log of recordings played to supervisors' phones."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0230_qa")
def qa(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- Every loaded version of a scorecard; a score names the exact version it used.
        CREATE TABLE qa_cards (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            version INTEGER NOT NULL,
            definition TEXT NOT NULL,            -- the checked plain form (JSON)
            yaml TEXT NOT NULL DEFAULT '',       -- as written
            source TEXT NOT NULL DEFAULT '',
            loaded_at TEXT NOT NULL,
            loaded_by TEXT NOT NULL DEFAULT '',
            UNIQUE (name, version)
        );

        -- Append-only.
        CREATE TABLE qa_scores (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL,
            recording_id INTEGER,
            agent TEXT NOT NULL,
            call_at TEXT NOT NULL,               -- when the scored call (its recording) started
            card_id INTEGER NOT NULL REFERENCES qa_cards(id),
            answers TEXT NOT NULL,               -- JSON {criterion: value}
            total REAL NOT NULL,                 -- weighted, 0-100
            comment TEXT NOT NULL DEFAULT '',
            scorer TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL
        );
        CREATE INDEX qa_scores_call ON qa_scores(call_id, id);
        CREATE INDEX qa_scores_agent ON qa_scores(agent, call_at);
        CREATE INDEX qa_scores_call_at ON qa_scores(call_at);

        -- Append-only: recordings played to a supervisor's phone.
        CREATE TABLE qa_plays (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL,
            recording_id INTEGER,
            actor TEXT NOT NULL DEFAULT '',
            dial TEXT NOT NULL,
            at TEXT NOT NULL,
            outcome TEXT NOT NULL,               -- ok | failed
            detail TEXT NOT NULL DEFAULT ''
        );
        """
    )
