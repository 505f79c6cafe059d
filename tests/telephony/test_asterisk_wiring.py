"""The real Asterisk: boot, CLI, the shipped hotline dialplan reaching an AGI peer, DTMF, and the fallback."""

from __future__ import annotations

import queue

import pytest

from cc.telephony import asterisk_runtime as rt

pytestmark = pytest.mark.asterisk

DONE = "SET VARIABLE CC_IVR_STATUS done"


def test_boots_with_only_the_modules_we_ask_for(asterisk):
    assert "Asterisk 22" in asterisk.cli("core show version")
    loaded = asterisk.cli("module show")
    for module in ("res_agi.so", "pbx_config.so", "app_dial.so", "app_playback.so", "app_senddtmf.so",
                   "app_record.so", "app_read.so", "app_voicemail.so", "res_clioriginate.so", "format_gsm.so",
                   "codec_gsm.so", "bridge_simple.so", "res_musiconhold.so", "app_mixmonitor.so", "app_chanspy.so"):
        assert module in loaded, module
    assert "chan_pjsip.so" not in loaded  # autoload = no
    assert f"127.0.0.1:{asterisk.ami_port}" in asterisk.cli("manager show settings").replace(" ", "").replace("\t", "") \
        or str(asterisk.ami_port) in asterisk.cli("manager show settings")


def test_hotline_call_reaches_the_agi_server(asterisk, hotline, agi_listener):
    listener = agi_listener(["ANSWER", "GET VARIABLE CC_CALL_TAG", DONE, "HANGUP"])
    settings = hotline(listener.url("inbound?secret=s3cret"))
    mark = asterisk.event_mark()
    tag = asterisk.call(settings.hotline, settings.context, caller_id="+8613800138000", hold=10)
    call = listener.next_call(timeout=10)
    assert call.env["agi_network_script"] == "inbound?secret=s3cret"
    assert call.env["agi_extension"] == "116114"
    assert call.env["agi_context"] == "cc-inbound"
    assert call.env["agi_callerid"] == "+8613800138000"
    assert call.replies[0] == "200 result=0"
    assert call.replies[1] == f"200 result=1 ({tag})"
    asterisk.wait_for_event("UserEvent", UserEvent="CcCallerDone", Tag=tag, start=mark, timeout=10)
    assert not [e for e in asterisk.user_events("CcFallback") if e.get("Tag") == tag]


def test_caller_keys_reach_the_agi_server(asterisk, hotline, agi_listener):
    listener = agi_listener(["ANSWER", "WAIT FOR DIGIT 5000", "WAIT FOR DIGIT 5000", "GET DATA beep 5000 3", DONE,
                             "HANGUP"])
    settings = hotline(listener.url())
    tag = asterisk.call(settings.hotline, settings.context, keys="1W2W345", wait=0.5, hold=15)
    call = listener.next_call(timeout=15)
    assert call.replies[:4] == ["200 result=0", "200 result=49", "200 result=50", "200 result=345"], call.replies
    asterisk.wait_for_event("UserEvent", UserEvent="CcCallerDone", Tag=tag, timeout=10)


def test_cli_originate_as_in_the_issue(asterisk, hotline, agi_listener):
    listener = agi_listener(["ANSWER", DONE, "HANGUP"])
    settings = hotline(listener.url())
    asterisk.originate_cli("Local/s@cc-test-caller", context=settings.context, exten=settings.hotline)
    call = listener.next_call(timeout=10)
    assert call.env["agi_extension"] == settings.hotline
    assert call.replies[0] == "200 result=0"


def test_agi_server_down_falls_back_to_apology_and_operator(asterisk, hotline):
    settings = hotline(f"agi://127.0.0.1:{rt.free_port()}/inbound")  # nothing listens there
    mark = asterisk.event_mark()
    tag = asterisk.call(settings.hotline, settings.context, caller_id="+8613900000000", hold=20)
    fallback = asterisk.wait_for_event("UserEvent", UserEvent="CcFallback", Tag=tag, start=mark, timeout=10)
    assert fallback["Reason"] == "FAILURE"
    assert fallback["Caller"] == "+8613900000000"
    dial = asterisk.wait_for_event("UserEvent", UserEvent="CcFallbackDial", Tag=tag, start=mark, timeout=15)
    assert dial["Playback"] == "SUCCESS"  # the apology was played to the caller
    assert dial["Dial"] == "Local/s@cc-test-operator"
    asterisk.wait_for_event("UserEvent", UserEvent="CcOperatorRang", Tag=tag, start=mark, timeout=5)
    result = asterisk.wait_for_event("UserEvent", UserEvent="CcFallbackResult", Tag=tag, start=mark, timeout=10)
    assert result["DialStatus"] == "ANSWER"
    asterisk.wait_for_log(r"cc-fallback: reason FAILURE caller \+8613900000000", timeout=2)


