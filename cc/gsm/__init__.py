"""GSM modem layer: the port the SMS gateway uses, our adapter over python-gsmmodem-new, a pty simulator.

Contract for the SMS gateway (stable; fields may be added, none removed):

``cc.gsm.types`` (standard library only)
    ``IncomingSms(sender, text, received_at, parts, storage_refs, complete=True, parts_expected=1,
    concat_ref=None)`` with ``.fingerprint`` (store it UNIQUE: a message re-read from the SIM after a crash
    then stays one row). ``text`` never contains lone surrogates. ``storage_refs`` are ``(memory, index)``
    pairs on the SIM, empty for directly delivered (+CMT) messages.
    ``SentPart(reference, part_no, parts, recipient)``; ``StatusReport(reference, recipient, delivered,
    status_code, at, final)`` - match it to a part by ``(reference, recipient)``; references are 0-255 and
    wrap, so also bound the match in time. ``ModemHealth(signal, registered, operator, imei, model)``.
    ``ModemDown(device, reason, at)``: the port vanished or the reader died -> ``close()``, back off,
    ``connect()`` again. Errors: ``SendRejected`` (a ``Refused``; ``.code`` = +CMS ERROR code,
    ``.permanent`` = do not retry), ``ModemTimeout`` (an ``Unreachable``: no answer); a failed ``send`` also
    carries ``.sent_parts`` (parts that went out before the failure). ``GsmModemPort`` is the Protocol.

``GsmModemPort`` methods
    ``connect()`` - opens the port and sets the modem up; raises ``Unreachable`` (no such port, no
    answer) or ``ConfigError`` (SIM PIN missing/wrong), each with a hint. Safe to call again to reconnect.
    ``close()``.
    ``send(phone, text, *, status_report=True, timeout=30) -> list[SentPart]`` - PDU mode (UCS2 for
    Chinese and emoji, concatenated parts when long); text mode for short GSM-7 texts if configured.
    ``events() -> queue.Queue[IncomingSms | StatusReport | ModemDown]`` - the same queue across reconnects;
    filled by the adapter's own worker thread (library callbacks only enqueue).
    ``stored_messages() -> list[IncomingSms]`` - what is on the SIM already; call after ``connect()``.
    ``delete_stored(sms)`` - only after the caller stored ``sms`` safely (Gammu's rule).
    ``health() -> ModemHealth`` (raises ``ModemTimeout``/``Unreachable`` when the modem does not answer).

Config used (``cc.config.ModemConfig``, ``gsm.modems[]``): ``device``, ``name``, ``baudrate``, ``pin``,
``mode`` (pdu | text: text mode only for short plain-ASCII texts, the rest still goes as PDUs; reading is
always done in PDU mode), ``rtscts`` (hardware flow control, default off; DSR/DTR flow control is never
used), ``smsc``. ``sms.multipart_timeout_seconds`` is the ``multipart_timeout`` below.

Implementations
    ``cc.gsm.modem.GsmModemAdapter(modem_config, *, multipart_timeout=300, log=None)`` - the real one
    (also ``wait_for_report(reference, recipient, timeout)``, ``skipped_setup`` = optional set-up commands
    the modem rejected, ``read_timeout``/``retry_delay`` for reading newly announced messages). Its module
    docstring lists each python-gsmmodem-new defect and where it is contained.
    ``cc.gsm.fake.FakeModem`` - in memory, for unit tests of the gateway.
    ``cc.gsm.simulator.ModemSimulator(personality="generic", *, delay=0, link=None, control=None,
    pin=None, auto_report=True, report_delay=0.05, report_status=0, three_wire=False)`` - a modem on a
    pty for integration tests and ``cc demo``: ``start()/stop()`` (or ``with``), ``device_path`` (stable
    symlink), ``deliver(sender, text, *, ucs2, gap, skip_parts, reverse)``, ``store()`` (on the SIM,
    unannounced), ``sent_messages()`` / ``wait_for_sent(n, timeout)``, ``on_sent(callback)`` (simulated customers
    replying), ``send_status_report(ref,
    status=...)``, ``fault(kind, **args)`` (kinds in ``FAULT_KINDS``, documented on ``fault``),
    ``stored()``, ``client_connected``. Personalities in ``cc.gsm.personalities``. CLI:
    ``cc gsm simulate|deliver|fault|sent|personalities``; control socket protocol: one JSON object per
    line (``{"cmd": "deliver"|"sent"|"fault"|"report"|"stored"|"ping", ...}``).

Import the submodules directly; this package imports nothing heavy.
"""
