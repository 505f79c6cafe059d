"""ACD supervisor operations and the ACD's own follow-ups.

- ``acd_agent_events.by_user``: who caused a state change when it was not the agent or the ACD itself
  (a supervisor forcing an agent to ready, pause or sign-out).
- ``acd_agents.home_grp``: the agent's own group while a supervisor has put them in the expert seat (the
  expert group); NULL when they are not in the seat by assignment.
- ``acd_waiting.divert`` / ``divert_by``: an instruction for the handler holding the caller, noticed at its
  next poll (``voicemail``: a supervisor sent the caller to voicemail).
- ``acd_waiting.cb_attempts`` / ``cb_next_at``: call-back attempts made and when the next one may be made.
- ``acd_actions``: append-only log of supervisor operations (force, expert seat, move, voicemail) and of
  the ACD's own corrective actions (a lost handler's agent released, a call back's outcome, a transfer).
"""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0152_acd_ops")
def acd_ops(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        ALTER TABLE acd_agent_events ADD COLUMN by_user TEXT NOT NULL DEFAULT '';
        ALTER TABLE acd_agents ADD COLUMN home_grp TEXT;
        ALTER TABLE acd_waiting ADD COLUMN divert TEXT;
        ALTER TABLE acd_waiting ADD COLUMN divert_by TEXT;
        ALTER TABLE acd_waiting ADD COLUMN cb_attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE acd_waiting ADD COLUMN cb_next_at TEXT;

        -- Append-only.
        CREATE TABLE acd_actions (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            by_user TEXT NOT NULL DEFAULT '',     -- '' : the ACD itself
            action TEXT NOT NULL,                 -- force_ready | force_pause | force_logout | expert_on | expert_off
                                                  -- | move | voicemail | release | callback | transfer | dial
            agent TEXT,
            waiting_id INTEGER,
            call_id TEXT NOT NULL DEFAULT '',
            queue TEXT NOT NULL DEFAULT '',
            outcome TEXT NOT NULL DEFAULT 'ok',
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX acd_actions_at ON acd_actions(at);
        CREATE INDEX acd_actions_agent ON acd_actions(agent, id);
        """
    )
