"""SQLite side of QA: scorecard versions, recorded calls to review (acd_recordings with the call, the
queue exit and the caller's survey beside them), append-only scores and plays."""

from __future__ import annotations

import json

from cc.store.db import ConnectionStore

# A page of recorded calls (the newest recording of each), then what the reviewer wants beside each one.
_CALLS = """
WITH page AS (
    SELECT r.* FROM acd_recordings r
    WHERE {where} AND r.id = (SELECT MAX(r2.id) FROM acd_recordings r2 WHERE r2.call_id = r.call_id)
    ORDER BY r.started_at DESC, r.id DESC LIMIT ?
)
SELECT r.id AS recording_id, r.call_id, r.agent, r.queue, r.file, r.started_at,
       COALESCE(NULLIF(c.caller, ''), e.caller, '') AS caller, c.ended_at, e.waited_ms,
       (SELECT s.score FROM acd_surveys s WHERE s.call_id = r.call_id ORDER BY s.id DESC LIMIT 1) AS survey,
       q.id AS score_id, q.total AS qa_total, q.scorer AS qa_scorer, q.at AS qa_at
FROM page r
LEFT JOIN calls c ON c.id = r.call_id
LEFT JOIN acd_exits e ON e.id = (SELECT MAX(x.id) FROM acd_exits x WHERE x.call_id = r.call_id AND x.reason = 'answered')
LEFT JOIN qa_scores q ON q.id = (SELECT MAX(y.id) FROM qa_scores y WHERE y.call_id = r.call_id)
ORDER BY r.started_at DESC, r.id DESC
"""

# Periods as one JSON parameter: [[label, since, until], ...].
_BOUNDS = ("WITH bounds(label, lo, hi) AS MATERIALIZED (SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?)) ")

# The newest score of each call (a re-score replaces the earlier ones).
_LATEST = """
SELECT q.* FROM qa_scores q
WHERE q.id = (SELECT MAX(y.id) FROM qa_scores y WHERE y.call_id = q.call_id)
"""


