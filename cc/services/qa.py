"""QA of recorded calls: scorecards from YAML (every import a new version; errors name file, line and
criterion), the recorded calls to review, a recording played to a supervisor's phone through Asterisk,
scores (append-only; the newest per call counts) and scores per agent over time with the callers'
survey scores beside them.

Free of frameworks: the database comes in as ``cc.store.qa.QaStore``, Asterisk as a ``PlayPort``
(``ControlPlayer`` over the call-control service: the same Originate into the control context's
``relay`` extension that delivers voice relays; it raises ``UserEvent CcRelayPlayed`` with
``RelayId`` = the play's tag when the recording has been played)."""

from __future__ import annotations

import json
import queue
import secrets
import time as time_module
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

from cc.domain import qa
from cc.domain.timestamps import iso, local_date, parse_iso
from cc.domain.users import Action, Role
from cc.errors import CcError, NotFound, PermissionDenied, Refused, Unreachable, UsageError
from cc.services.base import Actor, ServiceBase
from cc.services.call_control import _UNSAFE, EXT_RELAY, RELAY_EVENT  # _UNSAFE: breaks out of a dial string
from cc.yamlfile import YamlFileError, load_text, read_text

DEFAULT_CARD = Path(__file__).resolve().parent.parent / "data" / "qa" / "default.yaml"
SCORING_ROLES = (Role.SUPERVISOR, Role.ADMIN)
CARD_SHAPE = "a mapping with name, title and criteria"
SOUND_EXTENSIONS = ("wav", "WAV", "gsm", "sln", "ulaw", "alaw", "g722", "wav49")


class CardInvalid(UsageError):
    def __init__(self, source: str, problems: list[qa.Problem], hint: str | None = None) -> None:
        self.problems = problems
        first = problems[0]
        where = f"{source}, line {first.line}" if first.line else source
        text = f"{first.where}: {first.message}" if first.where else first.message
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{where}: {text}{more}", hint or "fix the scorecard (see cc/data/qa/default.yaml for the format)")


@dataclass
class LoadedCard:
    card: qa.Scorecard
    yaml_text: str
    source: str


def parse_card_yaml(text: str, source: str = "<scorecard>") -> LoadedCard:
    """Parse and check a scorecard; ``CardInvalid`` names the file, the line and the criterion."""
    try:
        doc = load_text(text, source, shape=CARD_SHAPE)
    except YamlFileError as exc:  # not YAML, a key written twice, not a mapping
        raise CardInvalid(source, [qa.Problem(None, exc.problem, exc.line)], exc.hint) from None
    try:
        card = qa.card_from_dict(doc.data, doc.dotted_lines())
    except qa.CardError as exc:
        raise CardInvalid(source, exc.problems) from None
    return LoadedCard(card, text, source)


def read_card_file(path: str | Path) -> LoadedCard:
    text = read_text(path, "scorecard file", "give the path of a YAML scorecard, e.g. cc/data/qa/default.yaml")
    return parse_card_yaml(text, str(path))


def playable(file: str) -> str:
    """The recording as Playback wants it: without its extension (Asterisk picks the format)."""
    stem, dot, ext = file.rpartition(".")
    return stem if dot and ext in SOUND_EXTENSIONS and "/" not in ext else file


class PlayPort(Protocol):
    """Rings a phone and plays it a sound file (``ControlPlayer``; tests pass a fake)."""

    def outside(self, number: str) -> str:
        """The dial string for an outside number (E.164)."""
        ...

    def play(self, dial: str, file: str, tag: str) -> str:
        """Ring ``dial``; when answered play ``file``. Returns the new channel's id."""
        ...

    def outcome(self, tag: str, channel: str, timeout: float) -> tuple[bool, str]:
        """Wait (at most ``timeout`` s) until the play ``tag`` on ``channel`` was played to the end
        (True, "") or failed (False, why)."""
        ...


