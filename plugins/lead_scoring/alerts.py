"""SLA breach alerts: new breaches from ``marts.lead_follow_ups``, one message per rep, sent
once through an Airflow notifier.

A breach is an assignment (lead, rep, assigned_at) with ``is_breached``. Each one is sent
once: what was sent is recorded in ``<home>/alerts/sla_alerted.jsonl`` right after its
message went out, and a rerun of the same date (or the next day's run, where the breach
is still in the mart) leaves it out. A crash between a send and its record (a moment)
sends that one rep's message again on the rerun: never lost, at worst once more.

The channel is the Airflow connection ``lead_scoring_alerts`` when it is defined: conn
type ``smtp`` sends an e-mail through Airflow's SMTP provider, any other type POSTs each
message as JSON to its URL (a Slack-compatible incoming webhook reads ``text``).
Without it, messages are appended as JSON lines to ``<home>/alerts/sla_breaches.jsonl``.
Messages name leads by id (the CRM record id), never by name or e-mail.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from airflow.sdk import BaseNotifier

from lead_scoring.settings import Settings, get_settings
from lead_scoring.warehouse import open_warehouse

log = logging.getLogger(__name__)

ALERTS_CONN = "lead_scoring_alerts"
ALERT_LOG = "sla_breaches.jsonl"
STATE = "sla_alerted.jsonl"
LISTED = 20  # leads named in one message's text; the JSON fields list every one
BREACHES_SQL = """
select follow_ups.lead_id, follow_ups.rep_id, follow_ups.team, follow_ups.assigned_at,
    follow_ups.sla_due_at, {rep_name} as rep_name
from marts.lead_follow_ups as follow_ups
{reps_join}
where follow_ups.is_breached
order by follow_ups.rep_id, follow_ups.sla_due_at, follow_ups.lead_id
"""
REPS_JOIN = "left join marts.rep_workload as reps on reps.rep_id = follow_ups.rep_id"


def alerts_dir(settings: Settings) -> Path:
    return settings.home / "alerts"


def _utc_text(value) -> str:
    """A timestamp as ISO text in UTC without offset ("" for null): the same text for the
    same moment whatever the warehouse returns (naive UTC or aware)."""
    if value is None or pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.isoformat()


def breach_key(lead_id, rep_id, assigned_at) -> str:
    return f"{lead_id}|{rep_id}|{_utc_text(assigned_at)}"


def alerted_keys(settings: Settings) -> set[str]:
    path = alerts_dir(settings) / STATE
    if not path.exists():
        return set()
    with path.open(encoding="utf-8") as f:
        return {json.loads(line)["key"] for line in f if line.strip()}


def current_breaches(settings: Settings) -> pd.DataFrame:
    """Every breached assignment in the mart (empty when the mart is not built yet)."""
    with open_warehouse(settings) as wh:
        if not wh.table_exists("marts", "lead_follow_ups"):
            return pd.DataFrame(columns=["lead_id", "rep_id", "team", "assigned_at",
                                         "sla_due_at", "rep_name"])  # fmt: skip
        has_reps = wh.table_exists("marts", "rep_workload")
        return wh.query_df(BREACHES_SQL.format(
            rep_name="reps.name" if has_reps else "cast(null as varchar)",
            reps_join=REPS_JOIN if has_reps else "",
        ))  # fmt: skip


def breach_messages(breaches: pd.DataFrame, as_of_date: str) -> list[dict]:
    """One message per rep listing the rep's breached leads (JSON fields and a text)."""
    messages = []
    for rep_id, rows in breaches.groupby("rep_id", sort=True, dropna=False):
        first = rows.iloc[0]
        rep_name = str(first["rep_name"]) if pd.notna(first["rep_name"]) else str(rep_id)
        leads = [
            {"lead_id": str(r.lead_id), "assigned_at": _utc_text(r.assigned_at),
             "sla_due_at": _utc_text(r.sla_due_at), "key": breach_key(r.lead_id, rep_id,
                                                                      r.assigned_at)}
            for r in rows.itertuples()
        ]  # fmt: skip
        listed = ", ".join(
            f"lead {lead['lead_id']} (due {lead['sla_due_at'][:16].replace('T', ' ')} UTC)"
            for lead in leads[:LISTED]
        )
        more = f" and {len(leads) - LISTED} more" if len(leads) > LISTED else ""
        noun = "lead has" if len(leads) == 1 else "leads have"
        messages.append({
            "kind": "sla_breach",
            "as_of_date": as_of_date,
            "rep_id": str(rep_id),
            "rep_name": rep_name,
            "team": str(first["team"]),
            "breaches": leads,
            "text": f"SLA breach: {len(leads)} {noun} no follow-up by the SLA due time"
                    f" for {rep_name} ({rep_id}, team {first['team']}): {listed}{more}.",
        })  # fmt: skip
    return messages


@dataclass(frozen=True)
class FileChannel:
    """JSON lines appended to a file."""

    path: Path
    name: str = "file"

    def send(self, message: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(message) + "\n")


