"""Thin typer commands: parse, call one service, print. No SQL, AT commands or AGI here."""