class ControlPlayer:
    """``PlayPort`` over the call-control service: Originate into the control context's ``relay``
    extension (what ``cc asterisk config`` writes), exactly as voice relays are delivered. ``follow``
    (an AMI client logged in with events): listen from the start so ``outcome`` can tell how it went."""

    def __init__(self, control: Any, *, follow: bool = False) -> None:
        self.control = control  # cc.services.call_control.CallControlService
        self.events: queue.Queue[dict] | None = queue.Queue() if follow else None
        self._unsubscribe = control.ami.subscribe(self.events.put) if self.events is not None else None

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def outcome(self, tag: str, channel: str, timeout: float) -> tuple[bool, str]:
        if self.events is None:
            raise UsageError("this player does not follow the call", "build it with ControlPlayer(control, follow=True)")
        deadline = time_module.monotonic() + timeout
        answered = False
        while True:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time_module.monotonic()))
            except queue.Empty:
                return False, "no outcome in time"
            name = event.get("Event")
            if name == "UserEvent" and event.get("UserEvent") == RELAY_EVENT and event.get("RelayId") == tag:
                played = event.get("Status") == "SUCCESS"
                return played, "" if played else f"playback {event.get('Status')} (is the recording file there?)"
            if name == "OriginateResponse" and event.get("Uniqueid") == channel:
                if event.get("Response") != "Success":
                    return False, f"not answered ({event.get('Reason', '')})"
                answered = True
            elif name == "Hangup" and event.get("Uniqueid") == channel and answered:
                return False, "hung up before the recording ended"

    def outside(self, number: str) -> str:
        return self.control.outside(number)

    def play(self, dial: str, file: str, tag: str) -> str:
        channel_id = f"cc-qa-{secrets.token_hex(6)}"
        self.control._originate(dial, EXT_RELAY, {"CC_RELAY_FILE": file, "CC_RELAY_ID": tag},
                                caller_id=self.control.settings.caller_id, channel_id=channel_id)
        return channel_id


