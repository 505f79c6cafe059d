"""The ``cc`` command line. Kept light: heavy modules load only inside the command that needs them."""

from __future__ import annotations

import sys

import typer

from cc import __version__
from cc.commands._common import state


def _new_app() -> typer.Typer:
    root_app = typer.Typer(
        name="cc",
        help="cc: the dairy's telephone ordering call center (IVR, queues, agents, SMS confirmation, orders).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    root_app.callback()(root)
    return root_app


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cc {__version__}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    config: str = typer.Option(None, "--config", envvar="CC_CONFIG", help="YAML config file (see examples/cc.yaml)."),
    db: str = typer.Option(None, "--db", envvar="CC_DB", help="SQLite database file [default: ./cc.db]."),
    user: str = typer.Option(
        None, "--user", envvar="CC_USER", help="Act as this cc user (role checks apply); default: the site administrator."
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    cli = state(ctx)
    cli.config_path, cli.db_path, cli.user = config, db, user


# The whole command tree (for introspection and tests); main() builds a lighter one per invocation.
app = _new_app()
_OPTIONS_WITH_VALUE = ("--config", "--db", "--user")


def _register() -> None:
    """Add every command group to ``app``, once per process."""
    if getattr(app, "_cc_registered", False):
        return
    app._cc_registered = True
    _fill(app, only=None)


def _fill(target_app: typer.Typer, only: str | None, placeholders: bool = False) -> None:
    """Register the groups: the real one for ``only`` (all when ``only`` is None and not ``placeholders``);
    the others as empty stand-ins that carry just their name and help for the listing. Building typer's
    command objects for all 20-odd groups costs more than the rest of a short command."""
    from cc.commands import registry  # noqa: PLC0415

    for name, module, help_text in registry.GROUPS:
        real = name == only or (only is None and not placeholders)
        target_app.add_typer(registry.lazy_group(module) if real else typer.Typer(help=help_text), name=name, help=help_text)
    for name, module, attr, help_text in registry.COMMANDS:
        real = name == only or (only is None and not placeholders)
        target_app.command(name, help=help_text)(registry.load(module, attr) if real else _stand_in)


def _stand_in() -> None:  # pragma: no cover - never invoked: only listed in help
    pass


def _app_for(argv: list[str]) -> typer.Typer:
    """The command tree this invocation needs: the named group for real, the rest as stand-ins."""
    from cc.commands import registry  # noqa: PLC0415

    known = {g[0] for g in registry.GROUPS} | {c[0] for c in registry.COMMANDS}
    command, skip = None, False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            command = arg
            break
    per_call = _new_app()
    if command in known:
        _fill(per_call, only=command, placeholders=True)
    else:  # the listing (`cc`, `cc --help`) or an unknown command: names and help are enough
        _fill(per_call, only=None, placeholders=True)
    return per_call


def main(argv: list[str] | None = None) -> None:
    """Entry point: one place turns every failure into ``Error:``/``Hint:`` and an exit code."""
    from cc.errors import CcError, ExitCode

    try:  # typer >= 0.20 vendors click as typer._click
        from typer._click import exceptions as click_exceptions
    except ImportError:  # pragma: no cover - older typer uses click itself
        from click import exceptions as click_exceptions

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = _app_for(args)(args=args, prog_name="cc", standalone_mode=False)
    except CcError as exc:
        _fail(exc.message, exc.hint, exc.exit_code)
    except click_exceptions.NoArgsIsHelpError as exc:
        sys.stderr.write(exc.format_message() + "\n") if exc.format_message() else None
        sys.exit(ExitCode.USAGE)
    except click_exceptions.UsageError as exc:
        _fail(exc.format_message(), _usage_hint(exc), ExitCode.USAGE)
    except click_exceptions.ClickException as exc:
        _fail(exc.format_message(), None, ExitCode.USAGE)
    except typer.Exit as exc:  # (typer's own Exit and Abort: its vendored click has none)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt, EOFError):
        sys.stderr.write("Interrupted.\n")
        sys.exit(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # the last boundary: one line, never a traceback (CC_DEBUG=1 shows it)
        import os
        import sqlite3

        if os.environ.get("CC_DEBUG"):
            raise
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            _fail("the database stayed locked by another cc process", "try again in a moment; see which daemon holds it", ExitCode.UNREACHABLE)
        if isinstance(exc, sqlite3.DatabaseError):
            _fail(f"database error: {exc}", "check that --db names a cc database (cc init creates or upgrades one)", ExitCode.USAGE)
        _fail(f"unexpected {type(exc).__name__}: {exc}", "run again with CC_DEBUG=1 to see where, and report it", ExitCode.REFUSED)
    if result == ExitCode.INTERRUPTED and isinstance(result, int):  # typer returns Ctrl-C as Exit(130)
        sys.stderr.write("Interrupted.\n")
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(0)


def _usage_hint(exc: Exception) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "cc"
    return f"run '{path} --help' to see what it takes"


def _fail(message: str, hint: str | None, code: int) -> None:
    sys.stderr.write(f"Error: {message}\n")
    if hint:
        sys.stderr.write(f"Hint: {hint}\n")
    sys.exit(int(code))
