"""Pilot tests of the supervisor dashboard: sign-in (roles), each action against the real ACD on a copied
database with a frozen clock (spy through the real call-control service over a fake AMI port), refreshes
that never overlap, and a failing service shown as a modal."""

from __future__ import annotations

import asyncio

from supervisor_helpers import PASSWORD, SUPERVISOR, FakeAmi, FixedWallboard, config_for, fake_control, until

from cc.errors import Unreachable
from cc.tui.agent_screens import ErrorModal
from cc.tui.supervisor_app import WallboardScreen, make_supervisor_app, supervisor_factory


def _app(db_file, clock, *, board=None, ami=None, poll=0.5, **kw):
    config = config_for(db_file)
    board = board or FixedWallboard()
    factory = supervisor_factory(config, clock, control=fake_control(ami) if ami else None,
                                 wallboard=lambda services, acd: board)
    return make_supervisor_app(config, factory=factory, poll_seconds=poll, **kw), board


async def _signed_in(pilot, user=SUPERVISOR):
    app = pilot.app
    app.screen.query_one("#sign-in-user").value = user
    app.screen.query_one("#sign-in-password").value = PASSWORD
    app.screen.query_one("#sign-in-password").focus()
    await pilot.press("enter")
    await until(pilot, lambda: app.polls > 0)


def _acd(db_file, clock):
    from cc.store.db import open_db
    from cc.telephony.acd_wiring import acd_service

    db = open_db(db_file)
    return acd_service(config_for(db_file), db, clock), db


def test_sign_in_shows_the_wallboard(db_file, clock):
    async def scenario():
        app, board = _app(db_file, clock)
        async with app.run_test(size=(120, 40)) as pilot:
            await _signed_in(pilot)
            assert isinstance(app.screen, WallboardScreen)
            assert app.screen.query_one("#sv-agents").row_count == 2
            assert app.screen.query_one("#sv-queues").row_count == 3  # two queues and the totals
            assert "sim-2" in str(app.screen.query_one("#sv-alerts").render())
            await pilot.press("3")  # charts
            charts = app.screen.query_one("#sv-charts")
            assert "█" in str(charts.render())
            await pilot.press("ctrl+t")  # light theme: the charts are drawn again in its colours
            assert app.theme == "textual-light"
            assert "█" in str(charts.render())

    asyncio.run(scenario())


def test_an_agent_cannot_sign_in(db_file, clock):
    async def scenario():
        app, board = _app(db_file, clock)
        async with app.run_test(size=(80, 24)) as pilot:
            app.screen.query_one("#sign-in-user").value = "wang"
            app.screen.query_one("#sign-in-password").value = PASSWORD
            app.screen.query_one("#sign-in-password").focus()
            await pilot.press("enter")
            message = app.screen.query_one("#sign-in-message")
            await until(pilot, lambda: "not a supervisor" in str(message.render()))
            assert board.calls == 0

    asyncio.run(scenario())


def test_user_and_password_sign_in_at_once_and_sign_out(db_file, clock):
    async def scenario():
        app, board = _app(db_file, clock, user=SUPERVISOR, password=PASSWORD, poll=0.1)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.polls > 0)
            assert isinstance(app.screen, WallboardScreen)
            await pilot.press("f10")  # sign out: back to the form, polling stops
            await until(pilot, lambda: app.screen.id == "sign-in")
            calls = board.calls
            await pilot.pause(0.3)
            assert board.calls <= calls + 1

    asyncio.run(scenario())


async def _select_agent(pilot, user):
    app = pilot.app
    await pilot.press("1")
    table = app.screen.query_one("#sv-agents")
    table.move_cursor(row=table.keys.index(user))
    table.focus()
    await pilot.pause()


async def _select_caller(pilot, waiting_id):
    app = pilot.app
    await pilot.press("2")
    table = app.screen.query_one("#sv-callers")
    table.move_cursor(row=table.keys.index(str(waiting_id)))
    table.focus()
    await pilot.pause()