@dataclass(frozen=True)
class WebhookChannel:
    """Each message POSTed as a JSON body (an incoming webhook, Slack's or another)."""

    url: str
    token: str | None = None
    name: str = "webhook"

    def send(self, message: dict) -> None:
        import requests

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = requests.post(self.url, json=message, headers=headers, timeout=30)
        response.raise_for_status()


@dataclass(frozen=True)
class SmtpChannel:
    """Each message as an e-mail through Airflow's SMTP provider (connection extras: ``to``,
    optionally ``from_email``)."""

    to: str
    from_email: str | None = None
    name: str = "smtp"

    def send(self, message: dict) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier
        from markupsafe import escape

        subject = message["text"].split(":", 1)[0]
        SmtpNotifier(to=self.to, from_email=self.from_email, smtp_conn_id=ALERTS_CONN,
                     subject=f"lead scoring: {subject}",
                     html_content=f"<p>{escape(message['text'])}</p>").notify({})  # fmt: skip


def _webhook_url(conn) -> str:
    host = conn.host or ""
    if "://" in host:
        return host
    port = f":{conn.port}" if conn.port else ""
    return f"{conn.schema or 'https'}://{host}{port}{conn.extra_dejson.get('endpoint', '')}"


def alert_channel(settings: Settings):
    """The connection ``lead_scoring_alerts``'s channel, or the file channel without it."""
    from airflow.sdk import Connection

    try:
        conn = Connection.get(ALERTS_CONN)
    except Exception:  # not defined (Airflow raises its own NotFound types per backend)
        return FileChannel(alerts_dir(settings) / ALERT_LOG)
    extra = conn.extra_dejson
    if conn.conn_type in ("smtp", "email"):
        if not extra.get("to"):
            raise ValueError(f"connection {ALERTS_CONN!r} (smtp) needs the extra 'to'")
        return SmtpChannel(to=extra["to"], from_email=extra.get("from_email"))
    return WebhookChannel(_webhook_url(conn), conn.password or None)


class AlertNotifier(BaseNotifier):
    """An Airflow notifier sending lead-scoring alert messages through ``alert_channel``;
    ``on_sent(message, channel)`` is called after each message went out."""

    def __init__(self, messages: list[dict] | None = None, on_sent=None, context=None):
        super().__init__(context=context)
        self.messages = list(messages or [])
        self.on_sent = on_sent

    def messages_for(self, context) -> list[dict]:
        return self.messages

    def notify(self, context) -> None:
        channel = alert_channel(get_settings())
        for message in self.messages_for(context):
            channel.send(message)
            if self.on_sent:
                self.on_sent(message, channel)

    async def async_notify(self, context) -> None:
        await asyncio.to_thread(self.notify, context)


class DeadlineNotifier(AlertNotifier):
    """The nightly DAG's Deadline Alert (run by the triggerer): one message naming the run
    that has not finished by its deadline."""

    def messages_for(self, context) -> list[dict]:
        run = context.get("dag_run") or {}
        due = (context.get("deadline") or {}).get("deadline_time")
        text = (
            f"{run.get('dag_id', 'lead_scoring_nightly')} run {run.get('run_id', '?')}"
            f" has not finished by its deadline {due} (state {run.get('state', '?')})"
        )
        return [{"kind": "deadline", "dag_id": run.get("dag_id"), "run_id": run.get("run_id"),
                 "deadline_time": str(due), "text": text}]  # fmt: skip


def _record(settings: Settings, run_id: str):
    """on_sent: append the message's breaches to the state file and log each one."""
    path = alerts_dir(settings) / STATE

    def record(message: dict, channel) -> None:
        sent_at = datetime.now(UTC).isoformat(timespec="seconds")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            for lead in message["breaches"]:
                f.write(json.dumps({"key": lead["key"], "run_id": run_id, "sent_at": sent_at,
                                    "channel": channel.name}) + "\n")  # fmt: skip
        for lead in message["breaches"]:
            log.info(
                "SLA breach alerted (%s): lead %s, rep %s, team %s, due %s", channel.name,
                lead["lead_id"], message["rep_id"], message["team"], lead["sla_due_at"],
            )  # fmt: skip

    return record


def send_sla_alerts(
    settings: Settings, run_id: str, as_of_date: str, breaches: pd.DataFrame, context=None
) -> dict:
    """Alert every breach (``current_breaches``) not alerted before, one message per rep;
    counts per rep and team."""
    keys = [breach_key(r.lead_id, r.rep_id, r.assigned_at) for r in breaches.itertuples()]
    new = breaches[~pd.Series(keys, index=breaches.index).isin(alerted_keys(settings))]
    messages = breach_messages(new, as_of_date)
    sent: list[dict] = []
    record = _record(settings, run_id)

    def on_sent(message: dict, channel) -> None:
        record(message, channel)
        sent.append(message)

    if messages:
        AlertNotifier(messages, on_sent=on_sent)(context or {})
    return {
        "breaches": len(breaches),
        "new_breaches": len(new),
        "alerts_sent": sum(len(m["breaches"]) for m in sent),
        "messages": len(sent),
        "new_by_rep": {m["rep_id"]: len(m["breaches"]) for m in sent},
        "new_by_team": new.groupby("team")["lead_id"].count().to_dict() if len(new) else {},
    }
