"""Campaigns run by cron: a segment of customers, a channel (SMS, the agents' call list, or SMS first and a
call to those who did not respond), at most one contact per customer per campaign window however often
cron fires, opt-outs and the blacklist honoured, a rate limit per run, quiet hours left to the SMS gateway
(campaign SMS are of the 'marketing' kind, which the daemon holds back in the quiet window), and
conversions: an order within N days of the contact."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cc.domain import campaigns as rules
from cc.domain import sms as sms_rules
from cc.domain.campaigns import CampaignRuleError, Channel
from cc.domain.timestamps import iso
from cc.domain.users import Action
from cc.errors import NotFound, Refused, UsageError
from cc.services.base import ServiceBase

FIELDS = ("name", "description", "segment", "filter", "channel", "template", "window_days", "max_per_run",
          "call_after_days", "conversion_days", "active")


class CampaignService(ServiceBase):
    def __init__(self, *args: Any, campaigns: Any, sms: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.campaigns = campaigns  # cc.store.campaigns.CampaignStore over the same connection
        self.sms = sms

    # --- definitions --------------------------------------------------------------------------------
    def _checked(self, spec: dict, where: str = "") -> dict:
        unknown = sorted(set(spec) - set(FIELDS))
        prefix = f"{where}: " if where else ""
        if unknown:
            raise UsageError(f"{prefix}unknown campaign field(s) {', '.join(unknown)}", f"known fields: {', '.join(FIELDS)}")
        name = str(spec.get("name") or "").strip()
        if not name or any(ch.isspace() for ch in name):
            raise UsageError(f"{prefix}a campaign needs a name without spaces", "e.g. birthday-greeting")
        out = {"name": name, "description": str(spec.get("description") or "")}
        try:
            out["segment"] = str(rules.parse_segment(str(spec.get("segment") or "")))
            channel = str(spec.get("channel") or "sms")
            if channel not in rules.CHANNELS:
                raise CampaignRuleError(f"unknown channel {channel!r}; use one of: {', '.join(rules.CHANNELS)}")
            out["channel"] = channel
            out["template"] = str(spec.get("template") or "")
            rules.check_template(out["template"], channel)
            out["filter"] = str(spec.get("filter") or "")
            rules.compile_filter(out["filter"], self.now_iso())
            for key in ("window_days", "max_per_run", "call_after_days", "conversion_days"):
                value = spec.get(key)
                if value is None:
                    out[key] = 30 if key == "window_days" else None
                    continue
                if isinstance(value, bool) or not isinstance(value, int) and not str(value).isdigit():
                    raise CampaignRuleError(f"{key} must be a whole number, not {value!r}")
                if int(value) < (1 if key in ("window_days", "max_per_run") else 0):
                    raise CampaignRuleError(f"{key} is too small: {value}")
                out[key] = int(value)
            out["active"] = int(bool(spec.get("active", True)))
        except CampaignRuleError as exc:
            raise UsageError(f"{prefix}campaign {name}: {exc}", "see 'cc campaign add --help' and examples/campaigns.yaml") from None
        return out

    def add(self, **spec: Any) -> tuple[dict, bool]:
        """Create or replace a campaign definition (by name); returns (campaign, created)."""
        return self.add_many([spec])[0]

    def add_many(self, specs: list[dict], source: str = "") -> list[tuple[dict, bool]]:
        actor = self.require(Action.RUN_CAMPAIGNS)
        checked = [self._checked(spec, f"{source} #{i + 1}" if source else "") for i, spec in enumerate(specs)]
        names = [c["name"] for c in checked]
        if len(set(names)) != len(names):
            raise UsageError(f"{source or 'campaigns'}: a campaign name appears twice", "give each campaign its own name")
        with self.store.transaction():
            created = [self.campaigns.upsert({**c, "created_by": actor.name}, self.now_iso()) for c in checked]
        return [(self.campaigns.campaign(c["name"]), new) for c, new in zip(checked, created)]

    def set_active(self, name: str, active: bool) -> dict:
        self.require(Action.RUN_CAMPAIGNS)
        with self.store.transaction():
            if not self.campaigns.set_active(name, active, self.now_iso()):
                raise NotFound(f"no campaign named {name!r}", "see 'cc campaign list'")
        return self.get(name)

    def get(self, name: str) -> dict:
        found = self.campaigns.campaign(name)
        if found is None:
            raise NotFound(f"no campaign named {name!r}", "see 'cc campaign list', or add it with 'cc campaign add'")
        return found

    def _setting(self, campaign: dict, key: str) -> int:
        value = campaign.get(key)
        return int(value) if value is not None else int(getattr(self.config.campaigns, key))

    def list(self) -> list[dict]:
        return [self._with_stats(c) for c in self.campaigns.campaigns()]

    def show(self, name: str) -> dict:
        campaign = self._with_stats(self.get(name))
        campaign["last_contact_at"] = self.campaigns.last_contact_at(campaign["id"])
        return campaign

    def _with_stats(self, campaign: dict) -> dict:
        stats = self.campaigns.stats(campaign["id"], self._setting(campaign, "conversion_days"))
        stats["conversion_rate"] = round(stats["converted"] / stats["contacts"], 4) if stats["contacts"] else 0.0
        return {**campaign, "stats": stats}

    def call_list(self, name: str, status: str | None = "pending", limit: int = 200) -> list[dict]:
        if status not in (None, "pending", "claimed", "done", "skipped"):
            raise UsageError(f"unknown call-list status {status!r}", "use pending, claimed, done or skipped")
        return self.campaigns.calls(self.get(name)["id"], status, limit)

    def next_call(self, name: str | None = None) -> dict | None:
        """Preview dialing: claim the next customer on a call list (this campaign's, or any) for the acting
        agent, with what the agent needs to see before dialing. None when the list is empty."""
        actor = self.require(Action.TAKE_ORDERS)
        campaign_id = self.get(name)["id"] if name else None
        row = self.campaigns.claim_call(agent=actor.name, now=self.now_iso(), campaign_id=campaign_id)
        if row is None:
            return None
        customer = self.store.customer_by_id(row["customer_id"])
        campaign = next((c for c in self.campaigns.campaigns() if c["id"] == row["campaign_id"]), None)
        return {**row, "campaign": campaign["name"] if campaign else None,
                "name": customer.name if customer else "", "address": customer.address if customer else ""}

    def finish_call(self, call_id: int, outcome: str, *, skipped: bool = False) -> dict:
        """The agent's outcome for a claimed call-list row (done, or skipped: e.g. no answer)."""
        actor = self.require(Action.TAKE_ORDERS)
        if not (outcome or "").strip():
            raise UsageError("say what came of the call with --outcome", "e.g. --outcome 已续订 or --outcome 无人接听")
        with self.store.transaction():
            row = self.campaigns.call_row(int(call_id))
            if row is None:
                raise NotFound(f"no call-list entry {call_id}", "see 'cc campaign calls NAME'")
            supervisor = actor.role.value in ("admin", "supervisor")
            done = self.campaigns.finish_call(
                int(call_id), agent=None if supervisor else actor.name, status="skipped" if skipped else "done",
                outcome=outcome.strip(), now=self.now_iso(),
            )
            if not done:
                raise Refused(f"call-list entry {call_id} is {row['status']}" + (f" by {row['agent']}" if row["agent"] else ""),
                              "only a call claimed with 'cc campaign next' is finished, by its agent or a supervisor")
            return self.campaigns.call_row(int(call_id))

    # --- preview and run ----------------------------------------------------------------------------
    def _query(self, campaign: dict) -> dict:
        now = self.now_iso()
        today = self.today()
        filter_sql, filter_params = rules.compile_filter(campaign["filter"], now)
        return dict(
            campaign_id=campaign["id"], window=rules.window_no(today, campaign["window_days"]),
            segment=rules.parse_segment(campaign["segment"]), filter_sql=filter_sql, filter_params=filter_params,
            today=today.isoformat(), now=now,
        )

    def _text(self, campaign: dict, row: dict) -> str:
        return rules.render(
            campaign["template"], name=row["name"], brand=self.config.sms.brand, hotline=self.config.asterisk.hotline,
            end_date=row.get("end_date"), zone=row.get("zone"),
        )

    def _follow_up_before(self, campaign: dict) -> str:
        return iso(self.now() - timedelta(days=self._setting(campaign, "call_after_days")))

    def preview(self, name: str, samples: int | None = None) -> dict:
        """What ``run`` would do now: counts and sample messages. Reads only; changes nothing."""
        campaign = self.get(name)
        query = self._query(campaign)
        counts = self.campaigns.segment_counts(**query)
        cap = self._setting(campaign, "max_per_run")
        counts["this_run"] = min(counts["eligible"], cap)
        counts["held_by_rate_limit"] = max(0, counts["eligible"] - cap)
        n = self.config.campaigns.preview_samples if samples is None else samples
        sample_rows = self.campaigns.eligible(limit=n, **query) if n else []
        follow = []
        if campaign["channel"] == Channel.SMS_THEN_CALL:
            follow = self.campaigns.follow_ups_due(campaign["id"], self._follow_up_before(campaign), cap)
        return {
            "campaign": campaign["name"], "segment": campaign["segment"], "filter": campaign["filter"],
            "channel": campaign["channel"], "window": query["window"], "active": bool(campaign["active"]),
            "counts": {**counts, "follow_up_calls": len(follow)},
            "samples": [{"phone": r["phone"], "name": r["name"],
                         "text": self._text(campaign, r) if campaign["channel"] != Channel.CALL else ""} for r in sample_rows],
            "marketing_allowed_now": self.sms.marketing_allowed() if self.sms is not None else True,
        }

    def run(self, name: str) -> dict:
        """Contact the eligible customers once for this window (idempotent), up to the rate limit; for
        sms_then_call, put those who did not respond to an earlier SMS on the call list."""
        self.require(Action.RUN_CAMPAIGNS)
        campaign = self.get(name)
        if not campaign["active"]:
            raise Refused(f"campaign {name} is paused", f"resume it with 'cc campaign resume {name}'")
        channel = campaign["channel"]
        query = self._query(campaign)
        cap = self._setting(campaign, "max_per_run")
        candidates = self.campaigns.eligible(limit=cap + 1, **query)
        more_waiting = len(candidates) > cap
        candidates = candidates[:cap]
        contact_channel = "call" if channel == Channel.CALL else "sms"
        with self.campaigns.bulk():
            added = self._contact(campaign, query["window"], contact_channel, candidates)
        follow_ups = 0
        if channel == Channel.SMS_THEN_CALL:
            with self.store.transaction():
                now = self.now_iso()
                for row in self.campaigns.follow_ups_due(campaign["id"], self._follow_up_before(campaign), cap):
                    follow_ups += self.campaigns.add_call(
                        campaign_id=campaign["id"], contact_id=row["contact_id"], customer_id=row["customer_id"],
                        phone=row["phone"], reason="no_reply_to_sms", now=now,
                    )
        return {
            "campaign": campaign["name"], "window": query["window"],
            "sms_queued": added if contact_channel == "sms" else 0,
            "call_list_added": added if contact_channel == "call" else 0,
            "follow_up_calls": follow_ups, "skipped_already_contacted": len(candidates) - added,
            "held_by_rate_limit": self.campaigns.segment_counts(**self._query(campaign))["eligible"] if more_waiting else 0,
        }

    def _contact(self, campaign: dict, window: int, channel: str, candidates: list[dict]) -> int:
        """Contacts, with their SMS or call-list rows, in short transactions of campaigns.batch_size customers."""
        batch = max(1, int(self.config.campaigns.batch_size))
        text = rules.renderer(sms_rules.clean_text(campaign["template"]), brand=self.config.sms.brand,
                              hotline=self.config.asterisk.hotline)
        added = 0
        for start in range(0, len(candidates), batch):
            chunk = candidates[start:start + batch]
            with self.store.transaction():
                now = self.now_iso()
                if channel == "sms":
                    # Marketing kind: the SMS daemon holds these back during quiet hours.
                    self.campaigns.queue_sms(
                        campaign_id=campaign["id"], window=window, now=now, kind="marketing",
                        priority=sms_rules.PRIORITY["marketing"], max_attempts=self.config.sms.max_attempts,
                        created_by=f"campaign:{campaign['name']}",
                        messages=[(r["customer_id"], r["phone"], text(r["name"], r["end_date"], r["zone"])) for r in chunk],
                    )
                added += self.campaigns.add_contacts(
                    campaign_id=campaign["id"], window=window, channel=channel, now=now,
                    people=[(r["customer_id"], r["phone"]) for r in chunk],
                )
                if channel == "call":
                    self.campaigns.add_direct_calls(campaign_id=campaign["id"], window=window, now=now)
        return added

    def run_all(self) -> list[dict]:
        """Every active campaign (``cc campaign run --all`` from cron)."""
        return [self.run(c["name"]) for c in self.campaigns.campaigns() if c["active"]]
