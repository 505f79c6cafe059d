"""The one YAML configuration file, loaded into typed sections.

Every key is documented in ``examples/cc.yaml``. ``cc`` runs with no file at all. A broken file is a
``ConfigError`` that names the file, the line and the key.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cc.errors import ConfigError


@dataclass
class OrdersConfig:
    confirmation_timeout_minutes: int = 120  # awaiting_confirmation expires after this
    default_start_offset_days: int = 1  # deliveries start tomorrow unless --start is given


@dataclass
class DairyConfig:
    drop_dir: str | None = None  # folder the dairy picks order files from; default: <db folder>/dairy
    url: str | None = None  # HTTP endpoint receiving one JSON POST per order (optional)
    format: str = "json"  # json | csv, for files in drop_dir
    timeout_seconds: float = 10.0
    max_attempts: int = 12
    backoff_seconds: float = 30.0  # first retry delay; doubles per attempt, capped at one hour


@dataclass
class ModemConfig:
    device: str = ""  # serial device, e.g. /dev/ttyUSB0
    name: str = ""  # label in status output; defaults to the device
    baudrate: int = 115200
    pin: str | None = None  # SIM PIN when the SIM asks for one
    mode: str = "pdu"  # pdu | text
    rtscts: bool = False  # hardware flow control; off for 3-wire boards
    smsc: str | None = None  # SMS centre number, when the SIM does not carry one


@dataclass
class SmsConfig:
    brand: str = "XX乳业"
    confirm_template: str = (
        "【{brand}】订单{code}：{items}，{plan}，合计¥{total}，回复Y确认，回复N取消"
    )
    rate_per_minute: int = 0  # per modem; 0 = unlimited
    quiet_hours: str | None = "21:00-08:00"  # no marketing SMS in this local window; None = always allowed
    max_attempts: int = 5
    retry_backoff_seconds: float = 10.0
    lease_seconds: float = 60.0
    multipart_timeout_seconds: float = 300.0  # give up waiting for missing parts of a long SMS
    expiry_notice: bool = True  # tell the customer by SMS when an unanswered order expires
    heartbeat_seconds: float = 30.0  # how often each modem worker refreshes its health row (signal, network)
    expire_every_seconds: float = 30.0  # how often the daemon expires unanswered orders
    reconnect_max_seconds: float = 60.0  # reconnect backoff doubles from 1 s up to this
    reset_after_timeouts: int = 3  # consecutive send timeouts before the worker resets (reconnects) the modem
    log_file: str | None = None  # daemon log file; default: stderr


@dataclass
class GsmConfig:
    modems: list[ModemConfig] = field(default_factory=list)


@dataclass
class AgiConfig:
    host: str = "127.0.0.1"
    port: int = 4573
    secret: str | None = None  # when set, AGI URLs must carry ?secret=...
    workers: int = 1  # processes accepting calls on the one port (cc agi serve); about one per CPU core


@dataclass
class AmiConfig:
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "cc"
    secret: str = ""
    timeout_seconds: float = 5.0
    reconnect_max_seconds: float = 5.0  # after Asterisk restarts, reconnect attempts back off from 0.1 s up to this


@dataclass
class CallControlConfig:
    context: str = "cc-control"  # dialplan context for call control (transfers, click-to-dial, spy, relays)
    outbound_dial: str = "PJSIP/{number}@trunk"  # how outside numbers are dialled ({number}: E.164, {digits}: without +)
    caller_id: str = ""  # caller id shown on outbound calls; default: asterisk.hotline
    ring_seconds: int = 30  # how long an agent's, a customer's or a transfer target's phone rings
    expert_group: str = "expert"  # agent group that transfers and conferences to "expert" ring
    phone_secret: str = ""  # derives the agents' SIP passwords in the generated PJSIP endpoints (HMAC); empty: CHANGE_ME
    relay_max_attempts: int = 3  # outbound calls to deliver a voice relay before it is marked failed
    relay_retry_seconds: int = 600  # wait between two delivery attempts of one relay
    relay_batch: int = 10  # relays delivered at once by one `cc call relay deliver`


@dataclass
class AsteriskConfig:
    hotline: str = "116114"  # the number callers dial
    operator_dial: str = "PJSIP/operator"  # fallback when the AGI server is down
    ami: AmiConfig = field(default_factory=AmiConfig)
    context: str = "cc-inbound"  # dialplan context `cc asterisk config` writes the hotline into
    agi_url: str | None = None  # AGI URL Asterisk calls; default agi://<agi.host>:<agi.port>/inbound
    apology_prompt: str = "im-sorry&pls-hold-while-try"  # played when the AGI server is down or fails
    operator_timeout_seconds: int = 30  # how long the fallback rings operator_dial
    fallback_voicemail: str | None = None  # mailbox (e.g. operator@cc) when the operator does not answer
    control: CallControlConfig = field(default_factory=CallControlConfig)


@dataclass
class IvrConfig:
    tree: str | None = None  # YAML menu tree; default: the shipped data/ivr/default.yaml
    prompts_dir: str | None = None  # sound files; default: <db folder>/prompts
    voicemail_dir: str | None = None  # default: <db folder>/voicemail
    asterisk_prompts_dir: str | None = None  # prompts_dir as Asterisk sees it (chroot/other host); default: same
    asterisk_recordings_dir: str | None = None  # voicemail_dir as Asterisk sees it; default: same
    record_format: str = "wav"  # format Asterisk records voicemail, relays and greetings in
    dial_template: str = "PJSIP/{number}@trunk"  # Dial() target of transfer nodes
    tts_voice: str = "cmn"  # espeak-ng voice for `cc ivr prompts build` (cmn = Mandarin)


@dataclass
class AcdConfig:
    enabled: bool | None = None  # IVR queue nodes hand callers to the ACD; default (unset): when any agent is set up
    queues: str | None = None  # YAML queue definitions imported on first use; default: the shipped data/queues/default.yaml
    heartbeat_stale_seconds: float = 60.0  # an agent whose console heartbeat is older is never offered a call (0: no check)
    poll_seconds: float = 1.0  # how often a waiting caller's handler looks for an agent (and runs the dispatcher)
    handler_lease_seconds: float = 30.0  # a waiting caller whose handler shows no sign of life this long is taken out (0: never)
    recordings_dir: str | None = None  # call recordings (MixMonitor); default: <db folder>/recordings
    asterisk_recordings_dir: str | None = None  # recordings_dir as Asterisk sees it; default: same
    record_format: str = "wav"
    music_class: str = "default"  # music on hold class for waiting callers
    dial_options: str = ""  # extra Dial() options when ringing an agent (e.g. "t" to let the agent transfer)
    callbacks: bool = False  # the ACD makes call backs itself when their turn comes (run `cc queue callback-run`)
    callback_max_attempts: int = 3  # calls to a customer before their call back is given up
    callback_retry_seconds: int = 300  # wait before calling a customer again who did not answer
    outbound_wrap_up_seconds: int = 10  # an agent's wrap-up after a click-to-dial call


@dataclass
class ComplaintCategory:
    name: str = "other"  # key used on the command line (cc complaint new --category NAME)
    label: str = "其他"  # what staff and customers read
    sla_hours: float = 72.0  # a complaint of this category must be closed within this many hours


def _default_complaint_categories() -> list[ComplaintCategory]:
    return [
        ComplaintCategory("delivery", "配送问题", 24.0),
        ComplaintCategory("quality", "产品质量", 24.0),
        ComplaintCategory("billing", "扣款/账户", 48.0),
        ComplaintCategory("service", "服务态度", 48.0),
        ComplaintCategory("other", "其他", 72.0),
    ]


@dataclass
class ComplaintsConfig:
    categories: list[ComplaintCategory] = field(default_factory=_default_complaint_categories)
    high_priority_sla_factor: float = 0.5  # a high-priority complaint's SLA is this fraction of its category's
    low_priority_sla_factor: float = 2.0  # a low-priority complaint's SLA is this multiple of its category's
    escalate_to: str | None = None  # user a complaint is reassigned to when escalated; None keeps the assignee
    close_sms: bool = True  # text the customer when their complaint is closed
    close_template: str = "【{brand}】您反馈的问题（编号{id}）已处理完毕：{resolution}。如有疑问请致电{hotline}。"


@dataclass
class CampaignsConfig:
    max_per_run: int = 2000  # rate limit: at most this many contacts per campaign run (the rest wait for the next run)
    batch_size: int = 1000  # contacts written per transaction during a run (short write locks)
    conversion_days: int = 7  # an order within this many days of a contact counts as a conversion
    call_after_days: int = 2  # sms_then_call: no reply or order this many days after the SMS -> call list
    preview_samples: int = 5  # sample messages `cc campaign preview` renders


@dataclass
class CustomReport:
    name: str = "top_zones"  # `cc report custom NAME`
    description: str = "Customers and orders per delivery zone"
    sql: str = (
        "SELECT c.zone, COUNT(DISTINCT c.id) AS customers, COUNT(o.id) AS orders FROM customers c"
        " LEFT JOIN orders o ON o.customer_id = c.id AND o.created_at >= :since GROUP BY c.zone ORDER BY orders DESC"
    )  # one SELECT, run on a read-only connection; :name placeholders are parameters
    params: list[str] = field(default_factory=lambda: ["since"])  # parameters the query needs (--param name=value)


@dataclass
class ReportsConfig:
    custom: list[CustomReport] = field(default_factory=list)  # named SQL reports (read-only)
    custom_file: str | None = None  # a YAML file with more named reports (a list of name/description/sql/params)
    default_days: int = 7  # without --from, reports cover this many days up to --to (default today)
    service_level_seconds: int = 20  # service level: callers answered within this many seconds (wallboard and reports)


@dataclass
class WallboardConfig:
    service_level_target: float = 0.8  # alert when a queue's service level today falls below this (0-1)
    service_level_min_offered: int = 5  # ... once at least this many callers were offered today
    caller_wait_alert_seconds: int = 120  # alert when a caller waits longer (critical at twice as long)
    modem_stale_seconds: int = 0  # a modem with no heartbeat this long is down; 0: as `cc sms status` (3 x sms.heartbeat_seconds, >= 90)
    agi_stale_seconds: int = 30  # the FastAGI server is down when its heartbeat is older (it beats every 5 s)
    stuck_ringing_seconds: int = 60  # alert when an agent stays ringing longer (0: never)
    stuck_on_call_seconds: int = 1800  # ... on one call longer
    stuck_wrap_up_seconds: int = 300  # ... in wrap-up longer
    stuck_paused_seconds: int = 1800  # ... paused longer
    stuck_away_seconds: int = 900  # ... away longer


@dataclass
class Config:
    db: str = "cc.db"
    locale: str | None = None  # zh_CN | en; default from LANG
    timezone: str = "Asia/Shanghai"
    orders: OrdersConfig = field(default_factory=OrdersConfig)
    dairy: DairyConfig = field(default_factory=DairyConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    gsm: GsmConfig = field(default_factory=GsmConfig)
    agi: AgiConfig = field(default_factory=AgiConfig)
    asterisk: AsteriskConfig = field(default_factory=AsteriskConfig)
    ivr: IvrConfig = field(default_factory=IvrConfig)
    acd: AcdConfig = field(default_factory=AcdConfig)
    complaints: ComplaintsConfig = field(default_factory=ComplaintsConfig)
    campaigns: CampaignsConfig = field(default_factory=CampaignsConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    wallboard: WallboardConfig = field(default_factory=WallboardConfig)
    source: str | None = field(default=None, metadata={"internal": True})  # the file it came from

    @property
    def data_dir(self) -> Path:
        """Folder for files that belong with the database (dairy drops, prompts, recordings)."""
        return Path(self.db).resolve().parent

    def resolved_locale(self) -> str:
        if self.locale:
            return self.locale
        lang = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
        return "zh_CN" if lang.lower().startswith("zh") else "en"


def load_config(path: str | Path | None = None, *, db: str | None = None) -> Config:
    """Read the config file (``--config``, else ``CC_CONFIG``, else none) and apply ``--db`` / ``CC_DB``."""
    path = path or os.environ.get("CC_CONFIG") or None
    config = Config() if path is None else _load_file(Path(path))
    db = db or os.environ.get("CC_DB")
    if db:
        config.db = db
    _check_values(config)
    return config


def _load_file(path: Path) -> Config:
    from cc.yamlfile import read_file

    node = read_file(path, "config file", "check --config or CC_CONFIG", empty_ok=True, error=ConfigError).root
    config = Config() if node is None else _build(Config, node, path, "")
    config.source = str(path)
    return config


def _build(kind: type, node: Any, path: Path, prefix: str) -> Any:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{path}, line {node.start_mark.line + 1}: {prefix or 'the file'} must be a mapping of keys")
    fields = {f.name: f for f in dataclasses.fields(kind) if not f.metadata.get("internal")}
    hints = typing.get_type_hints(kind)
    values: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        dotted = f"{prefix}.{key}" if prefix else key
        line = key_node.start_mark.line + 1
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{path}, line {line}: unknown key '{dotted}'", f"known keys here: {known}")
        values[key] = _convert(hints[key], value_node, path, dotted, line)
    return kind(**values)


def _convert(hint: Any, node: Any, path: Path, dotted: str, line: int) -> Any:
    import yaml

    optional = False
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        hint = args[0]
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, node, path, dotted)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(node, yaml.SequenceNode):
            raise ConfigError(f"{path}, line {line}: '{dotted}' must be a list")
        return [_convert(item, child, path, f"{dotted}[{i}]", child.start_mark.line + 1) for i, child in enumerate(node.value)]
    if not isinstance(node, yaml.ScalarNode):
        raise ConfigError(f"{path}, line {line}: '{dotted}' must be a single value")
    value = yaml.safe_load(yaml.serialize(node)) if node.tag != "tag:yaml.org,2002:str" else node.value
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{path}, line {line}: '{dotted}' needs a value")
    want = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}[hint]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if hint is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(node.value)  # a PIN or a number written without quotes
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{path}, line {line}: '{dotted}' must be {want}, not {node.value!r}")
    return value


def _check_values(config: Config) -> None:
    where = config.source or "config"
    if config.dairy.format not in ("json", "csv"):
        raise ConfigError(f"{where}: dairy.format must be json or csv, not {config.dairy.format!r}")
    for i, modem in enumerate(config.gsm.modems):
        if not modem.device:
            raise ConfigError(f"{where}: gsm.modems[{i}].device is missing", "give the serial device, e.g. /dev/ttyUSB0")
        if modem.mode not in ("pdu", "text"):
            raise ConfigError(f"{where}: gsm.modems[{i}].mode must be pdu or text")
    if config.locale not in (None, "zh_CN", "en"):
        raise ConfigError(f"{where}: locale must be zh_CN or en, not {config.locale!r}")
    if not 1 <= config.agi.workers <= 64:
        raise ConfigError(f"{where}: agi.workers must be 1 to 64, not {config.agi.workers!r}", "about one per CPU core")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(config.timezone)
    except Exception:
        raise ConfigError(f"{where}: unknown timezone {config.timezone!r}", "use an IANA name such as Asia/Shanghai") from None
