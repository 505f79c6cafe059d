"""The SMS gateway daemon (``cc sms serve``): one worker thread per modem plus a housekeeper.

A worker owns one modem port (``cc.gsm`` adapter, passed in as a factory) and its own database connection
(its own ``SmsService``). It connects with backoff, stores what is on the SIM before deleting it, then loops:
incoming SMS and status reports from the port's event queue first, then one outbox message at a time,
claimed with a lease. Repeated send timeouts reset the modem (close and reconnect); the port vanishing
(``ModemDown``) reconnects. The housekeeper expires unanswered orders and handles replies a crashed run
stored but did not act on. ``stop()`` (SIGTERM/SIGINT) lets each worker finish the step it is in.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from cc.errors import CcError, Unreachable

log = logging.getLogger("cc.sms")


def modem_name(modem: Any) -> str:
    return modem.name or modem.device


def _is_incoming(event: Any) -> bool:
    return hasattr(event, "sender") and hasattr(event, "text")


def _is_report(event: Any) -> bool:
    return hasattr(event, "reference") and hasattr(event, "delivered")


def close_sms(sms: Any) -> None:
    """Close the connection of an SmsService from ``make_sms()`` (each thread's own) when its thread is done
    with it: otherwise it stays open until a full garbage collection (the services hold reference cycles)."""
    conn = getattr(getattr(sms, "store", None), "conn", None)
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing is best effort at the end of a thread
            log.debug("closing the database connection failed", exc_info=True)


def _modem_fault(exc: BaseException) -> bool:
    """The modem (not the destination) failed: no answer, port gone."""
    return isinstance(exc, (Unreachable, TimeoutError, OSError))


class ModemWorker(threading.Thread):
    def __init__(self, gateway: SmsGateway, modem: Any) -> None:
        super().__init__(name=f"sms-{modem_name(modem)}", daemon=True)
        self.gateway = gateway
        self.modem = modem
        self.label = modem_name(modem)
        self.connected = threading.Event()

    def run(self) -> None:
        gw = self.gateway
        try:
            sms = gw.make_sms()
            sms.deliver_now = not gw.housekeeping  # the housekeeper hands confirmed orders to the dairy
        except Exception:
            log.exception("%s: cannot open the database", self.label)
            return
        try:
            released = sms.release_leases(self.label)
            if released:
                log.warning("%s: %d message(s) were being sent when the last run stopped; they go again", self.label, released)
            sms.heartbeat(self.label, device=self.modem.device, state="starting", pid=os.getpid())
        except Exception:
            log.exception("%s: cannot write the modem row", self.label)
        backoff = 1.0
        first = True
        port = None
        while not gw.stopping.is_set():
            if not first:
                self._safe_heartbeat(sms, state="reconnecting", add_reconnects=1)
            first = False
            try:
                if port is None:  # one port object per worker: connect() again reconnects it
                    port = gw.make_port(self.modem)
                port.connect()
            except Exception as exc:  # noqa: BLE001 - any failure to connect is retried with backoff
                message = exc.message if isinstance(exc, CcError) else f"{type(exc).__name__}: {exc}"
                hint = f" ({exc.hint})" if isinstance(exc, CcError) and exc.hint else ""
                log.error("%s: cannot connect: %s%s; retrying in %.0f s", self.label, message, hint, backoff)
                self._safe_heartbeat(sms, state="reconnecting", last_error=message + hint, last_error_at=sms._now())
                gw.stopping.wait(backoff)
                backoff = min(backoff * 2, gw.config.sms.reconnect_max_seconds)
                continue
            backoff = 1.0
            log.info("%s: connected", self.label)
            try:
                self.serve(sms, port)
            except Exception as exc:  # noqa: BLE001 - the worker must outlive any one failure
                log.exception("%s: worker step failed; reconnecting", self.label)
                self._safe_heartbeat(sms, last_error=f"{type(exc).__name__}: {exc}", last_error_at=sms._now())
                gw.stopping.wait(1.0)
            finally:
                self.connected.clear()
                self._close(port)
        self._safe_heartbeat(sms, state="stopped")
        close_sms(sms)
        log.info("%s: stopped", self.label)

    @staticmethod
    def _close(port: Any) -> None:
        if port is None:
            return
        try:
            port.close()
        except Exception:  # noqa: BLE001
            log.debug("close failed", exc_info=True)

    def _safe_heartbeat(self, sms: Any, **fields: Any) -> None:
        try:
            sms.heartbeat(self.label, **fields)
        except Exception:  # noqa: BLE001
            log.debug("heartbeat failed", exc_info=True)

    def _health(self, sms: Any, port: Any) -> None:
        try:
            health = port.health()
        except Exception as exc:  # noqa: BLE001
            log.warning("%s: health check failed: %s", self.label, exc)
            return
        sms.heartbeat(
            self.label, state="connected", signal=health.signal, registered=int(bool(health.registered)),
            operator=health.operator, imei=health.imei, model=health.model, last_success_at=sms._now(),
            queue_depth=sms.queue_depth(),
        )

    def serve(self, sms: Any, port: Any) -> None:
        """Work one connected modem until it goes down, needs a reset, or the daemon stops."""
        gw = self.gateway
        cfg = gw.config.sms
        events = port.events()
        self._health(sms, port)
        for stored in port.stored_messages():  # what arrived while nobody was listening
            self._incoming(sms, port, stored)
        sms.handle_pending_inbox()
        self.connected.set()
        last_health = time.monotonic()
        timeouts = 0
        next_send = 0.0
        interval = 60.0 / cfg.rate_per_minute if cfg.rate_per_minute > 0 else 0.0
        wait = 0.0
        while not gw.stopping.is_set():
            # 1. everything the modem told us
            try:
                event = events.get(timeout=wait) if wait > 0 else events.get_nowait()
            except queue.Empty:
                event = None
            while event is not None:
                if _is_incoming(event):
                    self._incoming(sms, port, event)
                elif _is_report(event):
                    sms.record_report(self.label, event)
                else:
                    log.error("%s: modem went away (%s); reconnecting", self.label, type(event).__name__)
                    self._safe_heartbeat(sms, state="reconnecting", last_error="modem went away", last_error_at=sms._now())
                    return
                try:
                    event = events.get_nowait()
                except queue.Empty:
                    event = None
            if gw.stopping.is_set():
                return
            # 2. one message out
            wait = gw.idle_wait
            now = time.monotonic()
            if now >= next_send:
                claimed = sms.claim_next(self.label)
                if claimed is not None:
                    next_send = now + interval
                    wait = 0.0
                    if not self._send(sms, port, claimed):
                        timeouts += 1
                        if timeouts >= max(1, cfg.reset_after_timeouts):
                            log.error("%s: %d sends timed out in a row; resetting the modem", self.label, timeouts)
                            return
                    else:
                        timeouts = 0
            else:
                wait = min(gw.idle_wait, next_send - now)
            # 3. heartbeat, and a look at the SIM: a message whose notification was lost (the modem did not
            #    answer while we read it) is still there and is stored now, once.
            if time.monotonic() - last_health >= cfg.heartbeat_seconds:
                self._health(sms, port)
                for stored in port.stored_messages():
                    self._incoming(sms, port, stored)
                last_health = time.monotonic()

    def _send(self, sms: Any, port: Any, claimed: Any) -> bool:
        """Send one claimed message; False when the modem itself failed (counts towards a reset)."""
        try:
            parts = port.send(claimed.phone, claimed.text, status_report=True, timeout=self.gateway.send_timeout)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded on the message
            message = exc.message if isinstance(exc, CcError) else f"{type(exc).__name__}: {exc}"
            modem_fault = _modem_fault(exc)
            partial = getattr(exc, "sent_parts", None)
            if partial:
                message += f" (after {len(partial)} part(s) went out)"
            status = sms.record_send_error(
                self.label, claimed, message, destination_fault=not modem_fault,
                permanent=bool(getattr(exc, "permanent", False)),
            )
            log.warning("SMS %s to %s failed (%s): %s", claimed.id, claimed.phone, status, message)
            sms.heartbeat(self.label, last_error=message, last_error_at=sms._now())
            return not modem_fault
        if not sms.record_sent(self.label, claimed, parts):
            log.warning("SMS %s: sent, but its lease had been taken over (recorded as a possible duplicate)", claimed.id)
        sms.heartbeat(self.label, add_sent=1, last_success_at=sms._now())
        log.info("SMS %s to %s sent in %d part(s)", claimed.id, claimed.phone, len(parts))
        return True

    def _incoming(self, sms: Any, port: Any, message: Any) -> None:
        inbox_id = sms.store_incoming(self.label, message)  # committed before the SIM copy goes
        try:
            port.delete_stored(message)
        except Exception as exc:  # noqa: BLE001 - it is stored; a copy left on the SIM is read once more, then skipped
            log.warning("%s: could not delete an SMS from the SIM: %s", self.label, exc)
        if inbox_id is None:
            log.info("%s: SMS from %s was already stored; skipped", self.label, message.sender)
            return
        sms.heartbeat(self.label, add_received=1)
        try:
            handled = sms.handle_incoming(inbox_id)
        except Exception:  # noqa: BLE001 - it is stored; the housekeeper tries again when the claim runs out
            log.exception("%s: acting on SMS %s failed; it will be tried again", self.label, inbox_id)
            return
        if handled is not None and handled.outcome == "confirmed":
            self.gateway.dairy_due.set()  # the housekeeper hands it to the dairy now


class Housekeeper(threading.Thread):
    """Hands confirmed orders to the dairy (at once when a worker says so, and retries when due), expires
    unanswered orders, and acts on replies a killed run stored but did not handle."""

    def __init__(self, gateway: SmsGateway) -> None:
        super().__init__(name="sms-housekeeper", daemon=True)
        self.gateway = gateway

    def run(self) -> None:
        gw = self.gateway
        every = gw.config.sms.expire_every_seconds
        sms = None
        next_sweep = 0.0
        while not gw.stopping.is_set():
            try:
                if sms is None:
                    sms = gw.make_sms()
                    sms.deliver_now = False  # handed over just below
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + every
                    expired = sms.expire_due()
                    if expired:
                        log.info("expired %d unanswered order(s): %s", len(expired), ", ".join(o.code for o in expired))
                    sms.handle_pending_inbox()
                delivered = sms.deliver_to_dairy()
                if delivered:
                    log.info("handed %d order message(s) to the dairy", delivered)
            except Exception:  # noqa: BLE001
                log.exception("housekeeping failed; trying again later")
            gw.dairy_due.wait(max(0.0, next_sweep - time.monotonic()))
            gw.dairy_due.clear()
        close_sms(sms)


class SmsGateway:
    """Wire: ``make_sms()`` returns a new SmsService on its own connection (one per thread);
    ``make_port(modem_config)`` returns an unconnected GsmModemPort."""

    def __init__(
        self, config: Any, *, modems: list[Any], make_sms: Callable[[], Any], make_port: Callable[[Any], Any],
        idle_wait: float = 0.2, send_timeout: float = 30.0, housekeeping: bool = True,
    ) -> None:
        self.config = config
        self.modems = list(modems)
        self.make_sms = make_sms
        self.make_port = make_port
        self.idle_wait = idle_wait
        self.send_timeout = send_timeout
        self.housekeeping = housekeeping
        self.stopping = threading.Event()
        self.dairy_due = threading.Event()  # a worker confirmed an order: wake the housekeeper
        self.workers: list[ModemWorker] = []
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        names = [modem_name(m) for m in self.modems]
        if len(set(names)) != len(names):
            from cc.errors import ConfigError

            raise ConfigError("two modems have the same name or device", "give each modem its own name in gsm.modems")
        sms = self.make_sms()
        try:
            sms.release_inbox_leases()
        finally:
            close_sms(sms)
        self.workers = [ModemWorker(self, m) for m in self.modems]
        self.threads = list(self.workers)
        if self.housekeeping:
            self.threads.append(Housekeeper(self))
        for thread in self.threads:
            thread.start()
        log.info("SMS gateway started with %d modem(s): %s", len(self.workers), ", ".join(names))

    def stop(self) -> None:
        self.stopping.set()
        self.dairy_due.set()

    def join(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def wait_connected(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        return all(w.connected.wait(max(0.0, deadline - time.monotonic())) for w in self.workers)

    def run(self) -> None:
        """Start, block until stop() (from a signal handler), then wait for the workers."""
        self.start()
        try:
            while not self.stopping.wait(0.5):
                pass
        finally:
            self.stopping.set()
            if not self.join():
                log.warning("some workers did not stop in time")
            log.info("SMS gateway stopped")