class QaStore(ConnectionStore):
    # -- who ---------------------------------------------------------------------------------------------
    def user(self, name: str) -> dict | None:
        return self._one("SELECT * FROM users WHERE name = ?", (name,))

    def agent(self, user: str) -> dict | None:
        return self._one("SELECT * FROM acd_agents WHERE user = ?", (user,))

    # -- scorecards --------------------------------------------------------------------------------------
    def card(self, name: str, version: int | None = None) -> dict | None:
        if version is None:
            return self._one("SELECT * FROM qa_cards WHERE name = ? ORDER BY version DESC LIMIT 1", (name,))
        return self._one("SELECT * FROM qa_cards WHERE name = ? AND version = ?", (name, version))

    def newest_card(self) -> dict | None:
        return self._one("SELECT * FROM qa_cards ORDER BY id DESC LIMIT 1")

    def cards(self) -> list[dict]:
        """The newest version of each card, with how many versions and scores it has."""
        return self._rows(
            "SELECT c.*, (SELECT COUNT(*) FROM qa_cards v WHERE v.name = c.name) AS versions,"
            " (SELECT COUNT(*) FROM qa_scores s JOIN qa_cards v ON v.id = s.card_id WHERE v.name = c.name) AS scores"
            " FROM qa_cards c WHERE c.version = (SELECT MAX(version) FROM qa_cards m WHERE m.name = c.name)"
            " ORDER BY c.name"
        )

    def add_card(self, name: str, definition: str, yaml_text: str, source: str, at: str, by: str) -> tuple[int, int]:
        """A new version of ``name``; call inside ``transaction()``. Returns (id, version)."""
        row = self.conn.execute("SELECT COALESCE(MAX(version), 0) FROM qa_cards WHERE name = ?", (name,)).fetchone()
        version = row[0] + 1
        cursor = self.conn.execute(
            "INSERT INTO qa_cards (name, version, definition, yaml, source, loaded_at, loaded_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (name, version, definition, yaml_text, source, at, by),
        )
        return cursor.lastrowid, version

    # -- calls to review ---------------------------------------------------------------------------------
    def calls(self, since: str, until: str, *, agent: str | None = None, unscored: bool = False,
              limit: int = 200) -> list[dict]:
        where = "r.started_at >= ? AND r.started_at < ?"
        params: list = [since, until]
        if agent:
            where += " AND r.agent = ?"
            params.append(agent)
        if unscored:
            where += " AND NOT EXISTS (SELECT 1 FROM qa_scores y WHERE y.call_id = r.call_id)"
        return self._rows(_CALLS.format(where=where), (*params, limit))

    def call(self, call_id: str) -> dict | None:
        return self._one(_CALLS.format(where="r.call_id = ?"), (call_id, 1))

    # -- scores ------------------------------------------------------------------------------------------
    def add_score(self, row: dict) -> int:
        cursor = self.conn.execute(
            "INSERT INTO qa_scores (call_id, recording_id, agent, call_at, card_id, answers, total, comment, scorer, at)"
            " VALUES (:call_id, :recording_id, :agent, :call_at, :card_id, :answers, :total, :comment, :scorer, :at)", row)
        return cursor.lastrowid

    def scores_for_call(self, call_id: str) -> list[dict]:
        return self._rows(
            "SELECT s.*, c.name AS card, c.version AS card_version FROM qa_scores s JOIN qa_cards c ON c.id = s.card_id"
            " WHERE s.call_id = ? ORDER BY s.id", (call_id,))

    def averages(self, since: str, until: str, agent: str | None = None) -> list[dict]:
        sql = ("SELECT agent, AVG(total) AS average, COUNT(*) AS calls FROM (" + _LATEST +
               " AND q.call_at >= ? AND q.call_at < ?" + (" AND q.agent = ?" if agent else "") + ") GROUP BY agent ORDER BY agent")
        return self._rows(sql, (since, until, agent) if agent else (since, until))

    def period_scores(self, bounds: list[tuple[str, str, str]], agent: str | None = None) -> list[dict]:
        """Per period ((label, since, until) in UTC ISO) and agent: the calls scored (each once, with its
        newest score) and the average."""
        sql = (_BOUNDS + "SELECT b.label AS period, q.agent, COUNT(*) AS n, AVG(q.total) AS average"
               " FROM bounds b JOIN qa_scores q ON q.call_at >= b.lo AND q.call_at < b.hi"
               " WHERE q.id = (SELECT MAX(y.id) FROM qa_scores y WHERE y.call_id = q.call_id)"
               + (" AND q.agent = ?" if agent else "") + " GROUP BY b.label, q.agent")
        return self._rows(sql, (json.dumps(bounds), agent) if agent else (json.dumps(bounds),))

    def period_surveys(self, bounds: list[tuple[str, str, str]], agent: str | None = None) -> list[dict]:
        """Per period and agent: the callers' survey answers (count, average 1-5)."""
        sql = (_BOUNDS + "SELECT b.label AS period, s.agent, COUNT(*) AS n, AVG(s.score) AS average"
               " FROM bounds b JOIN acd_surveys s ON s.at >= b.lo AND s.at < b.hi"
               + (" WHERE s.agent = ?" if agent else "") + " GROUP BY b.label, s.agent")
        return self._rows(sql, (json.dumps(bounds), agent) if agent else (json.dumps(bounds),))

    # -- plays -------------------------------------------------------------------------------------------
    def add_play(self, row: dict) -> int:
        """outcome: ok (the phone is ringing), played (followed to the end), failed (detail says why)."""
        cursor = self.conn.execute(
            "INSERT INTO qa_plays (call_id, recording_id, actor, dial, at, outcome, detail)"
            " VALUES (:call_id, :recording_id, :actor, :dial, :at, :outcome, :detail)", row)
        return cursor.lastrowid

    def plays(self, call_id: str) -> list[dict]:
        return self._rows("SELECT * FROM qa_plays WHERE call_id = ? ORDER BY id", (call_id,))
