"""``cc agent ...`` (agents of the ACD: dial string, skills, group, live state) and ``cc queue ...``
(queue definitions and the callers waiting in them).

A bare ``cc agent`` opens the agent console (cc/tui/agent_app.py).
"""

from __future__ import annotations

import typer

from cc.commands import _common

app = typer.Typer(help="The agent console (bare 'cc agent'); agents: set, login, ready, pause, away, logout, heartbeat, list, events;"
                       " supervisors: force, expert, actions.")
queue_app = typer.Typer(help="ACD queues: import, list, show, priority, move, voicemail, exits, callbacks, callback-run,"
                             " callback-done, prompts.",
                        no_args_is_help=True)


def _acd(ctx: typer.Context):  # noqa: ANN202
    from cc.telephony.acd_wiring import from_services

    return from_services(_common.services(ctx))


@app.callback(invoke_without_command=True)
def console_command(
    ctx: typer.Context,
    user: str = typer.Option(None, "--user", help="Fill in this user name on the sign-in screen."),
    web: bool = typer.Option(False, "--web", help="Serve the console to browsers (textual-serve) instead."),
    host: str = typer.Option("127.0.0.1", "--host", help="With --web: the address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="With --web: the port to listen on."),
    lang: str = typer.Option(None, "--lang", help="zh_CN or en (default: the config's locale)."),
    light: bool = typer.Option(False, "--light", help="Light theme (default dark; ctrl+t switches)."),
) -> None:
    """Open the agent console (sign in, take calls, enter orders). Subcommands manage agents."""
    if ctx.invoked_subcommand is not None:
        return
    from cc.tui import run

    state = _common.state(ctx)
    user = user or state.user
    if web:
        command = run.web_command(config_path=state.config_path, db_path=state.db_path, user=user, locale=lang, light=light)
        run.serve_web(command, host, port)
    else:
        from cc.store.checkpoint import background_checkpoints

        config = _common.config(ctx)
        with background_checkpoints(config.db):  # an order's save never waits for a WAL checkpoint
            run.run_console(config, user=user, locale=lang, light=light)


def _print_agent(view: dict) -> None:
    reason = f" ({view['reason']})" if view["reason"] else ""
    _common.info(f"{view['user']}: {view['state']}{reason}")


@app.command("set")
def set_command(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="The staff user (role agent, expert or supervisor)."),
    dial: str = typer.Option(..., "--dial", help="How to ring the agent: PJSIP/1001, PJSIP/138...@trunk, Local/..."),
    skill: list[str] = typer.Option(..., "--skill", help="SERVICE:LEVEL (level 1-10); repeat for more skills."),
    group: str = typer.Option("", "--group", help="The agent's group (team)."),
    json_out: bool = typer.Option(False, "--json", help="Print the agent as JSON."),
) -> None:
    """Make a user an agent, or change an agent's dial string, skills (replaced) and group."""
    view = _acd(ctx).set_agent(user, dial, skill, group)
    if json_out:
        _common.print_json(view)
    else:
        skills = ", ".join(f"{k}:{v}" for k, v in view["skills"].items())
        _common.info(f"agent {view['user']}: dial {view['dial']}, skills {skills}, group {view['group'] or '-'}")


def _state_command(name: str, help_text: str):  # noqa: ANN202
    def command(ctx: typer.Context, user: str = typer.Argument(..., help="The agent (user name).")) -> None:
        _print_agent(_acd(ctx).change_state(user, name))

    command.__doc__ = help_text
    return command


app.command("login")(_state_command("login", "Log an agent in (ready for calls)."))
app.command("ready")(_state_command("ready", "Make an agent ready for calls (after a pause, away or wrap-up)."))
app.command("away")(_state_command("away", "The agent has left the desk for a while (no calls)."))
app.command("logout")(_state_command("logout", "Log an agent out (offline)."))


@app.command("pause")
def pause_command(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="The agent (user name)."),
    reason: str = typer.Argument(..., help="Reason code: lunch, meeting, training, ..."),
) -> None:
    """Pause an agent with a reason code (no calls until ready)."""
    _print_agent(_acd(ctx).change_state(user, "pause", reason))


@app.command("heartbeat")
def heartbeat_command(ctx: typer.Context, user: str = typer.Argument(..., help="The agent (user name).")) -> None:
    """Record a heartbeat for an agent (what the agent console does every few seconds)."""
    _acd(ctx).heartbeat(user)