def test_listen_whisper_and_barge_ring_the_supervisor_into_the_agents_call(db_file, clock):
    async def scenario():
        ami = FakeAmi()
        app, _ = _app(db_file, clock, ami=ami)
        async with app.run_test(size=(120, 40)) as pilot:
            await _signed_in(pilot)
            await _select_agent(pilot, "wang")
            await pilot.press("b")  # barge asks first; "n" rings nobody
            await until(pilot, lambda: app.screen.id == "confirm-modal")
            await pilot.press("n")
            await pilot.pause(0.1)
            assert not ami.sent
            activity = app.screen.query_one("#sv-activity")
            for n, (key, mode) in enumerate((("l", "listen"), ("w", "whisper"), ("b", "barge")), 1):
                await pilot.press(key)
                if mode == "barge":
                    await until(pilot, lambda: app.screen.id == "confirm-modal")
                    await pilot.press("y")
                await until(pilot, lambda: sum(name == "Originate" for name, _, _ in ami.sent) == n)
                name, fields, variables = [s for s in ami.sent if s[0] == "Originate"][-1]
                assert fields["Channel"] == "PJSIP/3001"  # the supervisor's own phone
                assert variables["CC_SPY_CHANNEL"] == "PJSIP/1001-00000002"
                assert fields["CallerID"].startswith(f'"{mode} wang"')
                await until(pilot, lambda: "王伟" in str(activity.render()))

    asyncio.run(scenario())


def test_force_pause_ready_sign_out_and_expert_seat(db_file, clock):
    async def scenario():
        app, _ = _app(db_file, clock)
        acd, db = _acd(db_file, clock)
        async with app.run_test(size=(120, 40)) as pilot:
            await _signed_in(pilot)
            await _select_agent(pilot, "li")
            await pilot.press("p")
            await until(pilot, lambda: app.screen.id == "pause-modal")
            await pilot.press("down", "enter")  # the second reason: lunch
            await until(pilot, lambda: acd.agent_view("li")["state"] == "paused")
            assert acd.agent_view("li")["reason"] == "lunch"
            await pilot.press("r")
            await until(pilot, lambda: acd.agent_view("li")["state"] == "ready")
            await pilot.press("o")
            await until(pilot, lambda: app.screen.id == "confirm-modal")
            await pilot.press("y")
            await until(pilot, lambda: acd.agent_view("li")["state"] == "offline")
            events = acd.agent_events("li")
            assert any(SUPERVISOR in str(e.values()) for e in events), events
            await pilot.press("e")  # the expert seat
            await until(pilot, lambda: acd.agent_view("li")["group"] == "expert")
        db.conn.close()

    asyncio.run(scenario())


def test_raise_priority_move_and_voicemail(db_file, clock):
    async def scenario():
        app, _ = _app(db_file, clock)
        acd, db = _acd(db_file, clock)
        async with app.run_test(size=(120, 40)) as pilot:
            await _signed_in(pilot)
            await pilot.press("2", "down")  # the callers tab takes the arrow keys: the second caller
            assert app.selected_caller().waiting_id == 2
            await pilot.press("plus")
            await until(pilot, lambda: acd.store.waiting(2)["priority"] == 10)
            await pilot.press("m")
            await until(pilot, lambda: app.screen.id == "move-modal")
            options = app.screen.query_one("#choice-list")
            target = [options.get_option_at_index(i).id for i in range(options.option_count)].index("changes")
            options.highlighted = target
            await pilot.press("enter")
            await until(pilot, lambda: acd.store.waiting(2)["queue"] == "changes")
            await _select_caller(pilot, 3)
            await pilot.press("v")
            await until(pilot, lambda: app.screen.id == "confirm-modal")
            await pilot.press("y")
            await until(pilot, lambda: (acd.store.waiting(3) or {}).get("divert") == "voicemail")
        db.conn.close()

    asyncio.run(scenario())


def test_an_action_without_a_selection_explains(db_file, clock):
    async def scenario():
        app, board = _app(db_file, clock, board=FixedWallboard(_no_callers()))
        async with app.run_test(size=(80, 24)) as pilot:
            await _signed_in(pilot)
            await pilot.press("2")
            await pilot.press("v")
            await until(pilot, lambda: isinstance(app.screen, ErrorModal))

    asyncio.run(scenario())


