"""``cc ivr``: the IVR menu tree (validate, show, simulate, import, export) and its prompt files."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cc.commands import _common

app = typer.Typer(help="The IVR menu tree and its prompts.", no_args_is_help=True)
prompts_app = typer.Typer(help="Prompt sound files.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")


def _problem_dict(p) -> dict:  # noqa: ANN001
    return {"node": p.node, "line": p.line, "message": p.message, "severity": p.severity}


@app.command("validate")
def validate_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The YAML tree to check."),
    no_prompts: bool = typer.Option(False, "--no-prompts", help="Do not check that prompt sound files exist."),
    json_out: bool = typer.Option(False, "--json", help="Print the problems as JSON."),
) -> None:
    """Check a tree: at most 10 branches per menu, every target exists, no unreachable node, no loop
    without input, every prompt has a sound file. Exit 0 when clean, 2 with the problems listed."""
    from cc.services import ivr as ivr_service
    from cc.services.ivr import TreeInvalid
    from cc.telephony.handlers import settings_from_config

    prompts_dir = None if no_prompts else settings_from_config(_common.config(ctx)).prompts_dir
    try:
        loaded = ivr_service.read_tree_file(file)
        problems = ivr_service.validate(loaded, prompts_dir)
    except TreeInvalid as exc:
        problems = exc.problems
    if json_out:
        _common.print_json({"file": str(file), "ok": not problems, "problems": [_problem_dict(p) for p in problems]})
    else:
        for p in problems:
            sys.stdout.write(f"{file}: {p}\n")
        if not problems:
            sys.stdout.write(f"{file}: OK\n")
    if problems:
        from cc.errors import UsageError

        hint = "fix the nodes named above"
        if prompts_dir is not None and any("no sound file" in p.message for p in problems):
            hint = "'cc ivr prompts build' makes the missing prompt files from their text"
        raise UsageError(f"{file}: {len(problems)} problem(s)", hint)


@app.command("show")
def show_command(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="The tree as JSON (its plain form)."),
) -> None:
    """Show the tree new calls use (the shipped default until one is imported)."""
    from cc.domain import ivr
    from cc.services.ivr import describe
    from cc.telephony.wiring import ivr_service

    row, tree = ivr_service(_common.services(ctx)).current()
    if json_out:
        _common.print_json({"id": row["id"], "source": row["source"], "loaded_at": row["loaded_at"], "tree": ivr.tree_to_dict(tree)})
        return
    sys.stdout.write(f"# tree #{row['id']} from {row['source']} loaded {row['loaded_at']}\n")
    sys.stdout.write("\n".join(describe(tree)) + "\n")


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The YAML tree to load."),
    strict: bool = typer.Option(False, "--strict", help="Refuse the tree while prompt files are missing."),
) -> None:
    """Load a tree into the database after checking it; new calls use it at once (no restart)."""
    from cc.telephony.wiring import ivr_service

    tree_id, remaining = ivr_service(_common.services(ctx)).import_tree(file, check_prompts=strict)
    sys.stdout.write(f"imported {file} as tree #{tree_id}\n")
    for p in remaining:
        _common.info(f"warning: {p}")
    if remaining:
        _common.info("Hint: 'cc ivr prompts build' makes the missing prompt files from their text")


@app.command("export")
def export_command(
    ctx: typer.Context,
    file: Path = typer.Argument(None, help="Write the tree here instead of printing it."),
) -> None:
    """Write out the tree new calls use, as it was imported (YAML)."""
    from cc.errors import UsageError
    from cc.telephony.wiring import ivr_service

    text = ivr_service(_common.services(ctx)).export_yaml()
    if file is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {file}: {exc.strerror or exc}") from None
    _common.info(f"wrote {file}")


@app.command("simulate")
def simulate_command(
    ctx: typer.Context,
    caller: str = typer.Option("13800138000", "--caller", help="The caller's number (classified like a real call)."),
    keys: str = typer.Option(
        None, "--keys", help="Scripted keys, comma-separated (t = timeout, digits then # for a number), e.g. 2,1,*,#."
    ),
    entry: str = typer.Option("inbound", "--entry", help="Entry point (AGI script name), e.g. staff."),
    json_out: bool = typer.Option(False, "--json", help="Print the outcome as JSON at the end."),
) -> None:
    """Walk the tree as a caller would, printing what the caller hears. Keys come from --keys or, without
    it, from the keyboard. Nothing is stored: the call runs against an in-memory database."""
    from cc.clock import SystemClock
    from cc.services.callers import store_lookup
    from cc.services.ivr import SimulatedChannel
    from cc.services.ivr_calls import IvrRuntime, TreeSource
    from cc.store.calls import CallStore
    from cc.store.db import open_db
    from cc.telephony.handlers import settings_from_config
    from cc.telephony.wiring import ivr_service

    services = _common.services(ctx)
    tree_id, tree = ivr_service(services).ensure_tree()
    real = CallStore(services.db)
    memory = CallStore(open_db(":memory:"))
    settings = settings_from_config(services.config)
    runtime = IvrRuntime(
        lambda: memory,
        SystemClock(),
        settings,
        lambda _store, raw: store_lookup(real, raw),
        TreeSource(lambda _store: (tree_id, tree)),
    )

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def ask(what: str) -> str:
        try:
            return input(f"  {what} > ")
        except EOFError:
            from cc.services.ports import CallerHungUp

            raise CallerHungUp("end of input (the caller hangs up)") from None

    scripted = [k for k in keys.split(",")] if keys is not None else None
    channel = SimulatedChannel(tree, caller, scripted, say, ask, settings.prompt_path("").rstrip("/"))
    outcome = runtime.run(channel, entry)
    if json_out:
        _common.print_json({"result": outcome.result, "reason": outcome.reason, "path": outcome.path})
    else:
        say(f"== {outcome.result}: {outcome.reason}")
        say(f"== path: {' > '.join(outcome.path)}")


@app.command("edit")
def edit_command(
    ctx: typer.Context,
    lang: str = typer.Option(None, "--lang", help="Labels in zh_CN or en (default: the configured locale)."),
    light: bool = typer.Option(False, "--light", help="Light colours instead of dark."),
    export_to: str = typer.Option("ivr-tree.yaml", "--export-to", help="Default file for the export key (F9)."),
) -> None:
    """Edit the menu tree in a terminal UI: add, remove, reorder and move branches, edit prompts (and
    rebuild their sound files), simulate a call, then save (a new version: new calls use it at once,
    no restart) and export YAML. A tree with problems is not saved."""
    import os

    from cc.errors import UsageError

    if lang not in (None, "zh_CN", "en"):
        raise UsageError(f"unknown language {lang!r}", "use --lang zh_CN or --lang en")
    if not os.environ.get("TEXTUAL_DRIVER") and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("the IVR editor needs a terminal (this is not one)",
                         "run 'cc ivr edit' in a terminal; without one use 'cc ivr export', edit the YAML, "
                         "'cc ivr validate FILE' and 'cc ivr import FILE'")
    from cc.tui.ivr_editor import make_ivr_editor_app

    services = _common.services(ctx)
    make_ivr_editor_app(services.config, user=services.acting_user, locale=lang, dark=not light,
                        export_path=export_to).run()


@prompts_app.command("build")
def prompts_build_command(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Remake every prompt, recordings included."),
    fmt: str = typer.Option("wav", "--format", help="wav (8 kHz 16-bit mono) or gsm."),
    json_out: bool = typer.Option(False, "--json", help="Print what was done as JSON."),
) -> None:
    """Make the missing prompt files of the current tree from their text (espeak-ng + sox)."""
    from cc.services.ivr import prompt_files
    from cc.telephony import prompts
    from cc.telephony.wiring import ivr_service

    services = _common.services(ctx)
    service = ivr_service(services)
    _, tree = service.ensure_tree()
    have = set(prompt_files(service.prompts_dir))
    done = prompts.build_missing(dict(tree.prompts), service.prompts_dir, have, voice=services.config.ivr.tts_voice, fmt=fmt, force=force)
    if json_out:
        _common.print_json([{"prompt": b.prompt, "file": str(b.file), "action": b.action} for b in done])
        return
    built = [b for b in done if b.action == "built"]
    for b in built:
        sys.stdout.write(f"built {b.file}\n")
    sys.stdout.write(f"{len(built)} built, {len(done) - len(built)} kept, in {service.prompts_dir}\n")


@prompts_app.command("list")
def prompts_list_command(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """The current tree's prompts: id, text and sound file (or missing)."""
    from cc.services.ivr import prompt_files
    from cc.telephony.wiring import ivr_service

    service = ivr_service(_common.services(ctx))
    _, tree = service.ensure_tree()
    files = prompt_files(service.prompts_dir)
    rows = [{"prompt": pid, "text": text, "file": str(files[pid]) if pid in files else None} for pid, text in tree.prompts.items()]
    if json_out:
        _common.print_json(rows)
        return
    _common.print_table(["prompt", "file", "text"], [[r["prompt"], r["file"] or "MISSING", r["text"]] for r in rows])