@app.command("list")
def list_command(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """Agents with their live state, time in state, heartbeat, skills and dial string."""
    agents = _acd(ctx).agents()
    if json_out:
        _common.print_json(agents)
        return
    rows = []
    for a in agents:
        secs = a["seconds_in_state"]
        rows.append([
            a["user"], a["state"] + (f" ({a['reason']})" if a["reason"] else ""), f"{secs // 60}:{secs % 60:02d}",
            "ok" if a["heartbeat_fresh"] else "stale", ", ".join(f"{k}:{v}" for k, v in a["skills"].items()),
            a["group"], a["dial"],
        ])
    _common.print_table(["agent", "state", "in state", "heartbeat", "skills", "group", "dial"], rows)


@app.command("events")
def events_command(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="The agent (user name)."),
    limit: int = typer.Option(50, "--limit", min=1, max=10000, help="At most this many, newest first."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """An agent's state changes, newest first."""
    events = _acd(ctx).agent_events(user, limit)
    if json_out:
        _common.print_json(events)
        return
    _common.print_table(["at", "state", "reason", "call"], [[e["at"][:19].replace("T", " "), e["state"], e["reason"], e["call_id"]] for e in events])


@app.command("force")
def force_command(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="The agent (user name)."),
    command: str = typer.Argument(..., help="ready, pause or logout (sign-out)."),
    reason: str = typer.Argument("", help="With pause: the reason code (meeting, coaching, ...)."),
) -> None:
    """A supervisor forces an agent to ready, pause or sign-out (run with --user SUPERVISOR; the state
    event names the supervisor). A forced sign-out also clears an agent stuck on a call."""
    _print_agent(_acd(ctx).force_state(user, command, reason))


@app.command("expert")
def expert_command(
    ctx: typer.Context,
    user: str = typer.Argument(..., help="The agent (user name)."),
    off: bool = typer.Option(False, "--off", help="Take the agent out of the expert seat (back to their own group)."),
) -> None:
    """Assign the expert seat: put the agent into the expert group (what transfers and conferences to
    "expert" ring), or take them out with --off."""
    view = _acd(ctx).assign_expert(user, on=not off)
    _common.info(f"{view['user']}: group {view['group'] or '-'}" + (" (expert seat)" if view["expert"] else ""))


@app.command("actions")
def actions_command(
    ctx: typer.Context,
    user: str = typer.Option(None, "--agent", help="Only actions on this agent."),
    limit: int = typer.Option(50, "--limit", min=1, max=10000, help="At most this many, newest first."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """The ACD's action log, newest first: supervisors' forced states, expert seats, moved callers and
    callers sent to voicemail; agents the ACD released; call backs made; transfers."""
    rows = _acd(ctx).actions(agent=user, limit=limit)
    if json_out:
        _common.print_json(rows)
        return
    _common.print_table(["at (UTC)", "by", "action", "agent", "caller id", "queue", "outcome", "detail"],
                        [[r["at"][:19].replace("T", " "), r["by_user"] or "-", r["action"], r["agent"] or "",
                          "" if r["waiting_id"] is None else r["waiting_id"], r["queue"], r["outcome"], r["detail"]]
                         for r in rows])


# --- queues ----------------------------------------------------------------------------------------


@queue_app.command("import")
def queue_import(
    ctx: typer.Context,
    file: str = typer.Argument(..., help="YAML queue file (see cc/data/queues/default.yaml)."),
    merge: bool = typer.Option(False, "--merge", help="Keep queues the file does not name (default: replace all)."),
) -> None:
    """Check and load queue definitions; all or nothing."""
    from cc.telephony.acd_wiring import import_queue_file

    loaded = import_queue_file(_acd(ctx), file, replace=not merge)
    _common.info(f"loaded {len(loaded)} queue(s): {', '.join(q.name for q in loaded)}")


@queue_app.command("list")
def queue_list(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """The queues: service, strategy, timings, and how many callers are in each."""
    status = _acd(ctx).queue_status()
    if json_out:
        _common.print_json([{**s["queue"], "callers": len(s["callers"])} for s in status])
        return
    rows = []
    for s in status:
        q = s["queue"]
        over = q["overflow"]
        rows.append([
            q["name"], q["label"], q["service"], q["strategy"], q["ring_seconds"], q["wrap_up_seconds"],
            f"{over['after_seconds']}s -> {','.join(over['backup_skills']) or '-'}",
            f"{over['max_wait_seconds']}s -> {over['then']}" if over["max_wait_seconds"] else "-",
            q["no_agents"], "yes" if q["recording"] else "", "yes" if q["survey"] else "", len(s["callers"]),
        ])
    _common.print_table(["queue", "label", "skill", "strategy", "ring", "wrap-up", "overflow", "max wait",
                         "no agents", "record", "survey", "callers"], rows)


@queue_app.command("show")
def queue_show(
    ctx: typer.Context,
    name: str = typer.Argument(None, help="One queue (default: all)."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """The callers in a queue, in the order they will be served."""
    status = _acd(ctx).queue_status(name)
    if json_out:
        _common.print_json(status if name is None else status[0])
        return
    for s in status:
        rows = [[c["waiting_id"], c["caller"], ("VIP " if c["vip"] else "") + str(c["priority"]), c["status"],
                 "" if c["ahead"] is None else c["ahead"], f"{c['waited_seconds']:.0f}s", c["agent"] or "", c["call_id"]]
                for c in s["callers"]]
        _common.print_table(["id", "caller", "priority", "status", "ahead", "waited", "agent", "call"], rows,
                            title=f"{s['queue']['name']} {s['queue']['label']}".strip())


@queue_app.command("priority")
def queue_priority(
    ctx: typer.Context,
    waiting_id: int = typer.Argument(..., help="The waiting caller's id (see cc queue show)."),
    priority: int = typer.Argument(..., help="New priority: higher is served first (VIP callers enter at 10)."),
) -> None:
    """Move a waiting caller up or down the line (supervisor)."""
    row = _acd(ctx).set_priority(waiting_id, priority)
    _common.info(f"caller {row['id']} in {row['queue']} now has priority {row['priority']}")


@queue_app.command("move")
def queue_move(
    ctx: typer.Context,
    waiting_id: int = typer.Argument(..., help="The waiting caller's id (see cc queue show)."),
    queue: str = typer.Argument(..., help="The queue to move the caller to."),
) -> None:
    """Move a waiting caller (or a call back) to another queue; they keep their arrival time (supervisor)."""
    row = _acd(ctx).move_waiting(waiting_id, queue)
    _common.info(f"caller {row['id']} moved to {row['queue']}")


@queue_app.command("voicemail")
def queue_voicemail(
    ctx: typer.Context,
    waiting_id: int = typer.Argument(..., help="The waiting caller's id (see cc queue show)."),
) -> None:
    """Send a waiting caller to voicemail (supervisor): the caller hears the voicemail prompt within a
    poll interval and leaves a message."""
    row = _acd(ctx).send_to_voicemail(waiting_id)
    _common.info(f"caller {row['id']} in {row['queue']} goes to voicemail")


@queue_app.command("prompts")
def queue_prompts(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Remake every ACD prompt, recordings included."),
    fmt: str = typer.Option("wav", "--format", help="wav (8 kHz 16-bit mono) or gsm."),
    json_out: bool = typer.Option(False, "--json", help="Print what was done as JSON."),
) -> None:
    """Make the missing sound files of the ACD's prompts (position, wait, survey, ...) from their text,
    into the IVR's prompts folder (espeak-ng + sox; a recording with the same name is kept)."""
    import sys

    from cc.domain.acd import PROMPTS
    from cc.services.ivr import prompt_files
    from cc.telephony import prompts
    from cc.telephony.handlers import settings_from_config

    config = _common.config(ctx)
    folder = settings_from_config(config).prompts_dir
    have = set(prompt_files(folder)) if folder.exists() else set()
    done = prompts.build_missing(dict(PROMPTS), folder, have, voice=config.ivr.tts_voice, fmt=fmt, force=force)
    if json_out:
        _common.print_json([{"prompt": b.prompt, "file": str(b.file), "action": b.action} for b in done])
        return
    built = [b for b in done if b.action == "built"]
    sys.stdout.write(f"{len(built)} built, {len(done) - len(built)} kept, in {folder}\n")


@queue_app.command("exits")
def queue_exits(
    ctx: typer.Context,
    queue: str = typer.Option(None, "--queue", help="Only this queue."),
    call: str = typer.Option(None, "--call", help="Only this call (see cc call list)."),
    limit: int = typer.Option(100, "--limit", min=1, max=100000, help="At most this many, oldest first."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """How callers left the queues: answered (by whom), abandoned, timeout, overflowed, voicemail, call
    back, no agents, blocked; with the wait and the place in line."""
    exits = _acd(ctx).exits(call_id=call, queue=queue, limit=limit)
    if json_out:
        _common.print_json(exits)
        return
    rows = [[e["at"][:19].replace("T", " "), e["queue"], e["caller"], e["reason"], e["agent"] or "",
             f"{e['waited_ms'] / 1000:.1f}s", "" if e["position"] is None else e["position"], e["detail"], e["call_id"]]
            for e in exits]
    _common.print_table(["at (UTC)", "queue", "caller", "reason", "agent", "waited", "ahead", "detail", "call"], rows)


@queue_app.command("callbacks")
def queue_callbacks(
    ctx: typer.Context,
    queue: str = typer.Option(None, "--queue", help="Only this queue."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Callers who asked to be called back, in the order their turn comes (their place is kept), with the
    call back's status: waiting, calling (an agent is claimed or being rung), retry at (after a customer
    did not answer), and the attempts made. Outcomes: cc agent actions."""
    rows = _acd(ctx).callbacks(queue)
    for r in rows:
        r["callback_status"] = ("calling" if r.get("agent") else f"retry at {r['cb_next_at'][:19].replace('T', ' ')}"
                                if r.get("cb_next_at") else "waiting")
    if json_out:
        _common.print_json(rows)
        return
    _common.print_table(["id", "queue", "caller", "priority", "asked at (UTC)", "status", "agent", "attempts", "call"],
                        [[r["id"], r["queue"], r["caller"], r["priority"], r["entered_at"][:19].replace("T", " "),
                          r["callback_status"], r.get("agent") or "", r.get("cb_attempts", 0), r["call_id"]]
                         for r in rows])


@queue_app.command("callback-run")
def queue_callback_run(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Make the call backs due now, wait for their outcomes, and stop."),
    wait: float = typer.Option(120.0, "--wait", min=1, help="With --once: at most this many seconds."),
    json_out: bool = typer.Option(False, "--json", help="Print each outcome as JSON."),
) -> None:
    """Make call backs as their turn comes (acd.callbacks must be true): claim an agent, ring the agent,
    then the customer; retry a customer who does not answer. Runs until Ctrl-C (or --once)."""
    import threading

    from cc.errors import ConfigError
    from cc.store.calls import connect
    from cc.telephony.acd_wiring import callback_runner
    from cc.telephony.ami import client_from_config

    config = _common.config(ctx)
    if not config.acd.callbacks:
        raise ConfigError("acd.callbacks is false: call backs are made by hand ('cc queue callbacks')",
                          "set acd.callbacks: true in the config, so the queues keep the call backs' turn too")

    def show(result: dict) -> None:
        if json_out:
            _common.print_json(result)
        else:
            _common.info(f"call back {result['waiting_id']} to {result.get('caller', '')}: {result['outcome']}"
                         f" ({result['status']}, attempt {result.get('attempts', '')})")

    ami = client_from_config(config.asterisk.ami, events=True, reconnect=not once).connect()
    conn = connect(config.db)
    runner = callback_runner(config, conn, ami, log=show)
    try:
        if once:
            runner.run_once(wait)
        else:
            from cc.store.checkpoint import background_checkpoints

            _common.info("cc queue callback-run: making call backs as their turn comes (Ctrl-C stops)")
            with background_checkpoints(config.db):
                runner.run(threading.Event(), poll_seconds=config.acd.poll_seconds)
    finally:
        runner.close()
        ami.close()
        conn.close()


@queue_app.command("callback-done")
def queue_callback_done(
    ctx: typer.Context,
    waiting_id: int = typer.Argument(..., help="The call back's id (see cc queue callbacks)."),
) -> None:
    """Mark a call back as made: the caller's place in line is released."""
    row = _acd(ctx).callback_done(waiting_id)
    _common.info(f"call back {row['id']} to {row['caller']} done")