def _no_callers():
    from dataclasses import replace

    from supervisor_helpers import fixed_board

    board = fixed_board()
    return replace(board, queues=tuple(replace(q, callers=()) for q in board.queues))


def test_refused_action_shows_a_modal_and_the_board_keeps_refreshing(db_file, clock):
    async def scenario():
        app, board = _app(db_file, clock, poll=0.1)  # no call control: spy is refused with a hint
        async with app.run_test(size=(80, 24)) as pilot:
            await _signed_in(pilot)
            await _select_agent(pilot, "wang")
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, ErrorModal))
            assert "AMI" in str(app.screen.query_one("#error-hint").render())
            polls = app.polls
            await until(pilot, lambda: app.polls > polls + 2)
            await pilot.press("escape")
            assert isinstance(app.screen, WallboardScreen)

    asyncio.run(scenario())


def test_failing_snapshot_shows_an_error_modal_and_recovers(db_file, clock):
    async def scenario():
        board = FixedWallboard(error=Unreachable("the database did not answer", "check the disk"))
        app, _ = _app(db_file, clock, board=board, poll=0.1)
        async with app.run_test(size=(80, 24)) as pilot:
            app.screen.query_one("#sign-in-user").value = SUPERVISOR
            app.screen.query_one("#sign-in-password").value = PASSWORD
            app.screen.query_one("#sign-in-password").focus()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ErrorModal))
            assert "did not answer" in str(app.screen.query_one("#error-message").render())
            calls = board.calls
            await until(pilot, lambda: board.calls > calls + 2)  # still polling, one modal only
            assert sum(isinstance(s, ErrorModal) for s in app.screen_stack) == 1
            board.error = None
            await until(pilot, lambda: app.polls > 0)
            await pilot.press("escape")
            assert isinstance(app.screen, WallboardScreen)

    asyncio.run(scenario())


def test_refreshes_never_overlap(db_file, clock):
    async def scenario():
        board = FixedWallboard(delay=0.03)
        app, _ = _app(db_file, clock, board=board, poll=0.0)
        async with app.run_test(size=(80, 24)) as pilot:
            await _signed_in(pilot)
            await until(pilot, lambda: app.polls >= 6)
        spans = board.spans
        assert len(spans) >= 6
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start >= end  # the next query starts only after the previous one ended...
        starts = list(app.poll_starts)
        painted = len(app.frame_ms)
        assert len(starts) <= painted + 1  # ...and after the previous snapshot was drawn

    asyncio.run(scenario())


def test_q_opens_qa_scoring_over_the_dashboard(db_file, clock):
    async def scenario():
        from cc.tui.qa_screen import QaScreen

        app, board = _app(db_file, clock, poll=0.1)
        async with app.run_test(size=(80, 24)) as pilot:
            await _signed_in(pilot)
            await pilot.press("q")
            await until(pilot, lambda: isinstance(app.screen, QaScreen))
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, WallboardScreen))
            polls = app.polls
            await until(pilot, lambda: app.polls > polls)  # still live

    asyncio.run(scenario())


def test_the_real_wallboard_follows_an_action(db_file, clock):
    """The factory's own WallboardService on the test world: a caller moved from the dashboard shows up in
    the other queue at the next refresh."""

    async def scenario():
        config = config_for(db_file)
        app = make_supervisor_app(config, factory=supervisor_factory(config, clock, control=None), poll_seconds=0.1,
                                  user=SUPERVISOR, password=PASSWORD)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.polls > 0)
            assert app.board.waiting_total == 3
            await _select_caller(pilot, 2)
            await pilot.press("m")
            await until(pilot, lambda: app.screen.id == "move-modal")
            options = app.screen.query_one("#choice-list")
            options.highlighted = [options.get_option_at_index(i).id for i in range(options.option_count)].index("changes")
            await pilot.press("enter")
            table = app.screen.query_one("#sv-callers")

            def moved() -> bool:
                row = dict(table.rows).get("2")
                return row is not None and row[0] == "订单变更"

            await until(pilot, moved)

    asyncio.run(scenario())
