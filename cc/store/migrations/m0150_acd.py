"""The ACD: agents (live state + heartbeat, skills, append-only state events), queue definitions, waiting
calls (live rows, deleted when the caller leaves), and the history: every exit from a queue with its
reason, call recordings and survey scores."""

from __future__ import annotations

import sqlite_utils

from cc.store.migrations import MIGRATIONS


@MIGRATIONS(name="0150_acd")
def acd(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- One row per queue (one per service); the definition is the checked plain form (JSON).
        CREATE TABLE acd_queues (
            name TEXT PRIMARY KEY,
            definition TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            loaded_at TEXT NOT NULL
        );

        -- Live agent state: small, updated in place; every change also goes to acd_agent_events.
        CREATE TABLE acd_agents (
            user TEXT PRIMARY KEY REFERENCES users(name),
            dial TEXT NOT NULL DEFAULT '',          -- PJSIP/1001, Local/..., PJSIP/138...@trunk
            grp TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL DEFAULT 'offline'
                CHECK (state IN ('offline', 'ready', 'ringing', 'on_call', 'wrap_up', 'paused', 'away')),
            reason TEXT NOT NULL DEFAULT '',        -- pause reason code
            state_since TEXT NOT NULL,
            heartbeat_at TEXT,                      -- the agent console's last heartbeat
            idle_since TEXT,                        -- last call ended (or log-in): longest-idle routing
            wrap_until TEXT,                        -- wrap_up ends (then ready)
            waiting_id INTEGER,                     -- the waiting call offered to / talking with this agent
            updated_at TEXT NOT NULL
        );
        CREATE INDEX acd_agents_state ON acd_agents(state);

        CREATE TABLE acd_agent_skills (
            user TEXT NOT NULL REFERENCES acd_agents(user),
            service TEXT NOT NULL,
            level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 10),
            PRIMARY KEY (user, service)
        );

        -- Append-only.
        CREATE TABLE acd_agent_events (
            id INTEGER PRIMARY KEY,
            user TEXT NOT NULL,
            at TEXT NOT NULL,
            state TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            waiting_id INTEGER,
            call_id TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX acd_agent_events_user ON acd_agent_events(user, id);

        -- Live: a caller in a queue (waiting, being rung through to an agent, talking, or waiting for a
        -- call back with their place kept). Deleted when the caller leaves; acd_exits keeps the history.
        CREATE TABLE acd_waiting (
            id INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused: a handler may still hold a gone id
            call_id TEXT NOT NULL,
            queue TEXT NOT NULL,
            caller TEXT NOT NULL DEFAULT '',
            vip INTEGER NOT NULL DEFAULT 0,
            priority INTEGER NOT NULL DEFAULT 0,
            entered_at TEXT NOT NULL,               -- kept when the caller goes back to the head of the line
            status TEXT NOT NULL DEFAULT 'waiting'
                CHECK (status IN ('waiting', 'ringing', 'connected', 'callback')),
            agent TEXT,
            tier TEXT,                              -- primary | backup
            offered_at TEXT,
            answered_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0     -- agents rung without an answer
        );
        CREATE INDEX acd_waiting_status ON acd_waiting(status, queue);
        CREATE INDEX acd_waiting_call ON acd_waiting(call_id);

        -- Append-only: every exit from a queue with its reason.
        CREATE TABLE acd_exits (
            id INTEGER PRIMARY KEY,
            waiting_id INTEGER,
            call_id TEXT NOT NULL,
            queue TEXT NOT NULL,
            caller TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL CHECK (reason IN ('answered', 'abandoned', 'timeout', 'overflowed', 'voicemail',
                                                   'callback', 'no_agents', 'blocked', 'error')),
            agent TEXT,
            waited_ms INTEGER NOT NULL DEFAULT 0,
            position INTEGER,                        -- callers ahead when leaving
            at TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX acd_exits_queue ON acd_exits(queue, at);
        CREATE INDEX acd_exits_call ON acd_exits(call_id);

        CREATE TABLE acd_recordings (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL,
            agent TEXT NOT NULL,
            queue TEXT NOT NULL,
            file TEXT NOT NULL,                      -- as Asterisk wrote it (with extension)
            started_at TEXT NOT NULL
        );
        CREATE INDEX acd_recordings_call ON acd_recordings(call_id);

        CREATE TABLE acd_surveys (
            id INTEGER PRIMARY KEY,
            call_id TEXT NOT NULL,
            agent TEXT NOT NULL,
            queue TEXT NOT NULL,
            score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
            at TEXT NOT NULL
        );
        CREATE INDEX acd_surveys_agent ON acd_surveys(agent, at);
        """
    )
