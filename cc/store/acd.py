"""SQLite side of the ACD: agents and their skills and events, queue definitions, waiting calls, exits,
recordings and surveys.

On the raw ``sqlite3`` connection (like ``cc.store.calls``): the AGI server holds many callers, each
thread with its own connection, and the classic-AGI process must not import sqlite-utils. Single
statements autocommit (WAL + busy timeout); read-then-write goes through ``transaction()`` (BEGIN
IMMEDIATE). The claim of an agent for a call is two conditional UPDATEs in one such transaction.
"""

from __future__ import annotations

from typing import Any

from cc.store.db import ConnectionStore


class AcdStore(ConnectionStore):
    def close(self) -> None:
        self.conn.close()


    # -- users -----------------------------------------------------------------------------------------

    def user(self, name: str) -> dict | None:
        return self._one("SELECT name, display_name, role, disabled FROM users WHERE name = ?", (name,))

    # -- agents ----------------------------------------------------------------------------------------

    def upsert_agent(self, user: str, dial: str, group: str, skills: dict[str, int], now: str) -> None:
        self.conn.execute(
            "INSERT INTO acd_agents (user, dial, grp, state_since, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(user) DO UPDATE SET dial = excluded.dial, grp = excluded.grp, updated_at = excluded.updated_at",
            (user, dial, group, now, now),
        )
        self.conn.execute("DELETE FROM acd_agent_skills WHERE user = ?", (user,))
        self.conn.executemany(
            "INSERT INTO acd_agent_skills (user, service, level) VALUES (?, ?, ?)",
            [(user, service, level) for service, level in skills.items()],
        )

    def _with_skills(self, agents: list[dict], states: tuple[str, ...] | None = None) -> list[dict]:
        if not agents:
            return agents
        skills: dict[str, dict[str, int]] = {}
        sql = "SELECT user, service, level FROM acd_agent_skills"
        if states:
            sql += " WHERE user IN (SELECT user FROM acd_agents WHERE state IN (" + ",".join("?" * len(states)) + "))"
        for user, service, level in self.conn.execute(sql, states or ()):
            skills.setdefault(user, {})[service] = level
        for agent in agents:
            agent["skills"] = skills.get(agent["user"], {})
        return agents

    def agent(self, user: str) -> dict | None:
        found = self._with_skills(self._rows("SELECT * FROM acd_agents WHERE user = ?", (user,)))
        return found[0] if found else None

    def agents(self, states: tuple[str, ...] | None = None) -> list[dict]:
        if states:
            marks = ",".join("?" * len(states))
            return self._with_skills(self._rows(f"SELECT * FROM acd_agents WHERE state IN ({marks}) ORDER BY user", states), states)
        return self._with_skills(self._rows("SELECT * FROM acd_agents ORDER BY user"))

    def set_state(
        self, user: str, state: str, now: str, *, reason: str = "", expect: tuple[str, ...] | None = None,
        waiting_id: int | None = None, call_id: str = "", extra: dict | None = None, by: str = "",
    ) -> bool:
        """Move an agent to ``state`` (only from one of ``expect`` when given) and log the event (``by``:
        who forced it, when not the agent or the ACD itself)."""
        sets = {"state": state, "reason": reason, "state_since": now, "updated_at": now, "waiting_id": waiting_id}
        sets.update(extra or {})
        sql = "UPDATE acd_agents SET " + ", ".join(f"{k} = :{k}" for k in sets) + " WHERE user = :_user"
        params = {**sets, "_user": user}
        if expect:
            sql += " AND state IN (" + ",".join(f":_s{i}" for i in range(len(expect))) + ")"
            params.update({f"_s{i}": s for i, s in enumerate(expect)})
        if self.conn.execute(sql, params).rowcount != 1:
            return False
        self.conn.execute(
            "INSERT INTO acd_agent_events (user, at, state, reason, waiting_id, call_id, by_user) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user, now, state, reason, waiting_id, call_id, by),
        )
        return True

    def current_call_id(self, user: str) -> str:
        """The call the agent's latest move to on_call was for (a click-to-dial call's id), or ''."""
        row = self.conn.execute("SELECT call_id FROM acd_agent_events WHERE user = ? AND state = 'on_call'"
                                " ORDER BY id DESC LIMIT 1", (user,)).fetchone()
        return (row[0] or "") if row else ""

    def set_group(self, user: str, group: str, home_group: str | None, now: str) -> None:
        self.conn.execute("UPDATE acd_agents SET grp = ?, home_grp = ?, updated_at = ? WHERE user = ?",
                          (group, home_group, now, user))

    def heartbeat(self, user: str, now: str) -> bool:
        return self.conn.execute("UPDATE acd_agents SET heartbeat_at = ? WHERE user = ?", (now, user)).rowcount == 1

    def due_wrap_ups(self, now: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT user FROM acd_agents WHERE state = 'wrap_up' AND wrap_until <= ?", (now,))]

    def agent_events(self, user: str, limit: int = 50) -> list[dict]:
        return self._rows("SELECT * FROM acd_agent_events WHERE user = ? ORDER BY id DESC LIMIT ?", (user, limit))

    # -- queues ----------------------------------------------------------------------------------------

    def save_queues(self, definitions: dict[str, str], source: str, now: str, replace: bool) -> None:
        if replace:
            self.conn.execute("DELETE FROM acd_queues")
        self.conn.executemany(
            "INSERT INTO acd_queues (name, definition, source, loaded_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET definition = excluded.definition, source = excluded.source,"
            " loaded_at = excluded.loaded_at",
            [(name, text, source, now) for name, text in definitions.items()],
        )

    def queue_rows(self) -> list[dict]:
        return self._rows("SELECT * FROM acd_queues ORDER BY name")

    def queues_version(self) -> tuple:
        return tuple(self.conn.execute("SELECT count(*), max(loaded_at) FROM acd_queues").fetchone())

    # -- waiting calls ---------------------------------------------------------------------------------

    def add_waiting(self, call_id: str, queue: str, caller: str, vip: bool, priority: int, now: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO acd_waiting (call_id, queue, caller, vip, priority, entered_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (call_id, queue, caller, int(vip), priority, now, now),
        )
        return int(cur.lastrowid)

    def waiting(self, waiting_id: int) -> dict | None:
        return self._one("SELECT * FROM acd_waiting WHERE id = ?", (waiting_id,))

    def waiting_rows(self, statuses: tuple[str, ...] = ("waiting",), queue: str | None = None) -> list[dict]:
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT * FROM acd_waiting WHERE status IN ({marks})"
        params: tuple = statuses
        if queue:
            sql += " AND queue = ?"
            params += (queue,)
        return self._rows(sql + " ORDER BY priority DESC, entered_at, id", params)

    # Call backs whose turn may come: no agent claimed yet, not being called, the retry time reached.
    _DUE_CALLBACK = "(status = 'callback' AND agent IS NULL AND divert IS NULL AND (cb_next_at IS NULL OR cb_next_at <= ?))"

    def line(self, now: str = "", callbacks: bool = False) -> list[tuple]:
        """(id, queue, entered_at, priority) of every call waiting for an agent (the dispatcher's input);
        with ``callbacks`` also the call backs that are due (the ACD makes them)."""
        if callbacks:
            return self.conn.execute(
                "SELECT id, queue, entered_at, priority FROM acd_waiting WHERE (status = 'waiting' AND divert IS NULL)"
                f" OR {self._DUE_CALLBACK}", (now,)).fetchall()
        return self.conn.execute(
            "SELECT id, queue, entered_at, priority FROM acd_waiting WHERE status = 'waiting' AND divert IS NULL").fetchall()

    def count_waiting(self, queue: str) -> int:
        return self.conn.execute("SELECT count(*) FROM acd_waiting WHERE queue = ?", (queue,)).fetchone()[0]

    def anything_to_dispatch(self, now: str, callbacks: bool = False) -> bool:
        """Cheap check before taking the write lock: a waiting call (or a due call back) and a ready agent
        both exist, or a wrap-up has ended."""
        due = f" OR {self._DUE_CALLBACK}" if callbacks else ""
        row = self.conn.execute(
            f"SELECT (EXISTS (SELECT 1 FROM acd_waiting WHERE status = 'waiting'{due})"
            " AND EXISTS (SELECT 1 FROM acd_agents WHERE state = 'ready'))"
            " OR EXISTS (SELECT 1 FROM acd_agents WHERE state = 'wrap_up' AND wrap_until <= ?)",
            ((now,) if callbacks else ()) + (now,),
        ).fetchone()
        return bool(row[0])

    def claim(self, waiting_id: int, agent: str, tier: str, now: str) -> bool:
        """Give ``agent`` the call: two conditional UPDATEs; the caller rolls back if either misses."""
        took_agent = self.conn.execute(
            "UPDATE acd_agents SET state = 'ringing', reason = '', state_since = ?, updated_at = ?, waiting_id = ?"
            " WHERE user = ? AND state = 'ready'",
            (now, now, waiting_id, agent),
        ).rowcount
        if took_agent != 1:
            return False
        took_call = self.conn.execute(  # a call back keeps its status: the agent is claimed for it
            "UPDATE acd_waiting SET status = CASE status WHEN 'waiting' THEN 'ringing' ELSE status END, agent = ?,"
            " tier = ?, offered_at = ? WHERE id = ? AND (status = 'waiting' OR (status = 'callback' AND agent IS NULL))",
            (agent, tier, now, waiting_id),
        ).rowcount
        if took_call != 1:
            return False
        self.conn.execute(
            "INSERT INTO acd_agent_events (user, at, state, reason, waiting_id, call_id)"
            " SELECT ?, ?, 'ringing', ?, id, call_id FROM acd_waiting WHERE id = ?",
            (agent, now, tier, waiting_id),
        )
        return True

    def update_waiting(self, waiting_id: int, expect: str | None = None, **fields: Any) -> bool:
        sql = "UPDATE acd_waiting SET " + ", ".join(f"{k} = :{k}" for k in fields) + " WHERE id = :_id"
        params = {**fields, "_id": waiting_id}
        if expect:
            sql += " AND status = :_expect"
            params["_expect"] = expect
        return self.conn.execute(sql, params).rowcount == 1

    def touch(self, waiting_id: int, now: str) -> None:
        self.conn.execute("UPDATE acd_waiting SET seen_at = ? WHERE id = ?", (now, waiting_id))

    # Agents ringing or on a call whose waiting call no longer exists; an outbound (click-to-dial) call has
    # no waiting call: it counts only once it is older than ``outbound_before`` (its end was never reported).
    _ORPHANS = ("FROM acd_agents WHERE state IN ('ringing', 'on_call')"
                " AND (waiting_id IS NULL OR waiting_id NOT IN (SELECT id FROM acd_waiting))"
                " AND NOT (state = 'on_call' AND reason = 'outbound' AND state_since >= ?)")

    def anything_gone(self, seen_before: str, offered_before: str, outbound_before: str = "") -> bool:
        row = self.conn.execute(
            "SELECT EXISTS (SELECT 1 FROM acd_waiting WHERE status IN ('waiting', 'connected') AND seen_at < ?)"
            " OR EXISTS (SELECT 1 FROM acd_waiting WHERE status = 'ringing' AND offered_at < ?)"
            f" OR EXISTS (SELECT 1 {self._ORPHANS})",
            (seen_before, offered_before, outbound_before),
        ).fetchone()
        return bool(row[0])

    def gone_rows(self, seen_before: str, offered_before: str) -> list[dict]:
        """Waiting and connected rows whose handler shows no sign of life, and ringing rows rung for too long."""
        return self._rows(
            "SELECT * FROM acd_waiting WHERE (status IN ('waiting', 'connected') AND seen_at < ?)"
            " OR (status = 'ringing' AND offered_at < ?)",
            (seen_before, offered_before),
        )

    def orphan_agents(self, outbound_before: str = "") -> list[str]:
        return [r[0] for r in self.conn.execute(f"SELECT user {self._ORPHANS}", (outbound_before,))]

    def waiting_by_call(self, call_id: str, statuses: tuple[str, ...]) -> dict | None:
        marks = ",".join("?" * len(statuses))
        return self._one(f"SELECT * FROM acd_waiting WHERE call_id = ? AND status IN ({marks}) ORDER BY id DESC LIMIT 1",
                         (call_id, *statuses))

    def agent_on(self, waiting_id: int) -> str | None:
        row = self.conn.execute("SELECT user FROM acd_agents WHERE waiting_id = ?", (waiting_id,)).fetchone()
        return row[0] if row else None

    def take_callbacks(self, now: str) -> list[dict]:
        """Call backs an agent was claimed for and nobody is calling yet: now being called (one more
        attempt). Call inside ``transaction()``."""
        rows = self._rows("SELECT w.*, a.dial AS agent_dial FROM acd_waiting w JOIN acd_agents a ON a.user = w.agent"
                          " WHERE w.status = 'callback' AND w.divert IS NULL AND a.state = 'ringing' AND a.waiting_id = w.id"
                          " ORDER BY w.offered_at, w.id")
        for row in rows:
            self.conn.execute("UPDATE acd_waiting SET divert = 'calling', cb_attempts = cb_attempts + 1, seen_at = ?"
                              " WHERE id = ?", (now, row["id"]))
            row["cb_attempts"] += 1
        return rows

    def stale_callbacks(self, claimed_before: str, seen_before: str) -> list[dict]:
        """Call backs claimed but not taken by a caller-back in time, or being called by one that died."""
        return self._rows("SELECT * FROM acd_waiting WHERE status = 'callback' AND agent IS NOT NULL"
                          " AND ((divert IS NULL AND offered_at < ?) OR (divert = 'calling' AND seen_at < ?))",
                          (claimed_before, seen_before))

    def delete_waiting(self, waiting_id: int) -> None:
        self.conn.execute("DELETE FROM acd_waiting WHERE id = ?", (waiting_id,))

    # -- history ---------------------------------------------------------------------------------------

    def add_action(self, row: dict) -> int:
        """One row of the ACD's action log (supervisor operations, releases, call backs, transfers)."""
        row = {"by_user": "", "agent": None, "waiting_id": None, "call_id": "", "queue": "", "outcome": "ok",
               "detail": "", **row}
        cur = self.conn.execute(
            "INSERT INTO acd_actions (at, by_user, action, agent, waiting_id, call_id, queue, outcome, detail)"
            " VALUES (:at, :by_user, :action, :agent, :waiting_id, :call_id, :queue, :outcome, :detail)",
            row,
        )
        return int(cur.lastrowid)

    def actions(self, agent: str | None = None, waiting_id: int | None = None, limit: int = 100) -> list[dict]:
        where, params = [], []
        if agent:
            where.append("agent = ?")
            params.append(agent)
        if waiting_id is not None:
            where.append("waiting_id = ?")
            params.append(waiting_id)
        sql = "SELECT * FROM acd_actions" + (" WHERE " + " AND ".join(where) if where else "")
        return self._rows(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))

    def add_agent_event(self, user: str, now: str, state: str, reason: str, waiting_id: int | None, call_id: str) -> None:
        self.conn.execute(
            "INSERT INTO acd_agent_events (user, at, state, reason, waiting_id, call_id) VALUES (?, ?, ?, ?, ?, ?)",
            (user, now, state, reason, waiting_id, call_id),
        )

    def add_exit(self, row: dict) -> int:
        cur = self.conn.execute(
            "INSERT INTO acd_exits (waiting_id, call_id, queue, caller, reason, agent, waited_ms, position, at, detail)"
            " VALUES (:waiting_id, :call_id, :queue, :caller, :reason, :agent, :waited_ms, :position, :at, :detail)",
            row,
        )
        return int(cur.lastrowid)

    def exits(self, call_id: str | None = None, queue: str | None = None, limit: int = 100) -> list[dict]:
        where, params = [], []
        if call_id:
            where.append("call_id = ?")
            params.append(call_id)
        if queue:
            where.append("queue = ?")
            params.append(queue)
        sql = "SELECT * FROM acd_exits" + (" WHERE " + " AND ".join(where) if where else "")
        return self._rows(sql + " ORDER BY id LIMIT ?", (*params, limit))

    def add_recording(self, call_id: str, agent: str, queue: str, file: str, now: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO acd_recordings (call_id, agent, queue, file, started_at) VALUES (?, ?, ?, ?, ?)",
            (call_id, agent, queue, file, now),
        )
        return int(cur.lastrowid)

    def recordings(self, call_id: str) -> list[dict]:
        return self._rows("SELECT * FROM acd_recordings WHERE call_id = ? ORDER BY id", (call_id,))

    def add_survey(self, call_id: str, agent: str, queue: str, score: int, now: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO acd_surveys (call_id, agent, queue, score, at) VALUES (?, ?, ?, ?, ?)",
            (call_id, agent, queue, score, now),
        )
        return int(cur.lastrowid)

    def surveys(self, agent: str | None = None) -> list[dict]:
        if agent:
            return self._rows("SELECT * FROM acd_surveys WHERE agent = ? ORDER BY id", (agent,))
        return self._rows("SELECT * FROM acd_surveys ORDER BY id")