class QaService(ServiceBase):
    def __init__(self, store: Any, clock: Any, config: Any, acting_user: str | None = None, *,
                 player: PlayPort | None = None, period: Callable[[date | None, date | None], Any] | None = None,
                 default_card: Path = DEFAULT_CARD) -> None:
        super().__init__(store, clock, config, acting_user)
        self.player = player
        self._period = period
        self.default_card = default_card

    # -- who -----------------------------------------------------------------------------------------------
    def _supervisor(self, what: str) -> Actor:
        actor = self.actor()
        if actor.role not in SCORING_ROLES:
            article = "an" if actor.role.value[0] in "aeiou" else "a"
            raise PermissionDenied(f"{actor.name} is {article} {actor.role.value} and may not {what}", "ask a supervisor")
        return actor

    # -- scorecards ----------------------------------------------------------------------------------------
    def import_file(self, path: str | Path) -> dict:
        return self.import_loaded(read_card_file(path))

    def import_loaded(self, loaded: LoadedCard) -> dict:
        """Store the card as its next version (nothing new when it equals the newest version)."""
        actor = self._supervisor("load scorecards")
        definition = _definition(loaded.card)
        with self.store.transaction():
            newest = self.store.card(loaded.card.name)
            if newest is not None and newest["definition"] == definition:
                return {"name": loaded.card.name, "version": newest["version"], "id": newest["id"], "unchanged": True}
            card_id, version = self.store.add_card(loaded.card.name, definition, loaded.yaml_text, loaded.source,
                                                   self.now_iso(), actor.name)
        return {"name": loaded.card.name, "version": version, "id": card_id, "unchanged": False}

    def ensure_default(self) -> None:
        """The shipped card, the first time any card is needed (for anyone: it is the site's default)."""
        if self.store.newest_card() is None:
            loaded = read_card_file(self.default_card)
            definition = _definition(loaded.card)
            with self.store.transaction():
                if self.store.newest_card() is None:
                    self.store.add_card(loaded.card.name, definition, loaded.yaml_text, str(self.default_card),
                                        self.now_iso(), "")

    def card(self, name: str | None = None, version: int | None = None) -> tuple[dict, qa.Scorecard]:
        """A card by name (newest version unless ``version``); without a name, the card loaded last."""
        self.ensure_default()
        row = self.store.card(name, version) if name else self.store.newest_card()
        if row is None:
            known = ", ".join(r["name"] for r in self.store.cards()) or "none"
            what = f"version {version} of scorecard '{name}'" if version else f"scorecard '{name}'"
            raise NotFound(f"no {what} (cards: {known})", "see 'cc qa cards', or load one with 'cc qa import FILE'")
        return row, _card(row)

    def cards(self) -> list[dict]:
        """The newest version of each card with its criteria."""
        self.require(Action.VIEW_REPORTS)
        self.ensure_default()
        locale = self.config.resolved_locale()
        out = []
        for row in self.store.cards():
            card = _card(row)
            out.append({
                "name": row["name"], "version": row["version"], "versions": row["versions"], "scores": row["scores"],
                "title": card.title(locale), "loaded_at": row["loaded_at"], "source": row["source"],
                "criteria": [{"key": c.key, "label": c.label(locale), "labels": dict(c.labels), "weight": c.weight,
                              "type": c.kind, "max": c.max_points} for c in card.criteria],
            })
        return out

    # -- calls to review -------------------------------------------------------------------------------------
    def period(self, start: date | None = None, end: date | None = None) -> tuple[str, str]:
        """UTC bounds [since, until) of local days ``start``..``end`` (the reports' own period rules)."""
        if self._period is None:
            raise UsageError("no period rules wired", "build the service with qa_service(services)")
        found = self._period(start, end)
        return found.since, found.until

    def calls(self, since: str, until: str, *, agent: str | None = None, unscored: bool = False,
              limit: int = 200) -> list[dict]:
        """Recorded calls (the newest recording of each), newest first, with survey and QA score."""
        self.require(Action.VIEW_REPORTS)
        return [_call(r, self._zone) for r in self.store.calls(since, until, agent=agent, unscored=unscored, limit=limit)]

    def call(self, call_id: str) -> dict:
        self.require(Action.VIEW_REPORTS)
        row = self.store.call(call_id)
        if row is None:
            raise NotFound(f"no recorded call '{call_id}'", "see 'cc qa calls' for the recorded calls")
        out = _call(row, self._zone)
        out["scores"] = [{"id": s["id"], "at": s["at"], "scorer": s["scorer"], "card": s["card"],
                          "card_version": s["card_version"], "total": s["total"], "answers": json.loads(s["answers"]),
                          "comment": s["comment"]} for s in self.store.scores_for_call(call_id)]
        return out

    # -- scoring ---------------------------------------------------------------------------------------------
    def score(self, call_id: str, answers: Mapping[str, Any], *, card: str | None = None, comment: str = "") -> dict:
        """A new score for the call (append-only: a re-score is a new row; the newest counts)."""
        actor = self._supervisor("score calls")
        row, scorecard = self.card(card)
        try:
            checked = qa.check_answers(scorecard, answers)
        except qa.AnswerError as exc:
            raise UsageError(exc.message, exc.hint) from None
        total = qa.weighted_total(scorecard, checked)
        with self.store.transaction():
            call = self.store.call(call_id)
            if call is None:
                raise NotFound(f"no recorded call '{call_id}'", "see 'cc qa calls' for the recorded calls")
            previous = call["score_id"]
            score_id = self.store.add_score({
                "call_id": call_id, "recording_id": call["recording_id"], "agent": call["agent"],
                "call_at": call["started_at"], "card_id": row["id"], "answers": json.dumps(checked),
                "total": total, "comment": comment.strip(), "scorer": actor.name, "at": self.now_iso(),
            })
        return {"id": score_id, "call": call_id, "agent": call["agent"], "card": row["name"], "card_version": row["version"],
                "total": total, "answers": checked, "replaces": previous}

    # -- results -----------------------------------------------------------------------------------------------
    def averages(self, since: str, until: str, agent: str | None = None) -> dict[str, float]:
        """Agent -> average QA total (0-100) of the calls they took in [since, until) (UTC ISO bounds),
        each call counted once with its newest score. For ``cc report agents``."""
        return {r["agent"]: round(r["average"], 1) for r in self.store.averages(since, until, agent)}

    def scores(self, since: str, until: str, *, agent: str | None = None, by: str = "week") -> list[dict]:
        """Per period (local day, ISO week or month) and agent: calls scored and their average, beside the
        callers' survey answers (count and average 1-5) in the same period."""
        self.require(Action.VIEW_REPORTS)
        if by not in qa.PERIODS:
            raise UsageError(f"--by '{by}' is not one of {', '.join(qa.PERIODS)}", "write --by day, --by week or --by month")
        first = local_date(parse_iso(since), self._zone)
        last = local_date(parse_iso(until) - timedelta(milliseconds=1), self._zone)
        bounds = [(label, max(since, self._midnight(lo)), min(until, self._midnight(hi)))
                  for label, lo, hi in qa.period_spans(first, last, by)]
        found: dict[tuple[str, str], dict] = {}
        for kind, rows in (("qa", self.store.period_scores(bounds, agent)), ("survey", self.store.period_surveys(bounds, agent))):
            for r in rows:
                found.setdefault((r["period"], r["agent"]), {"qa": (0, None), "survey": (0, None)})[kind] = (r["n"], r["average"])
        return [{"period": period, "agent": who, "scored": g["qa"][0], "qa_average": _round(g["qa"][1]),
                 "surveys": g["survey"][0], "survey_average": _round(g["survey"][1])}
                for (period, who), g in sorted(found.items())]

    def _midnight(self, day: date) -> str:
        return iso(datetime.combine(day, time(0), tzinfo=self._zone))

    # -- listening -----------------------------------------------------------------------------------------------
    def play(self, call_id: str, *, to: str | None = None, user: str | None = None, dial: str | None = None,
             wait: float | None = None) -> dict:
        """Ring a supervisor's phone (``user``'s dial string, by default the acting supervisor's), a phone
        number (``to``) or a dial string as is (``dial``, e.g. PJSIP/2001) and play the call's recording.
        ``wait``: follow the call up to that many seconds and refuse when it was not played to the end."""
        actor = self._supervisor("listen to recorded calls")
        if sum(1 for x in (to, user, dial) if x) > 1:
            raise UsageError("give one of --to PHONE, --user SUPERVISOR or --dial DIALSTRING")
        call = self.store.call(call_id)
        if call is None:
            raise NotFound(f"no recorded call '{call_id}'", "see 'cc qa calls' for the recorded calls")
        if self.player is None:
            raise Unreachable("no connection to Asterisk to play the recording", "check asterisk.ami in the config")
        if dial:
            if _UNSAFE.search(dial) or "/" not in dial:
                raise UsageError(f"'{dial}' is not a dial string", "write it like PJSIP/2001 or Local/2001@phones")
            target = dial
        elif to:
            from cc.phone import normalize_phone

            target = normalize_phone(to)
            dial = self.player.outside(target)
        else:
            if not user and self.acting_user is None:
                raise UsageError("whose phone should ring?", "give --user SUPERVISOR (or cc --user), or --to PHONE")
            target = user or actor.name
            account = self.store.user(target)
            if account is None:
                raise NotFound(f"no user named '{target}'", "see 'cc user list'")
            if account["role"] not in SCORING_ROLES:
                raise PermissionDenied(f"user '{target}' ({account['role']}) does not review calls", "play it to a supervisor")
            dial = (self.store.agent(target) or {}).get("dial") or ""
            if not dial:
                raise UsageError(f"no phone known for '{target}'",
                                 f"give --to PHONE, or set one with 'cc agent set {target} --dial PJSIP/2001'")
        tag = f"qa-{call['recording_id']}-{secrets.token_hex(3)}"
        log = {"call_id": call_id, "recording_id": call["recording_id"], "actor": actor.name, "dial": dial, "at": self.now_iso()}
        try:
            channel = self.player.play(dial, playable(call["file"]), tag)
        except CcError as exc:
            self.store.add_play({**log, "outcome": "failed", "detail": exc.message})
            raise
        result = {"call": call_id, "recording": call["file"], "to": target, "dial": dial, "tag": tag, "channel": channel}
        if not wait:
            self.store.add_play({**log, "outcome": "ok", "detail": channel})
            return result
        played, why = self.player.outcome(tag, channel, wait)
        self.store.add_play({**log, "outcome": "played" if played else "failed", "detail": why or channel})
        if not played:
            raise Refused(f"the recording of {call_id} was not played to {target}: {why}",
                          "check the phone and that Asterisk can read the recording file")
        return {**result, "played": True}


