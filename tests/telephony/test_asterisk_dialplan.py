"""The hotline dialplan generator, `cc asterisk config`, the shipped examples and the provisioning script's
refusals (no Asterisk needed here: the same text is loaded into a real Asterisk in test_asterisk_wiring)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cc.config import load_config
from cc.errors import UsageError
from cc.telephony import dialplan

REPO = Path(__file__).resolve().parents[2]


def run_cc(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CC_CONFIG", "CC_DB")}
    if config:
        env["CC_CONFIG"] = str(config)
    return subprocess.run([sys.executable, "-m", "cc", *args], capture_output=True, text=True, env=env, timeout=60,
                          cwd=REPO)


def settings(**kwargs: object) -> dialplan.DialplanSettings:
    base: dict[str, object] = {"hotline": "116114", "agi_url": "agi://127.0.0.1:4573/inbound"}
    base.update(kwargs)
    return dialplan.DialplanSettings(**base)  # type: ignore[arg-type]


def test_render_sends_the_hotline_to_agi_and_falls_back():
    text = dialplan.render_inbound(settings(operator_dial="PJSIP/op1&PJSIP/op2", voicemail="operator@cc"))
    assert "[cc-inbound]\nexten => 116114,1," in text
    assert " same => n,AGI(agi://127.0.0.1:4573/inbound)" in text
    assert '"${AGISTATUS}" != "SUCCESS"]?cc-inbound-fallback,s,1' in text
    assert "[cc-inbound-fallback]" in text
    assert "Playback(im-sorry&pls-hold-while-try)" in text
    assert "Dial(PJSIP/op1&PJSIP/op2,30,g)" in text
    assert "VoiceMail(operator@cc,u)" in text


def test_without_operator_or_voicemail_the_caller_still_hears_goodbye():
    text = dialplan.render_inbound(settings(operator_dial=""))
    fallback = text.split("\n[cc-inbound-fallback]\n")[1].split("\n[")[0]
    assert "Dial(" not in fallback
    assert "Playback(please-try-again&vm-goodbye)" in text


@pytest.mark.parametrize(
    ("host", "port", "secret", "url"),
    [
        ("127.0.0.1", 4573, None, "agi://127.0.0.1:4573/inbound"),
        ("0.0.0.0", 4574, None, "agi://127.0.0.1:4574/inbound"),
        ("10.0.0.5", 4573, "a b&c", "agi://10.0.0.5:4573/inbound?secret=a%20b%26c"),
        ("::1", 4573, None, "agi://[::1]:4573/inbound"),
    ],
)
def test_agi_url(host, port, secret, url):
    assert dialplan.agi_url(host, port, "inbound", secret) == url


@pytest.mark.parametrize(
    "bad",
    [
        {"hotline": "11 6114"},
        {"hotline": "116114\nexten"},
        {"context": "cc inbound"},
        {"agi_url": "http://x/inbound"},
        {"agi_url": "agi://127.0.0.1:4573/inbound,1"},
        {"operator_dial": "PJSIP/op)\nexten => x"},
        {"operator_dial": "Local/${EXTEN}"},
        {"voicemail": "a,b"},
        {"apology_prompt": "sorry;x"},
        {"operator_timeout": 0},
    ],
)
def test_bad_settings_are_refused_with_a_clear_error(bad):
    with pytest.raises(UsageError) as err:
        settings(**bad)
    assert err.value.message


def test_settings_come_from_the_config(tmp_path):
    path = tmp_path / "cc.yaml"
    path.write_text(
        "agi:\n  host: 0.0.0.0\n  port: 4600\n  secret: k3y\n"
        "asterisk:\n  hotline: '4008123456'\n  operator_dial: PJSIP/operator\n  fallback_voicemail: operator@cc\n"
        "  operator_timeout_seconds: 20\n  context: dairy-in\n",
        encoding="utf-8",
    )
    s = dialplan.settings_from_config(load_config(path))
    assert s.agi_url == "agi://127.0.0.1:4600/inbound?secret=k3y"
    assert (s.hotline, s.context, s.operator_timeout, s.voicemail) == ("4008123456", "dairy-in", 20, "operator@cc")


def test_cli_prints_the_dialplan():
    result = run_cc("asterisk", "config", "--hotline", "95000")
    assert result.returncode == 0, result.stderr
    assert "exten => 95000,1," in result.stdout
    assert result.stdout == dialplan.render_inbound(settings(hotline="95000", operator_dial="PJSIP/operator"))


def test_cli_writes_files_and_keeps_a_sites_own_extensions_conf(tmp_path):
    (tmp_path / "extensions.conf").write_text("; mine\n", encoding="utf-8")
    result = run_cc("asterisk", "config", "--output", str(tmp_path), "--examples")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "extensions.conf").read_text(encoding="utf-8") == "; mine\n"
    assert "[cc-inbound]" in (tmp_path / "cc-inbound.conf").read_text(encoding="utf-8")
    assert "type = endpoint" in (tmp_path / "pjsip.conf").read_text(encoding="utf-8")
    assert "wrote" in result.stderr


def test_secret_file_is_not_world_readable(tmp_path):
    config = tmp_path / "cc.yaml"
    config.write_text("agi:\n  secret: s3cret\n", encoding="utf-8")
    result = run_cc("asterisk", "config", "-o", str(tmp_path / "out"), config=config)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "out" / "cc-inbound.conf"
    assert "?secret=s3cret" in written.read_text(encoding="utf-8")
    assert written.stat().st_mode & 0o007 == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--hotline", "1 2"], "not a valid Asterisk extension"),
        (["--agi-url", "tcp://x"], "AGI URL"),
        (["--examples"], "--examples needs --output"),
    ],
)
def test_cli_bad_input_is_a_clean_error(args, words):
    result = run_cc("asterisk", "config", *args)
    assert result.returncode == 2
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_shipped_examples_are_what_the_generator_writes():
    s = dialplan.settings_from_config(load_config(None))
    folder = REPO / "examples" / "asterisk"
    hint = "regenerate them: rm examples/asterisk/*.conf; cc asterisk config -o examples/asterisk --examples"
    assert (folder / "cc-inbound.conf").read_text(encoding="utf-8") == dialplan.render_inbound(s), hint
    assert (folder / "extensions.conf").read_text(encoding="utf-8") == dialplan.render_extensions_example(s), hint
    assert (folder / "pjsip.conf").read_text(encoding="utf-8") == dialplan.render_pjsip_example(s), hint


@pytest.mark.parametrize("root", ["relative/dir", "/", "/usr/lib/x"])
def test_provision_script_refuses_dangerous_roots(root):
    if os.geteuid() != 0:
        pytest.skip("the script checks for root first")
    result = subprocess.run(["bash", str(REPO / "scripts" / "provision-asterisk.sh")], capture_output=True, text=True,
                            env={**os.environ, "CC_ASTERISK_ROOT": root}, stdin=subprocess.DEVNULL, timeout=30)
    assert result.returncode == 1
    assert "provision-asterisk: ERROR:" in result.stderr
    assert result.stdout == ""