def test_agi_server_closing_mid_call_falls_back(asterisk, hotline, agi_listener):
    listener = agi_listener(["ANSWER"])  # then closes without finishing the call
    settings = hotline(listener.url())
    mark = asterisk.event_mark()
    tag = asterisk.call(settings.hotline, settings.context, hold=20)
    listener.next_call(timeout=10)
    fallback = asterisk.wait_for_event("UserEvent", UserEvent="CcFallback", Tag=tag, start=mark, timeout=10)
    assert fallback["Reason"] == "unfinished"
    asterisk.wait_for_event("UserEvent", UserEvent="CcOperatorRang", Tag=tag, start=mark, timeout=15)


def test_operator_not_answering_goes_to_voicemail(asterisk, hotline):
    settings = hotline(f"agi://127.0.0.1:{rt.free_port()}/inbound", operator_dial="Local/s@cc-test-nobody",
                       operator_timeout=1, voicemail="operator@cc", apology_prompt="beep")
    mark = asterisk.event_mark()
    tag = asterisk.call(settings.hotline, settings.context, hold=3)
    result = asterisk.wait_for_event("UserEvent", UserEvent="CcFallbackResult", Tag=tag, start=mark, timeout=10)
    assert result["DialStatus"] == "NOANSWER"
    asterisk.wait_for_log(r"cc-fallback: voicemail operator@cc", timeout=5)
    asterisk.wait_for_event("UserEvent", UserEvent="CcCallerDone", Tag=tag, start=mark, timeout=10)


def test_caller_hanging_up_during_agi_is_not_a_fallback(asterisk, hotline, agi_listener):
    listener = agi_listener(["ANSWER", "WAIT FOR DIGIT 10000", "NOOP"])
    settings = hotline(listener.url())
    mark = asterisk.event_mark()
    tag = asterisk.call(settings.hotline, settings.context, hold=0.5)
    call = listener.next_call(timeout=10)
    assert call.replies[-1] in ("HANGUP", "511 Command Not Permitted on a dead channel or intercept routine", "")
    asterisk.wait_for_event("UserEvent", UserEvent="CcCallerDone", Tag=tag, start=mark, timeout=10)
    asterisk.wait_for_log(r"AGI Script .* completed|AGI Script .*HANGUP|agi://127.0.0.1", timeout=2)
    assert not [e for e in asterisk.user_events("CcFallback") if e.get("Tag") == tag]


def test_music_on_hold_has_a_default_class(asterisk):
    assert "Class: default" in asterisk.cli("moh show classes")


def test_listener_queue_is_empty_between_tests(agi_listener):
    listener = agi_listener([])
    with pytest.raises(queue.Empty):
        listener.next_call(timeout=0.01)


def test_ivr_error_status_falls_back(asterisk, hotline, agi_listener):
    listener = agi_listener(["ANSWER", "SET VARIABLE CC_IVR_STATUS error"])
    settings = hotline(listener.url())
    mark = asterisk.event_mark()
    tag = asterisk.call(settings.hotline, settings.context, hold=20)
    fallback = asterisk.wait_for_event("UserEvent", UserEvent="CcFallback", Tag=tag, start=mark, timeout=10)
    assert fallback["Reason"] == "error"


def test_transfer_through_cc_dial(asterisk, hotline, agi_listener):
    listener = agi_listener(["ANSWER", "SET VARIABLE CC_DIAL Local/s@cc-test-operator",
                             "SET VARIABLE CC_IVR_STATUS transferred"])
    settings = hotline(listener.url())
    mark = asterisk.event_mark()
    tag = asterisk.call(settings.hotline, settings.context, hold=20)
    asterisk.wait_for_event("UserEvent", UserEvent="CcOperatorRang", Tag=tag, start=mark, timeout=10)
    asterisk.wait_for_event("UserEvent", UserEvent="CcCallerDone", Tag=tag, start=mark, timeout=10)
    assert not [e for e in asterisk.user_events("CcFallback") if e.get("Tag") == tag]


def test_transfer_to_a_busy_line_falls_back(asterisk, hotline, agi_listener):
    listener = agi_listener(["ANSWER", "SET VARIABLE CC_DIAL Local/s@cc-test-busy",
                             "SET VARIABLE CC_IVR_STATUS transferred"])
    settings = hotline(listener.url(), apology_prompt="beep")
    mark = asterisk.event_mark()
    tag = asterisk.call(settings.hotline, settings.context, hold=20)
    fallback = asterisk.wait_for_event("UserEvent", UserEvent="CcFallback", Tag=tag, start=mark, timeout=10)
    assert fallback["Reason"] == "dial-BUSY"
    asterisk.wait_for_event("UserEvent", UserEvent="CcOperatorRang", Tag=tag, start=mark, timeout=10)
