"""Which command groups ``cc`` has. To add one: write ``cc/commands/<module>.py`` exposing
``app = typer.Typer(...)`` and add a line here. Command modules import only typer and _common at module
level; services and heavy libraries load inside the command functions (start-up time is benchmarked)."""

from __future__ import annotations

import importlib

# (command name, module under cc.commands, help)
GROUPS: list[tuple[str, str, str]] = [
    ("customer", "customer", "Customers: add, show, list, edit, import."),
    ("product", "product", "Products: add (or update) and list."),
    ("stock", "product:stock_app", "The dairy's stock: set, show, import."),
    ("account", "account", "Prepaid accounts: top up, balance, ledger."),
    ("order", "order", "Orders: enter, amend, cancel, confirm, refund, list, export, expire."),
    ("delivery", "order:delivery_app", "Deliveries reported by the dairy."),
    ("dairy", "dairy", "Messages to the dairy: outbox, flush, retry."),
    ("user", "user", "Staff accounts: add, list, passwd, disable, enable."),
    ("asterisk", "asterisk", "Asterisk configuration for the hotline (dialplan to the AGI server)."),
    ("ivr", "ivr", "The IVR menu tree: validate, show, simulate, import, export, prompts."),
    ("agi", "agi", "The AGI server: serve (FastAGI), run (classic AGI)."),
    ("call", "call", "Calls: list, show; live control: dial, transfer, conference, hangup, mute, pickup, relay."),
    ("agent", "agent", "ACD agents: set, login, ready, pause, away, logout, heartbeat, list, events."),
    ("queue", "agent:queue_app", "ACD queues: import, list, show, priority, exits, callbacks, prompts."),
    ("spy", "spy", "Supervisor spy on an agent's call: listen, whisper, barge."),
    ("sms", "sms", "SMS: the gateway daemon (serve), send, outbox, show, inbox, status, retry."),
    ("gsm", "gsm", "GSM modem simulator: simulate, deliver, fault, sent."),
    ("complaint", "complaint", "Complaints: new, list, show, assign, note, escalate, close."),
    ("campaign", "campaign", "Campaigns from cron: add, list, show, preview, run, calls, pause, resume."),
    ("report", "report", "Reports: orders, sms, complaints, campaigns, calls, custom (table, CSV, JSON, XLSX)."),
    ("qa", "qa", "QA of recorded calls: scorecards, calls to review, play to a supervisor's phone, score, scores per agent."),
]

# (command name, module under cc.commands, function name, help) for single commands such as `cc init`.
COMMANDS: list[tuple[str, str, str, str]] = [
    ("init", "init", "init", "Create the database, or bring an existing one up to date. Safe to run again."),
    ("demo", "demo", "demo", "Build a demo call center (cc-demo.db unless --db), run orders through it, then watch it live on the supervisor dashboard."),
    ("supervisor", "supervisor", "supervisor", "The supervisor's live wallboard: queues, agents, charts, alerts; listen, force states, move callers."),
    ("backup", "backup", "backup", "Copy the database to a file while the call center runs (consistent, checked)."),
]


def lazy_group(module: str):  # noqa: ANN201
    """``"order"`` -> cc.commands.order.app; ``"order:delivery_app"`` -> that attribute."""
    name, _, attr = module.partition(":")
    return getattr(importlib.import_module(f"cc.commands.{name}"), attr or "app")


def load(module: str, attr: str):  # noqa: ANN201
    return getattr(importlib.import_module(f"cc.commands.{module}"), attr)
