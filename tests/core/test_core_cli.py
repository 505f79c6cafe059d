"""Every pipeline command through ``cc.cli.main`` (in-process, ``--db`` on a tmp file), the error cases of the
issue's "Bad input" section, ``--help`` on every command, and a few end-to-end runs of the real ``cc``."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import fd_guard
import pytest
from core_helpers import MILK, PHONE, PHONE2, YOGURT, assert_clean_error, query, snapshot

# "today" as cc sees it: the call center's calendar day (config timezone Asia/Shanghai), not the machine's.
LOCAL_TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
TOMORROW = (LOCAL_TODAY + timedelta(days=1)).isoformat()


def ok(result):  # noqa: ANN001, ANN201
    assert result.code == 0, result
    assert "Traceback" not in result.err, result
    return result


def new_order(cli, *args: str) -> str:  # noqa: ANN001
    result = ok(cli("order", "new", "--phone", PHONE, "--item", f"{MILK}:2", *args))
    return result.out.strip()


# --- the whole tree: --help on everything, --version ------------------------------------------------
def _command_paths() -> list[tuple[list[str], object]]:
    import typer.main

    import cc.cli
    from core_helpers import prepare_in_process_cli

    prepare_in_process_cli()
    root = typer.main.get_command(cc.cli.app)
    found: list[tuple[list[str], object]] = []

    def walk(command, path):  # noqa: ANN001, ANN202
        found.append((path, command))
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(root, [])
    return found


def test_help_on_every_command_and_group(cli):
    paths = _command_paths()
    names = {" ".join(p) for p, _ in paths}
    for expected in ("init", "customer add", "customer import", "product add", "stock import", "account ledger",
                     "order new", "order export", "order expire", "delivery import", "dairy flush", "user passwd",
                     "user enable"):
        assert expected in names
    for path, command in paths:
        result = ok(cli(*path, "--help", db=False))
        assert result.out.startswith("Usage: cc"), (path, result)
        if path:
            assert (command.help or command.short_help or "").strip(), f"'cc {' '.join(path)}' has no help text"
            assert (command.help or "").split()[0] in result.out, (path, result.out)


def test_main_registers_the_groups_once_per_process():
    import cc.cli  # (no cli fixture here: the real _register)

    cc.cli._register()
    before = (len(cc.cli.app.registered_groups), len(cc.cli.app.registered_commands))
    cc.cli._register()
    assert (len(cc.cli.app.registered_groups), len(cc.cli.app.registered_commands)) == before


def test_groups_without_a_command_show_help(cli):
    result = cli("order", db=False)
    assert result.code == 2 and "Usage: cc order" in result.out + result.err


def test_version(cli):
    from cc import __version__

    assert ok(cli("--version", db=False)).out.strip() == f"cc {__version__}"


def test_unknown_command_and_option(cli, db_path):
    result = cli("order", "frobnicate")
    assert_clean_error(result, 2)
    result = cli("order", "new", "--phone", PHONE, "--colour", "red")
    assert_clean_error(result, 2)
    assert "No such option" in result.err and "cc order new --help" in result.err
    assert not db_path.exists()  # nothing was even opened


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, EOFError])
def test_interrupted_command_exits_130_without_a_traceback(cli, world, monkeypatch, interruption):
    from cc.services.orders import OrderService

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise interruption()

    monkeypatch.setattr(OrderService, "list", interrupted)
    result = cli("order", "list")
    assert result.code == 130, result
    assert "Interrupted." in result.err and "Traceback" not in result.err


# --- init --------------------------------------------------------------------------------------------
def test_init_is_idempotent(cli, db_path):
    first = ok(cli("init"))
    assert "applied" in first.err and "0001_core" in first.err
    before = snapshot(db_path)
    second = ok(cli("init"))
    assert "up to date" in second.err
    assert snapshot(db_path) == before
    assert query(db_path, "PRAGMA journal_mode")[0]["journal_mode"] == "wal"


def test_init_in_a_missing_folder(cli, tmp_path):
    result = cli("--db", str(tmp_path / "nope" / "cc.db"), "init", db=False)
    assert_clean_error(result, 2)
    assert "does not exist" in result.err
    assert_clean_error(cli("--db", str(tmp_path), "init", db=False), 2)  # a folder
    (tmp_path / "notes.txt").write_text("not a database at all, just some words in a file\n" * 20)
    result = cli("--db", str(tmp_path / "notes.txt"), "customer", "list", db=False)
    assert_clean_error(result, 2)
    assert "file is not a database" in result.err


def test_read_commands_refuse_a_missing_database_instead_of_creating_one(cli, tmp_path):
    missing = tmp_path / "typo.db"
    for argv in (["customer", "list"], ["order", "show", "123456"], ["report", "orders"]):
        result = cli("--db", str(missing), *argv, db=False)
        assert_clean_error(result, 1)
        assert "no database at" in result.err and "cc init" in result.err
    assert not missing.exists()
    ok(cli("--db", str(missing), "customer", "add", "--phone", "13800138000", "--name", "王芳", db=False))
    assert missing.exists()  # a command that writes still creates it


# --- customers ---------------------------------------------------------------------------------------
def test_customer_add_show_list_edit(cli):
    ok(cli("init"))
    added = ok(cli("customer", "add", "--phone", "138 0013 8000", "--name", "张三", "--address", "北京市海淀区",
                   "--zone", "海淀", "--tag", "VIP", "--notes", "早上送"))
    assert added.out == "" and "+8613800138000" in added.err
    shown = json.loads(ok(cli("customer", "show", "13800138000", "--json")).out)
    assert shown["name"] == "张三" and shown["tags"] == ["vip"] and shown["balance"] == "0.00" and shown["orders"] == []
    table = ok(cli("customer", "show", PHONE)).out
    assert "张三" in table and "北京市海淀区" in table
    ok(cli("customer", "edit", PHONE, "--name", "张三丰", "--remove-tag", "vip", "--tag", "blacklist", "--opt-out"))
    shown = json.loads(ok(cli("customer", "show", PHONE, "--json")).out)
    assert shown["name"] == "张三丰" and shown["tags"] == ["blacklist"] and shown["opt_out"] is True
    ok(cli("customer", "add", "--phone", "13900139000", "--name", "李四"))
    listed = json.loads(ok(cli("customer", "list", "--json")).out)
    assert [c["name"] for c in listed] == ["张三丰", "李四"]
    assert [c["name"] for c in json.loads(ok(cli("customer", "list", "--search", "李", "--json")).out)] == ["李四"]
    assert [c["name"] for c in json.loads(ok(cli("customer", "list", "--tag", "blacklist", "--json")).out)] == ["张三丰"]
    assert "李四" in ok(cli("customer", "list")).out


def _write_customers(path, rows, encoding="utf-8"):  # noqa: ANN001, ANN202
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode(encoding))
    return str(path)


def test_customer_import_gb18030(cli, tmp_path):
    ok(cli("init"))
    path = _write_customers(tmp_path / "customers.csv", [
        ["phone", "name", "address", "zone", "tags"],
        ["13800138000", "张三", "北京市海淀区中关村", "海淀", "vip"],
        ["13900139000", "欧阳娜娜", "上海市浦东新区", "浦东", ""],
    ], encoding="gb18030")
    result = ok(cli("customer", "import", path))
    assert "2 added, 0 updated" in result.err
    listed = {c["phone"]: c for c in json.loads(ok(cli("customer", "list", "--json")).out)}
    assert listed[PHONE]["address"] == "北京市海淀区中关村" and listed[PHONE]["tags"] == ["vip"]
    assert listed[PHONE2]["name"] == "欧阳娜娜"
    # UTF-8 with a BOM (Excel's "CSV UTF-8"): existing phones are updated
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffphone,name\r\n13800138000,张三丰\r\n".encode())
    assert "0 added, 1 updated" in ok(cli("customer", "import", str(path))).err
    updated = json.loads(ok(cli("customer", "show", PHONE, "--json")).out)
    # columns the file does not have are left alone
    assert (updated["name"], updated["address"], updated["zone"], updated["tags"]) == ("张三丰", "北京市海淀区中关村", "海淀", ["vip"])


def test_customer_import_with_a_broken_row(cli, db_path, tmp_path):
    ok(cli("init"))
    path = _write_customers(tmp_path / "customers.csv", [
        ["phone", "name"], ["13800138000", "张三"], ["12345", "坏号码"], ["13900139000", "李四"], ["13700137000", ""],
    ])
    before = snapshot(db_path)
    result = cli("customer", "import", path)
    assert_clean_error(result, 2)
    assert "line 3: '12345' is not a valid phone number" in result.err
    assert "line 5: customer name is empty" in result.err
    assert "2 bad row(s); nothing was loaded" in result.err and "--skip-bad" in result.err
    assert snapshot(db_path) == before
    result = ok(cli("customer", "import", path, "--skip-bad"))
    assert "line 3:" in result.err and "line 5:" in result.err and "2 added" in result.err
    assert sorted(c["phone"] for c in json.loads(ok(cli("customer", "list", "--json")).out)) == [PHONE, PHONE2]


def test_customer_import_file_problems(cli, tmp_path):
    ok(cli("init"))
    assert_clean_error(cli("customer", "import", str(tmp_path / "missing.csv")), 2)
    (tmp_path / "empty.csv").write_text("")
    assert_clean_error(cli("customer", "import", str(tmp_path / "empty.csv")), 2)
    (tmp_path / "cols.csv").write_text("telephone,name\n13800138000,x\n")
    result = cli("customer", "import", str(tmp_path / "cols.csv"))
    assert_clean_error(result, 2)
    assert "missing column(s) phone" in result.err


# --- products and stock ------------------------------------------------------------------------------
def test_products_and_stock(cli, db_path, tmp_path):
    ok(cli("init"))
    ok(cli("product", "add", MILK, "--name", "鲜牛奶", "--price", "5", "--unit", "瓶"))
    ok(cli("product", "add", YOGURT, "--name", "酸奶", "--price", "3.50"))
    ok(cli("product", "add", "OLD-1", "--name", "旧产品", "--price", "1.00", "--inactive"))
    products = json.loads(ok(cli("product", "list", "--json")).out)
    assert [(p["sku"], p["name"], p["price"], p["available"]) for p in products] == [
        (MILK, "鲜牛奶", "5.00", 0), (YOGURT, "酸奶", "3.50", 0)]
    assert len(json.loads(ok(cli("product", "list", "--all", "--json")).out)) == 3
    assert "鲜牛奶" in ok(cli("product", "list")).out
    ok(cli("product", "add", MILK, "--name", "鲜牛奶", "--price", "5.50"))  # an update, not a second product
    assert json.loads(ok(cli("product", "list", "--json")).out)[0]["price"] == "5.50"

    assert "100 on hand" in ok(cli("stock", "set", MILK, "100")).err
    shown = json.loads(ok(cli("stock", "show", MILK, "--json")).out)
    assert (shown["quantity"], shown["reserved"], shown["available"]) == (100, 0, 100)
    assert len(json.loads(ok(cli("stock", "show", "--json")).out)) == 3
    assert "鲜牛奶" in ok(cli("stock", "show")).out

    good = tmp_path / "stock.csv"
    good.write_text("sku,quantity\nMILK-1L,80\nYOG-200,40\n", encoding="utf-8")
    assert "2 product(s) updated" in ok(cli("stock", "import", str(good))).err
    bad = tmp_path / "stock-bad.csv"
    bad.write_text("sku,quantity\nMILK-1L,70\nNOPE,5\nYOG-200,lots\n", encoding="utf-8")
    before = snapshot(db_path)
    result = cli("stock", "import", str(bad))
    assert_clean_error(result, 2)
    assert "line 3: unknown SKU 'NOPE'" in result.err and "line 4: quantity 'lots'" in result.err
    assert snapshot(db_path) == before
    assert "1 product(s) updated" in ok(cli("stock", "import", str(bad), "--skip-bad")).err
    assert json.loads(ok(cli("stock", "show", MILK, "--json")).out)["quantity"] == 70


@pytest.mark.parametrize(
    ("argv", "code", "text"),
    [
        (["product", "add", "BAD SKU", "--name", "x", "--price", "1"], 2, "not a valid SKU"),
        (["product", "add", "X1", "--name", "x", "--price", "1.234"], 2, "is not an amount in yuan"),
        (["product", "add", "X1", "--name", "x", "--price", "free"], 2, "is not an amount in yuan"),
        (["product", "add", "X1", "--name", " ", "--price", "1"], 2, "product name is empty"),
        (["stock", "set", "NOPE", "5"], 1, "unknown product SKU 'NOPE'"),
        (["stock", "set", MILK, "many"], 2, "Invalid value for 'quantity'"),
        (["stock", "show", "NOPE"], 1, "unknown product SKU"),
        (["stock", "import", "/no/such/file.csv"], 2, "cannot read"),
    ],
)
def test_catalogue_bad_input(cli, world, db_path, argv, code, text):
    before = snapshot(db_path)
    result = cli(*argv)
    assert_clean_error(result, code)
    assert text in result.err
    assert snapshot(db_path) == before


# --- accounts ----------------------------------------------------------------------------------------
def test_account_topup_show_ledger(cli, world):
    assert "balance 150.00" in ok(cli("account", "topup", "13800138000", "50")).err
    first = ok(cli("account", "topup", PHONE2, "20.50", "--key", "WX-001", "--note", "微信"))
    assert "balance 20.50" in first.err and "already" not in first.err
    replay = ok(cli("account", "topup", PHONE2, "20.50", "--key", "WX-001"))
    assert "balance 20.50 (already recorded)" in replay.err
    conflict = cli("account", "topup", PHONE2, "30", "--key", "WX-001")
    assert_clean_error(conflict, 1)
    shown = json.loads(ok(cli("account", "show", PHONE2, "--json")).out)
    assert shown == {"phone": PHONE2, "name": "李四", "balance": "20.50"}
    assert "20.50" in ok(cli("account", "show", PHONE2)).out
    ledger = json.loads(ok(cli("account", "ledger", PHONE2, "--json")).out)
    assert [(e["kind"], e["amount"], e["note"]) for e in ledger] == [("topup", "20.50", "微信")]
    assert "20.50" in ok(cli("account", "ledger", PHONE2)).out


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["account", "topup", PHONE, "0"], 2),
        (["account", "topup", PHONE, "-5"], 2),
        (["account", "topup", PHONE, "5.555"], 2),
        (["account", "topup", "13700137000", "5"], 1),
        (["account", "topup", "not-a-phone", "5"], 2),
        (["account", "show", "13700137000"], 1),
        (["account", "ledger", "abc"], 2),
    ],
)
def test_account_bad_input(cli, world, db_path, argv, code):
    before = snapshot(db_path)
    assert_clean_error(cli(*argv), code)
    assert snapshot(db_path) == before


# --- orders ------------------------------------------------------------------------------------------
def test_order_new_prints_the_code_alone(cli, world):
    result = ok(cli("order", "new", "--phone", "13800138000", "--item", f"{MILK}:2", "--item", YOGURT,
                    "--deliveries", "3"))
    code = result.out.strip()
    assert result.out == code + "\n" and code.isdigit() and len(code) == 6
    assert "awaiting_confirmation" in result.err and "40.50" in result.err
    shown = json.loads(ok(cli("order", "show", code, "--json")).out)
    assert shown["status"] == "awaiting_confirmation" and shown["total"] == "40.50" and shown["deliveries"] == 3
    assert [(i["sku"], i["quantity"], i["name"]) for i in shown["items"]] == [(MILK, 2, "鲜牛奶"), (YOGURT, 1, "酸奶")]
    assert shown["start_date"] == TOMORROW and shown["customer"] == "张三"
    assert [e["to_status"] for e in shown["events"]] == ["draft", "awaiting_confirmation"]
    table = ok(cli("order", "show", code)).out
    assert code in table and "鲜牛奶x2" in table


def test_order_new_until_start_weekly_draft(cli, world):
    start = (LOCAL_TODAY + timedelta(days=3)).isoformat()
    until = (LOCAL_TODAY + timedelta(days=3 + 14)).isoformat()
    code = new_order(cli, "--start", start, "--until", until, "--frequency", "weekly")
    shown = json.loads(ok(cli("order", "show", code, "--json")).out)
    assert (shown["start_date"], shown["frequency"], shown["deliveries"], shown["end_date"]) == (start, "weekly", 3, until)
    draft = new_order(cli, "--draft")
    assert json.loads(ok(cli("order", "show", draft, "--json")).out)["status"] == "draft"


def test_order_list(cli, world):
    first = new_order(cli)
    second = new_order(cli, "--deliveries", "2")
    ok(cli("order", "cancel", first))
    listed = json.loads(ok(cli("order", "list", "--json")).out)
    assert [o["code"] for o in listed] == [second, first]  # newest first
    waiting = json.loads(ok(cli("order", "list", "--status", "awaiting_confirmation", "--json")).out)
    assert [o["code"] for o in waiting] == [second]
    assert json.loads(ok(cli("order", "list", "--phone", PHONE2, "--json")).out) == []
    assert len(json.loads(ok(cli("order", "list", "--since", LOCAL_TODAY.isoformat(), "--json")).out)) == 2
    assert len(json.loads(ok(cli("order", "list", "--limit", "1", "--json")).out)) == 1
    assert second in ok(cli("order", "list")).out
    assert_clean_error(cli("order", "list", "--status", "shipped"), 2)
    assert_clean_error(cli("order", "list", "--since", "yesterday"), 2)


def test_order_list_since_is_a_local_date(cli, world, db_path):
    from core_helpers import make_services

    from cc.clock import FrozenClock

    early = fd_guard.close_after_test(make_services(db_path, FrozenClock("2026-11-25T23:30:00+00:00")))  # 07:30 in Shanghai
    code = early.orders.new(phone=PHONE, items=[(MILK, 1)]).code
    late = fd_guard.close_after_test(make_services(db_path, FrozenClock("2026-11-25T15:59:00+00:00")))  # 23:59 on the 25th
    before = late.orders.new(phone=PHONE, items=[(MILK, 1)]).code
    listed = [o["code"] for o in json.loads(ok(cli("order", "list", "--since", "2026-11-26", "--json")).out)]
    assert code in listed and before not in listed


def test_order_amend_cancel(cli, world):
    code = new_order(cli, "--deliveries", "2")
    assert json.loads(ok(cli("stock", "show", MILK, "--json")).out)["reserved"] == 4
    result = ok(cli("order", "amend", code, "--item", f"{YOGURT}:1", "--deliveries", "4"))
    assert "total 14.00" in result.err and result.out == ""
    assert json.loads(ok(cli("stock", "show", MILK, "--json")).out)["reserved"] == 0
    assert json.loads(ok(cli("stock", "show", YOGURT, "--json")).out)["reserved"] == 4
    ok(cli("order", "cancel", code, "--reason", "客户改主意"))
    shown = json.loads(ok(cli("order", "show", code, "--json")).out)
    assert shown["status"] == "cancelled" and shown["events"][-1]["reason"] == "客户改主意"
    assert json.loads(ok(cli("stock", "show", YOGURT, "--json")).out)["reserved"] == 0
    assert_clean_error(cli("order", "cancel", code), 1)
    assert_clean_error(cli("order", "amend", code, "--deliveries", "1"), 1)


def test_order_confirm_refund_and_delivery(cli, world, db_path, tmp_path):
    code = new_order(cli, "--deliveries", "3")  # 30.00
    result = ok(cli("order", "confirm", code))
    assert "charged 30.00" in result.err and result.out == ""
    assert (tmp_path / "dairy" / f"{code}-order.json").exists()
    shown = json.loads(ok(cli("order", "show", code, "--json")).out)
    assert shown["status"] == "sent_to_dairy"
    assert json.loads(ok(cli("account", "show", PHONE, "--json")).out)["balance"] == "70.00"

    second = cli("order", "confirm", code)
    assert_clean_error(second, 1)
    assert f"order {code} is already confirmed" in second.err

    deliveries = tmp_path / "deliveries.csv"
    day = date.fromisoformat(shown["start_date"])
    deliveries.write_text(f"order_code,delivered_on,note\n{code},{day},门口\n", encoding="utf-8")
    assert "1 delivery(ies) recorded" in ok(cli("delivery", "import", str(deliveries))).err
    assert "0 delivery(ies) recorded, 1 already known" in ok(cli("delivery", "import", str(deliveries))).err
    shown = json.loads(ok(cli("order", "show", code, "--json")).out)
    assert shown["status"] == "in_delivery" and shown["deliveries_done"] == 1

    denied = cli("order", "refund", code, user="wang")
    assert_clean_error(denied, 1)
    assert "may not refund orders" in denied.err and "supervisor" in denied.err
    partial = ok(cli("order", "refund", code, "--amount", "2.50", "--reason", "晚到", user="li"))
    assert "refunded 2.50 in total, now in_delivery" in partial.err
    full = ok(cli("order", "refund", code, user="li"))
    assert "refunded 22.50 in total, now cancelled" in full.err  # + the 2 undelivered deliveries, 10.00 each
    assert (tmp_path / "dairy" / f"{code}-cancel.json").exists()
    assert json.loads(ok(cli("account", "show", PHONE, "--json")).out)["balance"] == "92.50"
    ledger = json.loads(ok(cli("account", "ledger", PHONE, "--json")).out)
    assert [(e["kind"], e["amount"], e["order"]) for e in ledger] == [
        ("refund", "20.00", code), ("refund", "2.50", code), ("charge", "-30.00", code), ("topup", "100.00", None)]
    shown = json.loads(ok(cli("order", "show", code, "--json")).out)
    assert shown["deliveries"] == 3 and shown["deliveries_made"] == [{"delivered_on": str(day), "note": "门口"}]


def test_delivery_import_completes_and_reports_bad_rows(cli, world, db_path, tmp_path):
    code = new_order(cli, "--deliveries", "2")
    ok(cli("order", "confirm", code))
    start = date.fromisoformat(TOMORROW)
    path = tmp_path / "deliveries.csv"
    path.write_text(f"order_code,delivered_on\n{code},{start}\n999999,{start}\n{code},not-a-date\n"
                    f"{code},{start + timedelta(days=1)}\n", encoding="utf-8")
    before = snapshot(db_path)
    result = cli("delivery", "import", str(path))
    assert_clean_error(result, 2)
    assert "line 3: unknown order code '999999'" in result.err and "line 4:" in result.err
    assert snapshot(db_path) == before
    result = ok(cli("delivery", "import", str(path), "--skip-bad"))
    assert "2 delivery(ies) recorded" in result.err and "1 order(s) completed" in result.err
    assert json.loads(ok(cli("order", "show", code, "--json")).out)["status"] == "completed"


def test_order_expire(cli, world, tmp_path):
    config = tmp_path / "cc.yaml"
    config.write_text("orders:\n  confirmation_timeout_minutes: 0\n", encoding="utf-8")
    code = new_order(cli)
    other = ok(cli("--config", str(config), "order", "new", "--phone", PHONE, "--item", MILK)).out.strip()
    result = ok(cli("--config", str(config), "order", "expire"))
    assert result.out.split() == [other] and "1 order(s) expired" in result.err
    assert json.loads(ok(cli("order", "show", other, "--json")).out)["status"] == "expired"
    assert json.loads(ok(cli("order", "show", code, "--json")).out)["status"] == "awaiting_confirmation"
    assert json.loads(ok(cli("stock", "show", MILK, "--json")).out)["reserved"] == 2
    assert ok(cli("order", "expire")).out == ""


def test_order_export_csv_json_bom_and_formula_names(cli, world, tmp_path):
    ok(cli("customer", "add", "--phone", "13600136000", "--name", "=HYPERLINK(\"http://x\")", "--address", "@SUM(1)"))
    ok(cli("account", "topup", "13600136000", "100"))
    plain = new_order(cli)
    evil = ok(cli("order", "new", "--phone", "13600136000", "--item", f"{YOGURT}:1")).out.strip()
    never = new_order(cli)  # not charged: not exported
    ok(cli("order", "confirm", plain))
    ok(cli("order", "confirm", evil))
    today = LOCAL_TODAY.isoformat()

    result = ok(cli("order", "export", "--since", today))
    assert "2 order(s) exported" in result.err
    rows = list(csv.reader(io.StringIO(result.out)))
    assert rows[0][:3] == ["order_code", "status", "customer"]
    by_code = {r[0]: r for r in rows[1:]}
    assert set(by_code) == {plain, evil} and never not in by_code
    assert by_code[plain][2] == "张三" and by_code[plain][5] == "鲜牛奶" and by_code[plain][12] == "10.00"
    assert by_code[evil][2] == "'=HYPERLINK(\"http://x\")"  # neutralised: Excel shows text, runs nothing
    assert by_code[plain][3] == "'" + PHONE  # every cell starting with + is quoted, phones too (see report)
    assert all(not cell.startswith(("=", "@")) for row in rows for cell in row)

    out = tmp_path / "export.csv"
    ok(cli("order", "export", "--since", today, "--bom", "--output", str(out)))
    raw = out.read_bytes()
    assert raw.startswith("\ufeff".encode()) and "张三".encode() in raw and b"\r\n" in raw
    assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[1:] == rows[1:]

    data = json.loads(ok(cli("order", "export", "--since", today, "--format", "json")).out)
    assert sorted(o["code"] for o in data) == sorted([plain, evil])
    assert ok(cli("order", "export", "--since", today, "--until", today)).out.count("\n") == 1  # header only
    assert_clean_error(cli("order", "export", "--since", today, "--format", "xml"), 2)
    assert_clean_error(cli("order", "export", "--since", "last week"), 2)
    unwritable = cli("order", "export", "--since", today, "--output", str(tmp_path / "no" / "such" / "x.csv"))
    assert_clean_error(unwritable, 2)
    assert "cannot write" in unwritable.err


@pytest.mark.parametrize(
    ("cell", "written"),
    [("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("+区", "'+区"), ("-1+2", "'-1+2"), ("\t=1", "'\t=1"),
     ("+86 138", "'+86 138"), ("-5.00\n=1", "'-5.00\n=1"), ("+8613800138000", "'+8613800138000"),
     ("张三", "张三"), ("a=b", "a=b"), (7, 7)],
)
def test_neutralise(cell, written):
    from cc.csvio import neutralise

    assert neutralise(cell) == written


# --- the "Bad input" section -------------------------------------------------------------------
BAD_ORDERS = {
    "unknown SKU": (["--phone", PHONE, "--item", "NOPE:1"], 1, "unknown product SKU 'NOPE'"),
    "unknown customer": (["--phone", "13700137000", "--item", f"{MILK}:1"], 1, "no customer with phone"),
    "malformed phone": (["--phone", "12-34", "--item", f"{MILK}:1"], 2, "is not a valid phone number"),
    "zero quantity": (["--phone", PHONE, "--item", f"{MILK}:0"], 2, "quantity must be at least 1"),
    "negative quantity": (["--phone", PHONE, "--item", f"{MILK}:-2"], 2, "quantity must be at least 1"),
    "non-numeric quantity": (["--phone", PHONE, "--item", f"{MILK}:two"], 2, "is not a whole number"),
    "zero deliveries": (["--phone", PHONE, "--item", MILK, "--deliveries", "0"], 2, "at least 1"),
    "date in the past": (["--phone", PHONE, "--item", MILK, "--start", "2020-01-01"], 2, "is in the past"),
    "until before start": (["--phone", PHONE, "--item", MILK, "--start", TOMORROW, "--until", "2020-01-01"], 2,
                           "before the start date"),
    "not a date": (["--phone", PHONE, "--item", MILK, "--start", "tomorrow"], 2, "is not a date"),
    "insufficient balance": (["--phone", PHONE, "--item", f"{MILK}:5", "--deliveries", "5"], 1,
                             "balance 100.00 is short of the order total 125.00"),
    "not enough stock": (["--phone", PHONE, "--item", f"{YOGURT}:26"], 1, "not enough stock of YOG-200: 50 available"),
    "unknown frequency": (["--phone", PHONE, "--item", MILK, "--frequency", "monthly"], 2, "unknown frequency"),
    "missing --item": (["--phone", PHONE], 2, "--item"),
}


@pytest.mark.parametrize("case", list(BAD_ORDERS))
def test_bad_order_input_changes_nothing(cli, world, db_path, case):
    argv, code, text = BAD_ORDERS[case]
    if case == "not enough stock":
        ok(cli("account", "topup", PHONE, "1000"))
        argv = [*argv[:-1], f"{YOGURT}:51"]
    before = snapshot(db_path)
    result = cli("order", "new", *argv)
    assert_clean_error(result, code)
    assert text in result.err, result
    assert snapshot(db_path) == before


def test_bad_order_codes(cli, world, db_path):
    code = new_order(cli)
    before = snapshot(db_path)
    for argv in (["order", "confirm", "123456"], ["order", "show", "000000"], ["order", "cancel", "1"],
                 ["order", "amend", "999999", "--deliveries", "2"], ["order", "refund", "999999"]):
        assert_clean_error(cli(*argv), 1)
    assert_clean_error(cli("order", "refund", code, "--amount", "abc"), 2)
    assert_clean_error(cli("order", "refund", code, "--amount", "0", user="li"), 2)
    refused = cli("order", "refund", code, user="li")
    assert_clean_error(refused, 1)
    assert "cancel it instead" in refused.err
    assert snapshot(db_path) == before


def test_unknown_or_disabled_acting_user(cli, world, db_path):
    before = snapshot(db_path)
    assert_clean_error(cli("order", "new", "--phone", PHONE, "--item", MILK, user="ghost"), 1)
    ok(cli("user", "disable", "wang"))
    result = cli("order", "new", "--phone", PHONE, "--item", MILK, user="wang")
    assert_clean_error(result, 1)
    assert "disabled" in result.err
    ok(cli("user", "enable", "wang"))
    assert snapshot(db_path)["orders"] == before["orders"]


# --- dairy outbox ------------------------------------------------------------------------------------
def test_dairy_outbox_flush_retry(cli, world, db_path, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the drop folder should be")
    config = tmp_path / "cc.yaml"
    config.write_text(f"dairy:\n  drop_dir: {blocked}\n", encoding="utf-8")
    code = new_order(cli)
    result = ok(cli("--config", str(config), "order", "confirm", code))
    assert "charged" in result.err
    assert json.loads(ok(cli("order", "show", code, "--json")).out)["status"] == "charged"
    [message] = json.loads(ok(cli("dairy", "outbox", "--json")).out)
    assert (message["order_code"], message["kind"], message["status"], message["attempts"]) == (code, "order", "pending", 1)
    assert "cannot write to dairy folder" in message["last_error"]
    assert code in ok(cli("dairy", "outbox")).out
    assert "0 sent, 0 not delivered" in ok(cli("--config", str(config), "dairy", "flush")).err  # backing off

    world.db.execute("UPDATE dairy_outbox SET next_attempt_at = '2000-01-01T00:00:00.000+00:00'")  # time passes
    failed = cli("--config", str(config), "dairy", "flush")
    assert failed.code == 3 and "Error: 1 message(s) could not be delivered" in failed.err and "Hint:" in failed.err
    assert "Traceback" not in failed.err and f"message {message['id']}: pending" in failed.err
    assert json.loads(ok(cli("dairy", "outbox", "--json")).out)[0]["attempts"] == 2

    ok(cli("dairy", "retry", str(message["id"])))  # the default folder works
    assert json.loads(ok(cli("dairy", "outbox", "--status", "sent", "--json")).out)[0]["order_code"] == code
    assert json.loads(ok(cli("order", "show", code, "--json")).out)["status"] == "sent_to_dairy"
    assert (tmp_path / "dairy" / f"{code}-order.json").exists()
    assert "0 sent, 0 not delivered" in ok(cli("dairy", "flush")).err
    assert json.loads(ok(cli("dairy", "outbox", "--status", "pending", "--json")).out) == []
    assert_clean_error(cli("dairy", "retry", "999"), 1)


# --- users -------------------------------------------------------------------------------------------
def test_users(cli, world, db_path):
    added = ok(cli("user", "add", "chen", "--role", "agent", "--display-name", "陈芳", "--password-stdin",
                   stdin="s3cret-pw\n"))
    assert "added agent chen" in added.err
    [row] = query(db_path, "SELECT password_hash FROM users WHERE name = 'chen'")
    assert row["password_hash"].startswith("scrypt$") and "s3cret" not in row["password_hash"]
    users = {u["name"]: u for u in json.loads(ok(cli("user", "list", "--json")).out)}
    assert users["chen"] == {"name": "chen", "display_name": "陈芳", "role": "agent", "disabled": False}
    assert "陈芳" in ok(cli("user", "list")).out
    ok(cli("user", "passwd", "chen", "--password-stdin", stdin="another-pw\n"))
    world.users.authenticate("chen", "another-pw")
    ok(cli("user", "passwd", "chen", "--password-stdin", stdin="my-own-pw\n", user="chen"))  # one's own
    ok(cli("user", "disable", "chen"))
    assert json.loads(ok(cli("user", "list", "--json")).out)[0]["disabled"] is True
    ok(cli("user", "enable", "chen"))
    assert json.loads(ok(cli("user", "list", "--json")).out)[0]["disabled"] is False

    before = snapshot(db_path)
    for argv, stdin, code in [
        (["user", "add", "chen", "--role", "agent", "--password-stdin"], "whatever-pw\n", 1),
        (["user", "add", "neo", "--role", "god", "--password-stdin"], "whatever-pw\n", 2),
        (["user", "add", "neo", "--role", "agent", "--password-stdin"], "short\n", 2),
        (["user", "add", "neo", "--role", "agent"], "", 2),  # no terminal to ask on
        (["user", "add", "Neo Smith", "--role", "agent", "--password-stdin"], "whatever-pw\n", 2),
        (["user", "disable", "ghost"], "", 1),
        (["user", "passwd", "ghost", "--password-stdin"], "whatever-pw\n", 1),
    ]:
        assert_clean_error(cli(*argv, stdin=stdin), code)
    denied = cli("user", "add", "neo", "--role", "agent", "--password-stdin", stdin="whatever-pw\n", user="li")
    assert_clean_error(denied, 1)
    assert "may not manage users" in denied.err
    assert_clean_error(cli("user", "passwd", "li", "--password-stdin", stdin="hijack-pw\n", user="chen"), 1)
    assert snapshot(db_path) == before


# --- config ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("orders:\n  confirmation_timeout_minutes: [1\n", "not valid YAML"),
        ("orders:\n  a: 1\n b: 2\n", ", line 3: not valid YAML"),
        ("orders:\n\tconfirmation_timeout_minutes: 5\n", "not valid YAML"),
        ("locale: en\norders:\n  colour: blue\n", "line 3: unknown key 'orders.colour'"),
        ("orders:\n  confirmation_timeout_minutes: soon\n", "line 2: 'orders.confirmation_timeout_minutes' must be a whole number"),
        ("dairy:\n  timeout_seconds: true\n", "'dairy.timeout_seconds' must be a number"),
        ("dairy:\n  format: xml\n", "dairy.format must be json or csv"),
        ("timezone: Mars/Olympus\n", "unknown timezone"),
        ("agi:\n  workers: 0\n", "agi.workers must be 1 to 64"),
        ("- just\n- a list\n", "must be a mapping"),
    ],
)
def test_config_errors_exit_2(cli, tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("--config", str(path), "init")
    assert result.code == 2, result
    assert result.err.startswith("Error: "), result
    assert str(path) in result.err and expected in result.err, result
    assert "Traceback" not in result.err
    assert not (tmp_path / "cc.db").exists()


def test_config_file_missing_and_env(cli, tmp_path, monkeypatch):
    assert_clean_error(cli("--config", str(tmp_path / "none.yaml"), "init"), 2)
    path = tmp_path / "good.yaml"
    path.write_text(f"db: {tmp_path / 'from-config.db'}\nlocale: zh_CN\n", encoding="utf-8")
    monkeypatch.setenv("CC_CONFIG", str(path))
    ok(cli("init", db=False))
    assert (tmp_path / "from-config.db").exists()
    monkeypatch.setenv("CC_DB", str(tmp_path / "from-env.db"))
    ok(cli("init", db=False))
    assert (tmp_path / "from-env.db").exists()


def test_chinese_labels(cli, world, tmp_path):
    config = tmp_path / "zh.yaml"
    config.write_text("locale: zh_CN\n", encoding="utf-8")
    code = new_order(cli)
    table = ok(cli("--config", str(config), "order", "show", code)).out
    assert "待确认" in table and "订单号" in table


def test_no_config_and_no_db_option_uses_cc_db_in_the_current_folder(cli, tmp_path):
    ok(cli("init", db=False))  # the fixture chdir'ed into tmp_path
    assert (tmp_path / "cc.db").exists()


# --- the real program, end to end --------------------------------------------------------------------
def test_end_to_end_with_the_real_cc(tmp_path):
    """A script's view: separate ``python -m cc`` processes, the database from CC_DB, the code on stdout."""
    from core_helpers import make_services, seed_world

    from cc.clock import SystemClock

    db = tmp_path / "e2e.db"
    with make_services(db, SystemClock()) as services:
        seed_world(services)
    env = {k: v for k, v in os.environ.items() if k not in ("CC_CONFIG", "CC_USER")}
    env.update(CC_DB=str(db), PYTHONIOENCODING="utf-8")

    def cc(*argv: str, code: int = 0) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "cc", *argv], capture_output=True, text=True, encoding="utf-8",
                              env=env, cwd=tmp_path, timeout=60)
        assert done.returncode == code, (argv, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        return done

    new = cc("order", "new", "--phone", "13800138000", "--item", f"{MILK}:2")
    code = new.stdout.strip()
    assert new.stdout == code + "\n" and code.isdigit()
    assert "鲜牛奶x2" in new.stderr
    cc("order", "confirm", code)
    again = cc("order", "confirm", code, code=1)
    assert again.stdout == "" and again.stderr == (f"Error: order {code} is already confirmed (sent_to_dairy)\n"
                                                   "Hint: nothing to do\n")
    assert not (tmp_path / "cc.db").exists()
