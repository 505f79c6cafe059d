"""SupervisorService without the TUI: who may sign in and act, each action's rules, the real wallboard on
the test world; and the ``cc supervisor`` command's help and refusals."""

from __future__ import annotations

import pytest
from supervisor_helpers import PASSWORD, SUPERVISOR, FakeAmi, config_for, fake_control

from cc.errors import NotFound, PermissionDenied, Refused, Unreachable, UsageError
from cc.tui.supervisor_app import supervisor_factory


@pytest.fixture
def make(db_file, clock):
    factories = []

    def build(user=SUPERVISOR, **kw):  # noqa: ANN001, ANN003, ANN202
        factories.append(supervisor_factory(config_for(db_file), clock, **kw))
        return factories[-1](user)

    yield build
    for factory in factories:
        factory.close()  # this thread's connection


def test_only_supervisors_and_admins_sign_in(make):
    anonymous = make(None)
    assert anonymous.authenticate(SUPERVISOR, PASSWORD)["role"] == "supervisor"
    with pytest.raises(PermissionDenied, match="not a supervisor"):
        anonymous.authenticate("wang", PASSWORD)
    with pytest.raises(Refused):
        anonymous.authenticate(SUPERVISOR, "wrong-password")
    with pytest.raises(UsageError):
        anonymous.authenticate("", "")
    assert make().sign_in()["name"] == SUPERVISOR
    with pytest.raises(PermissionDenied):
        make("wang").sign_in()


def test_an_agent_cannot_act_as_supervisor(make):
    agent = make("wang")
    for action in (lambda s: s.force_state("li", "ready"), lambda s: s.raise_priority(1),
                   lambda s: s.move(1, "changes"), lambda s: s.voicemail(1), lambda s: s.assign_expert("li"),
                   lambda s: s.spy("listen", "li")):
        with pytest.raises(PermissionDenied):
            action(agent)


def test_raise_priority_steps_and_caps(make):
    service = make()
    assert service.raise_priority(2)["priority"] == 10
    assert service.raise_priority(2, step=5000)["priority"] == 1000
    with pytest.raises(NotFound):
        service.raise_priority(999)


def test_force_state_rules(make):
    service = make()
    with pytest.raises(UsageError, match="reason"):
        service.force_state("li", "pause", "  ")
    with pytest.raises(UsageError):
        service.force_state("li", "dance")
    assert service.force_state("li", "pause", "meeting")["state"] == "paused"


def test_spy_needs_call_control_and_rings_the_given_phone(db_file, clock, make):
    with pytest.raises(Unreachable, match="AMI"):
        make().spy("listen", "wang")
    with pytest.raises(UsageError):
        make().spy("shout", "wang")
    ami = FakeAmi()
    service = supervisor_factory(config_for(db_file), clock, control=fake_control(ami), dial="PJSIP/3999")(SUPERVISOR)
    result = service.spy("whisper", "wang")
    assert result["mode"] == "whisper"
    name, fields, variables = ami.sent[-1]
    assert (name, fields["Channel"], variables["CC_SPY_CHANNEL"]) == ("Originate", "PJSIP/3999", "PJSIP/1001-00000002")


def test_the_real_wallboard_on_the_test_world(make):
    board = make().snapshot()
    assert board.waiting_total == 3
    assert {a.user for a in board.agents} >= {"wang", "li"}
    assert sorted(c.waiting_id for q in board.queues for c in q.callers) == [1, 2, 3]


def test_command_help_and_refusals():
    from core_helpers import assert_clean_error, run_cli

    result = run_cli(["supervisor", "--help"])
    assert result.code == 0
    for option in ("--user", "--lang", "--light", "--dial"):
        assert option in result.out
    assert_clean_error(run_cli(["supervisor", "--lang", "fr"]), 2)
    assert_clean_error(run_cli(["supervisor"]), 2)  # no terminal here
