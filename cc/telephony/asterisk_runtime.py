"""Run a real Asterisk 22 from the chroot made by ``scripts/provision-asterisk.sh``.

Used by the integration tests and by the IVR bench. One ``AsteriskRuntime`` is one Asterisk process
with a configuration folder of our own (``autoload=no``, only the modules listed in ``MODULES``), its own
run/log/spool folders and its own AMI port on 127.0.0.1, so two runs never clash (nor with a system
Asterisk). The chroot shares the host's network: ``AGI(agi://127.0.0.1:PORT/inbound)`` in its dialplan
reaches a server started on the host.

Mounts: Asterisk is started inside a private mount namespace (``unshare --mount --propagation private``)
where /proc is mounted and /dev bind-mounted into the chroot. Those mounts exist only in that namespace
and vanish with the Asterisk process, however it ends: nothing is ever left mounted on the host and no
host path is ever unmounted.

    rt = AsteriskRuntime(extensions=text)      # extensions.conf body (see cc.telephony.dialplan)
    rt.start()                                   # boots, waits for "fully booted", logs in to AMI
    rt.cli("core show channels")                 # asterisk -rx
    rt.originate("Local/s@cc-test-caller", context="cc-inbound", exten="116114",
                 variables={"CC_KEYS": "W1W2"})  # AMI Originate (async)
    rt.wait_for_event("UserEvent", UserEvent="CcFallback", timeout=10)
    rt.stop()
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cc.errors import ConfigError, Unreachable

DEFAULT_ROOT = "/var/cache/cc-asterisk/root"
MARKER = ".cc-provisioned"
PROVISION_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "provision-asterisk.sh"

# Loaded explicitly (autoload=no). Local channels, the bridging core, features and the manager are built
# into Asterisk 22. A module missing from the tree is skipped (see ``start``: `module show` lists what ran).
MODULES = [
    # dialplan and AGI
    "pbx_config.so", "res_agi.so", "res_speech.so",
    # applications
    "app_dial.so", "app_playback.so", "app_senddtmf.so", "app_record.so", "app_read.so", "app_echo.so",
    "app_verbose.so", "app_userevent.so", "app_stack.so", "app_exec.so", "app_originate.so",
    "app_mixmonitor.so", "app_chanspy.so", "app_voicemail.so", "app_sayunixtime.so", "app_waituntil.so",
    "app_system.so", "app_db.so",
    # functions
    "func_callerid.so", "func_channel.so", "func_strings.so", "func_logic.so", "func_cut.so", "func_db.so",
    "func_global.so", "func_math.so", "func_timeout.so", "func_env.so", "func_hangupcause.so",
    "func_uri.so", "func_rand.so", "func_shell.so",
    # media
    "res_musiconhold.so", "res_timing_timerfd.so", "res_adsi.so", "res_smdi.so",
    "format_gsm.so", "format_wav.so", "format_wav_gsm.so", "format_pcm.so", "format_sln.so",
    "codec_gsm.so", "codec_ulaw.so", "codec_alaw.so", "codec_a_mu.so", "codec_resample.so",
    "bridge_simple.so", "bridge_native_rtp.so", "bridge_builtin_features.so", "bridge_holding.so",
    # call control (cc/telephony/control_dialplan.py): pick-up, barge-in, conference, mute
    "app_directed_pickup.so", "app_bridgeaddchan.so", "bridge_softmix.so", "res_mutestream.so",
    # management
    "res_clioriginate.so",
]


# Contexts for tests and benchmarks, appended to a dialplan under test (``AsteriskRuntime.call`` uses them).
CALLER_CONTEXTS = """
[cc-test-caller]
; Originate Local/s@cc-test-caller: answers, waits CC_WAIT s, sends CC_KEYS (SendDTMF: w = 0.5 s, W = 1 s
; pause; CC_KEY_GAP ms between keys), then waits CC_HOLD s or until the other side hangs up.
exten => s,1,Answer()
 same => n,Wait(${IF($["${CC_WAIT}" = ""]?1:${CC_WAIT})})
 same => n,GotoIf($["${CC_KEYS}" = ""]?hold)
 same => n,SendDTMF(${CC_KEYS},${IF($["${CC_KEY_GAP}" = ""]?250:${CC_KEY_GAP})})
 same => n(hold),Wait(${IF($["${CC_HOLD}" = ""]?30:${CC_HOLD})})
 same => n,Hangup()