def _definition(card: qa.Scorecard) -> str:
    """The stored form: the same card gives the same text (so an unchanged re-import adds no version)."""
    return json.dumps(qa.card_to_dict(card), ensure_ascii=False, sort_keys=True)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _card(row: dict) -> qa.Scorecard:
    return qa.card_from_dict(json.loads(row["definition"]))


def _call(row: dict, zone: Any) -> dict:
    duration = None
    if row.get("ended_at"):
        duration = max(0, round((parse_iso(row["ended_at"]) - parse_iso(row["started_at"])).total_seconds()))
    local = parse_iso(row["started_at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return {"call": row["call_id"], "at": row["started_at"], "local_at": local, "agent": row["agent"], "queue": row["queue"],
            "caller": row["caller"], "duration_s": duration,
            "waited_s": None if row.get("waited_ms") is None else round(row["waited_ms"] / 1000),
            "recording": row["file"], "recording_id": row["recording_id"], "survey": row["survey"],
            "qa_total": row["qa_total"], "scored_by": row["qa_scorer"], "scored_at": row["qa_at"]}


def qa_service(services: Any, *, player: PlayPort | None = None) -> QaService:
    """The service over the services' connection (composition, like ``container.build_services``)."""
    from cc.store.qa import QaStore

    period = services.reports.period if services.reports is not None else None
    return QaService(QaStore(services.db), services.clock, services.config, services.acting_user,
                     player=player, period=period)