exten => h,1,UserEvent(CcCallerDone,Tag: ${CC_CALL_TAG})

[cc-test-operator]
; Dial(Local/s@cc-test-operator) stands for the operator's phone: rings, answers, hangs up after 1 s.
exten => s,1,UserEvent(CcOperatorRang,Tag: ${CC_CALL_TAG})
 same => n,Answer()
 same => n,Wait(1)
 same => n,Hangup()

[cc-test-nobody]
; An operator who never answers.
exten => s,1,UserEvent(CcOperatorRang,Tag: ${CC_CALL_TAG})
 same => n,Wait(60)

[cc-test-busy]
; A line that is busy.
exten => s,1,UserEvent(CcBusyRang,Tag: ${CC_CALL_TAG})
 same => n,Hangup(17)
"""

GENERAL = "[general]\nstatic = yes\nwriteprotect = yes\n\n[globals]\n"


def root_path(root: str | os.PathLike[str] | None = None) -> Path:
    return Path(root or os.environ.get("CC_ASTERISK_ROOT") or DEFAULT_ROOT)


def is_provisioned(root: str | os.PathLike[str] | None = None) -> bool:
    """True when the chroot is complete (the provisioning script's marker and binary are there)."""
    base = root_path(root)
    return (base / MARKER).is_file() and (base / "usr/sbin/asterisk").is_file()


def provision(root: str | os.PathLike[str] | None = None, *, timeout: float = 1200) -> Path:
    """Run scripts/provision-asterisk.sh (cached: about a second when the tree is complete)."""
    base = root_path(root)
    if os.geteuid() != 0:
        raise ConfigError("provisioning Asterisk needs root (debootstrap, chroot, mounts)",
                          "run as root, or run scripts/provision-asterisk.sh as root once")
    env = dict(os.environ, CC_ASTERISK_ROOT=str(base))
    try:
        proc = subprocess.run(["bash", str(PROVISION_SCRIPT)], env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Unreachable(f"provisioning Asterisk took longer than {timeout:.0f} s",
                          "check that Debian's package server is reachable") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise Unreachable(f"provisioning Asterisk failed: {last}", "run scripts/provision-asterisk.sh to see why")
    return base


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------------------------------------
# AMI: a small synchronous client (one reader thread; responses matched by ActionID, events kept in order)


Message = dict[str, str]


class AmiConnection:
    """Asterisk Manager Interface over TCP. Thread-safe ``action()``; events are buffered for ``wait_for``."""

    def __init__(self, host: str, port: int, username: str, secret: str, *, timeout: float = 5.0) -> None:
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
            self._sock.settimeout(timeout)
            banner = b""
            while not banner.endswith(b"\n") and len(banner) < 200:
                chunk = self._sock.recv(1)
                if not chunk:
                    break
                banner += chunk
        except OSError as exc:
            raise Unreachable(f"AMI at {host}:{port} did not answer: {exc}") from None
        self.banner = banner.decode(errors="replace").strip()
        if not self.banner.startswith("Asterisk Call Manager"):
            self._sock.close()
            raise Unreachable(f"AMI at {host}:{port}: not an Asterisk manager (got {self.banner!r})",
                              "another program may hold that port")
        self._sock.settimeout(None)
        self._file = self._sock.makefile("r", encoding="utf-8", errors="replace", newline="\r\n")
        self._send_lock = threading.Lock()
        self._cond = threading.Condition()
        self._responses: dict[str, list[Message]] = {}
        self._events: list[Message] = []
        self._closed = False
        self._ids = 0
        self._reader = threading.Thread(target=self._read_loop, name="ami-reader", daemon=True)
        self._reader.start()
        reply = self.action("Login", Username=username, Secret=secret, Events="on", timeout=timeout)
        if reply.get("Response") != "Success":
            self.close()
            raise Unreachable(f"AMI login refused: {reply.get('Message', reply)}")

    def _read_loop(self) -> None:
        message: Message = {}
        output: list[str] = []
        try:
            for line in self._file:
                line = line.rstrip("\r\n")
                if line == "":
                    if message:
                        if output:
                            message["Output"] = "\n".join(output)
                        self._dispatch(message)
                    message, output = {}, []
                    continue
                key, sep, value = line.partition(": ")
                if not sep:
                    key, sep, value = line.partition(":")
                if key == "Output":
                    output.append(value)
                elif key in message:
                    message[key] += "\n" + value
                else:
                    message[key] = value
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def _dispatch(self, message: Message) -> None:
        message["_received"] = f"{time.monotonic():.6f}"  # when it arrived (time.monotonic), for benchmarks
        with self._cond:
            if "Event" in message:
                self._events.append(message)
            action_id = message.get("ActionID")
            if action_id in self._responses:
                self._responses[action_id].append(message)
            self._cond.notify_all()

    def action(self, name: str, *, timeout: float = 10.0, variables: Mapping[str, str] | None = None,
               **fields: object) -> Message:
        """Send an action and return its response (the first message carrying our ActionID)."""
        with self._cond:
            self._ids += 1
            action_id = f"cc-{self._ids}"
            self._responses[action_id] = []
        lines = [f"Action: {name}", f"ActionID: {action_id}"]
        lines += [f"{key}: {value}" for key, value in fields.items()]
        lines += [f"Variable: {key}={value}" for key, value in (variables or {}).items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode()
        with self._send_lock:
            self._sock.sendall(data)
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._responses[action_id]:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    del self._responses[action_id]
                    raise Unreachable(f"AMI action {name} got no response within {timeout:.0f} s")
                self._cond.wait(left)
            reply = self._responses.pop(action_id)[0]
        return reply

    def events(self) -> list[Message]:
        with self._cond:
            return list(self._events)

    def wait_for(self, predicate: Callable[[Message], bool], *, timeout: float = 10.0, start: int = 0) -> Message:
        """The first buffered event (from index ``start``) matching ``predicate``, waiting up to ``timeout``."""
        return self.next_event(predicate, timeout=timeout, start=start)[1]

    def next_event(self, predicate: Callable[[Message], bool], *, timeout: float = 10.0,
                   start: int = 0) -> tuple[int, Message]:
        """Like ``wait_for``, also returning the event's index in the buffer (pass index + 1 as the next start)."""
        deadline = time.monotonic() + timeout
        index = start
        with self._cond:
            while True:
                while index < len(self._events):
                    event = self._events[index]
                    index += 1
                    if predicate(event):
                        return index - 1, event
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise TimeoutError(f"no matching AMI event within {timeout:.1f} s")
                self._cond.wait(left)

    def close(self) -> None:
        try:
            with self._send_lock:
                self._sock.sendall(b"Action: Logoff\r\n\r\n")
        except OSError:
            pass
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._reader.join(timeout=2)


# --------------------------------------------------------------------------------------------------------


@dataclass
class AsteriskRuntime:
    """One Asterisk process in the chroot, with its own configuration (see the module docstring)."""

    extensions: str = ""  # body of extensions.conf
    root: Path = field(default_factory=root_path)
    ami_port: int = 0  # 0: a free port is chosen
    keep_files: bool = False  # leave the run folder (configs, logs) behind after stop(), for debugging
    verbose: int = 3
    extra_configs: dict[str, str] = field(default_factory=dict)  # file name -> text (e.g. voicemail.conf)
    # Classic AGI: mount the host's / at /host in Asterisk's private namespace (read-write), so
    # AGI(HOST_EXEC,/path/on/host/program,args...) runs a host program (the venv's cc-agi) per call.
    host_access: bool = False
    env: dict[str, str] = field(default_factory=dict)  # extra environment for Asterisk (and its AGI children)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.run_id = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.base = f"/cc-runs/{self.run_id}"  # inside the chroot
        self.ami_username = "cc"
        self.ami_secret = secrets.token_hex(12)
        self.process: subprocess.Popen[bytes] | None = None
        self.ami: AmiConnection | None = None

    # paths -----------------------------------------------------------------------------------------
    def host_path(self, chroot_path: str) -> Path:
        """Where a path inside the chroot is on the host."""
        return self.root / chroot_path.lstrip("/")

    @property
    def conf_path(self) -> str:
        return f"{self.base}/etc/asterisk.conf"

    @property
    def host_exec(self) -> str:
        """With ``host_access``: the program (as Asterisk sees it) that runs a host program, for AGI()."""
        return f"{self.base}/bin/host-exec"

    @property
    def log_file(self) -> Path:
        return self.host_path(f"{self.base}/log/full")

    def _module_dir(self) -> str:
        found = sorted(self.root.glob("usr/lib/*/asterisk/modules")) or sorted(self.root.glob("usr/lib/asterisk/modules"))
        if not found:
            raise ConfigError(f"no Asterisk modules folder under {self.root}", "run scripts/provision-asterisk.sh")
        return "/" + str(found[0].relative_to(self.root))

    # configuration ------------------------------------------------------------------------------------
    def _write_configs(self) -> None:
        base = self.base
        for sub in ("etc", "lib", "spool", "run", "log", "sounds"):
            self.host_path(f"{base}/{sub}").mkdir(parents=True, exist_ok=True)
        moddir = self._module_dir()
        available = {p.name for p in self.host_path(moddir).iterdir()}
        modules = [m for m in MODULES if m in available]
        files = {
            "asterisk.conf": f"""[directories]
astetcdir => {base}/etc
astmoddir => {moddir}
astvarlibdir => /var/lib/asterisk
astdbdir => {base}/lib
astkeydir => {base}/lib
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => {base}/spool
astrundir => {base}/run
astlogdir => {base}/log
astsbindir => /usr/sbin

[options]
verbose = {self.verbose}
debug = 0
nocolor = yes
transmit_silence = no
maxcalls = 2000
maxfiles = 8192
hideconnect = yes
defaultlanguage = en
""",
            "modules.conf": "[modules]\nautoload = no\n" + "".join(f"load => {m}\n" for m in modules),
            "logger.conf": """[general]
dateformat = %F %T.%3q
[logfiles]
full => notice,warning,error,verbose,dtmf
""",
            "manager.conf": f"""[general]
enabled = yes
port = {self.ami_port}
bindaddr = 127.0.0.1
displayconnects = no

[{self.ami_username}]
secret = {self.ami_secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all
""",
            "extensions.conf": self.extensions,
            "musiconhold.conf": "[general]\n" + ("[default]\nmode = files\ndirectory = moh\n"
                                                   if (self.root / "usr/share/asterisk/moh").is_dir() else ""),
            "voicemail.conf": "[general]\nformat = wav\nattach = no\n[cc]\noperator => 0000,Operator\n",
            "cdr.conf": "[general]\nenable = no\n",
            "cel.conf": "[general]\nenable = no\n",
            "indications.conf": "[general]\ncountry = cn\n[cn]\ndescription = China\nringcadence = 1000,4000\n"
            "dial = 450\nring = 450/1000,0/4000\nbusy = 450/350,0/350\ncongestion = 450/700,0/700\n",
            "features.conf": "[general]\n",
            "ccss.conf": "[general]\n",
            "rtp.conf": "[general]\nrtpstart = 20000\nrtpend = 20999\n",
            "acl.conf": "",
            "udptl.conf": "[general]\n",
        }
        files.update(self.extra_configs)
        for name, text in files.items():
            self.host_path(f"{base}/etc/{name}").write_text(text, encoding="utf-8")

    def write_extensions(self, text: str, *, reload: bool = True) -> None:
        """Replace extensions.conf (and reload the dialplan when running)."""
        self.extensions = text
        self.host_path(f"{self.base}/etc/extensions.conf").write_text(text, encoding="utf-8")
        if reload and self.running:
            out = self.cli("dialplan reload")
            if "Dialplan reloaded" not in out and "reloaded" not in out.lower():
                raise Unreachable(f"dialplan reload failed: {out.strip()}")

    def add_sounds(self, source: str | os.PathLike[str], name: str = "cc") -> str:
        """Copy a folder of sound files into this run; returns the folder's path as Asterisk sees it
        (use it as a prefix in Playback/STREAM FILE: ``f"{prefix}/welcome"``, no extension)."""
        target = self.host_path(f"{self.base}/sounds/{name}")
        shutil.copytree(source, target, dirs_exist_ok=True)
        return f"{self.base}/sounds/{name}"

    # lifecycle ----------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, timeout: float = 30.0) -> AsteriskRuntime:
        if not is_provisioned(self.root):
            raise ConfigError(f"no provisioned Asterisk in {self.root}", "run scripts/provision-asterisk.sh as root")
        if os.geteuid() != 0:
            raise ConfigError("running Asterisk in its chroot needs root")
        if not self.ami_port:
            self.ami_port = free_port()
        _remove_stale_runs(self.root)
        self._write_configs()
        script = 'set -e; mount -t proc proc "$1/proc"; mount --rbind /dev "$1/dev"; '
        if self.host_access:
            script += 'mkdir -p "$1/host"; mount --rbind / "$1/host"; '
            wrapper = self.host_path(self.host_exec)
            wrapper.parent.mkdir(parents=True, exist_ok=True)
            wrapper.write_text('#!/bin/sh\n# run a host program (classic AGI): host-exec /path/on/host ARGS...\n'
                               'exec chroot /host "$@"\n', encoding="utf-8")
            wrapper.chmod(0o755)
        script += 'exec chroot "$1" /usr/sbin/asterisk -f -n -C "$2"'

        self._console = open(self.host_path(f"{self.base}/log/console"), "wb")
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh",
             str(self.root), self.conf_path],
            stdin=subprocess.DEVNULL, stdout=self._console, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent, env={**os.environ, **self.env} if self.env else None)
        try:
            self._wait_booted(timeout)
            self.ami = AmiConnection("127.0.0.1", self.ami_port, self.ami_username, self.ami_secret)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_booted(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if not self.running:
                raise Unreachable(f"Asterisk exited during start-up: {self._tail()}")
            try:
                proc = self._rx("core waitfullybooted", timeout=max(1.0, deadline - time.monotonic()))
                last = (proc.stdout + proc.stderr).strip()
                if proc.returncode == 0 and "fully booted" in last.lower():
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.1)
        raise Unreachable(f"Asterisk did not finish booting within {timeout:.0f} s ({last or self._tail()})")

    def _tail(self, lines: int = 8) -> str:
        text = ""
        for path in (self.host_path(f"{self.base}/log/console"), self.log_file):
            try:
                text += path.read_text(errors="replace")
            except OSError:
                pass
        return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop Asterisk (gracefully, then by signal); its mounts go with its namespace."""
        if self.ami is not None:
            self.ami.close()
            self.ami = None
        if self.process is not None:
            if self.process.poll() is None:
                try:
                    self._rx("core stop now", timeout=5)
                except (subprocess.TimeoutExpired, OSError):
                    pass
                try:
                    self.process.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.process.terminate()
                    try:
                        self.process.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        self.process.kill()
                        self.process.wait(timeout=5)
            self.process = None
            self._console.close()
        if not self.keep_files:
            run_dir = self.host_path(self.base)
            if run_dir.is_dir() and not _has_mounts_below(run_dir):
                shutil.rmtree(run_dir, ignore_errors=True)

    def __enter__(self) -> AsteriskRuntime:
        return self.start() if not self.running else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # commands -----------------------------------------------------------------------------------------
    def _rx(self, command: str, *, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["chroot", str(self.root), "/usr/sbin/asterisk", "-C", self.conf_path, "-rx", command],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)

    def cli(self, command: str, *, timeout: float = 10.0) -> str:
        """Run one CLI command (``asterisk -rx``) and return its output."""
        try:
            proc = self._rx(command, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Unreachable(f"Asterisk CLI '{command}' did not answer within {timeout:.0f} s") from None
        if proc.returncode != 0:
            raise Unreachable(f"Asterisk CLI '{command}' failed: {(proc.stderr or proc.stdout).strip()}")
        return proc.stdout

    def originate(self, channel: str, *, context: str, exten: str, priority: int = 1,
                  variables: Mapping[str, str] | None = None, caller_id: str | None = None,
                  timeout: float = 30.0) -> str:
        """Start a call asynchronously through AMI; returns the ActionID-independent unique call tag
        ``CC_CALL_TAG`` (also set as a channel variable on both halves of a Local channel)."""
        assert self.ami is not None, "start() first"
        tag = secrets.token_hex(6)
        fields: dict[str, object] = {"Channel": channel, "Context": context, "Exten": exten,
                                     "Priority": priority, "Timeout": int(timeout * 1000), "Async": "true"}
        if caller_id:
            fields["CallerID"] = caller_id
        # "__" makes the tag inherited by every channel the call creates (Local halves, dialled operator).
        reply = self.ami.action("Originate", variables={"__CC_CALL_TAG": tag, **(variables or {})}, **fields)
        if reply.get("Response") != "Success":
            raise Unreachable(f"originate {channel} failed: {reply.get('Message', reply)}")
        return tag

    def call(self, exten: str, context: str, *, keys: str = "", wait: float = 1.0, hold: float = 30.0,
             key_gap_ms: int = 250, caller_id: str | None = None, timeout: float = 30.0) -> str:
        """A test caller (``[cc-test-caller]`` from ``CALLER_CONTEXTS``) dials EXTEN@CONTEXT, waits
        ``wait`` seconds after the answer, keys ``keys`` with SendDTMF (``w`` = 0.5 s pause, ``W`` = 1 s),
        then stays ``hold`` seconds or until the far end hangs up. Returns the call tag; the caller's
        hang-up raises ``UserEvent CcCallerDone`` with ``Tag``."""
        variables = {"CC_KEYS": keys, "CC_WAIT": f"{wait:g}", "CC_HOLD": f"{hold:g}", "CC_KEY_GAP": str(key_gap_ms)}
        if caller_id:
            variables["CC_CALLER_NUM"] = caller_id
        return self.originate("Local/s@cc-test-caller", context=context, exten=exten, variables=variables,
                              caller_id=caller_id, timeout=timeout)

    def originate_cli(self, channel: str, *, context: str, exten: str) -> str:
        """The same through the CLI: ``channel originate CHANNEL extension EXTEN@CONTEXT``."""
        return self.cli(f"channel originate {channel} extension {exten}@{context}")

    # observation --------------------------------------------------------------------------------------
    def event_mark(self) -> int:
        """An index into the AMI event buffer: pass it as ``start`` to see only later events."""
        assert self.ami is not None
        return len(self.ami.events())

    def wait_for_event(self, event: str | None = None, *, timeout: float = 10.0, start: int = 0,
                       **match: str) -> Message:
        """Wait for an AMI event by name and header values, e.g.
        ``wait_for_event("UserEvent", UserEvent="CcFallback", CC_CALL_TAG=tag)``."""
        assert self.ami is not None

        def predicate(message: Message) -> bool:
            if event is not None and message.get("Event") != event:
                return False
            return all(message.get(key) == value for key, value in match.items())

        return self.ami.wait_for(predicate, timeout=timeout, start=start)

    def user_events(self, name: str | None = None) -> list[Message]:
        assert self.ami is not None
        return [e for e in self.ami.events() if e.get("Event") == "UserEvent" and (name is None or e.get("UserEvent") == name)]

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern: str, *, timeout: float = 10.0) -> re.Match[str]:
        """Wait until the verbose log (``log/full``) has a line matching the regular expression."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = regex.search(self.log_text())
            if found:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no log line matching {pattern!r} within {timeout:.1f} s")
            time.sleep(0.05)

    def active_channels(self) -> int:
        out = self.cli("core show channels count")
        found = re.search(r"(\d+) active channel", out)
        return int(found.group(1)) if found else 0

    def wait_idle(self, *, timeout: float = 10.0) -> None:
        """Wait until no channel is up (every call finished)."""
        deadline = time.monotonic() + timeout
        while self.active_channels():
            if time.monotonic() >= deadline:
                raise TimeoutError(f"channels still up after {timeout:.1f} s")
            time.sleep(0.1)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the process that started it dies (a killed test run
    leaves no Asterisk behind). Start runtimes from a long-lived thread (the main one): the signal follows
    the thread that forked."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _remove_stale_runs(root: Path) -> None:
    """Delete run folders of processes that no longer exist (a run folder is named after its starter's pid)."""
    runs = root / "cc-runs"
    if not runs.is_dir():
        return
    for run in runs.iterdir():
        pid = run.name.split("-", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists() and not _has_mounts_below(run):
            shutil.rmtree(run, ignore_errors=True)


def _has_mounts_below(path: Path) -> bool:
    target = str(path.resolve())
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            mount_point = line.split()[4].encode().decode("unicode_escape")
            if mount_point == target or mount_point.startswith(target + "/"):
                return True
    return False


@contextmanager
def running_asterisk(extensions: str, **kwargs: object) -> Iterator[AsteriskRuntime]:
    runtime = AsteriskRuntime(extensions=extensions, **kwargs)  # type: ignore[arg-type]
    runtime.start()
    try:
        yield runtime
    finally:
        runtime.stop()
