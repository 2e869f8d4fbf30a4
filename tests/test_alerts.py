"""SLA breach alerts: new breaches of marts.lead_follow_ups, one message per rep, each breach
sent once across reruns and days; through the file notifier (no connection), a webhook
(a real HTTP server on 127.0.0.1), e-mail (Airflow's SMTP provider to a small SMTP server
on 127.0.0.1) and, for the DAG's own deadline, Airflow's callback trigger."""

from __future__ import annotations

import asyncio
import json
import socketserver
import threading
from datetime import datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from test_report import follow_up, rep, write_routing_marts

from lead_scoring import nightly
from lead_scoring.alerts import ALERT_LOG, STATE, alerts_dir

ASSIGNED = datetime(2026, 10, 30, 23, 59, 59)
REPS = [rep("rep_01", "NA SMB rep 1", "na_smb"), rep("rep_04", "EMEA rep 1", "emea")]
FOLLOW_UPS = [
    follow_up("101", "rep_01", "na_smb", ASSIGNED, "breached"),
    follow_up("102", "rep_01", "na_smb", ASSIGNED, "breached"),
    follow_up("103", "rep_01", "na_smb", ASSIGNED, "met"),
    follow_up("104", "rep_01", "na_smb", datetime(2026, 11, 2, 23, 59, 59), "open"),
    follow_up("201", "rep_04", "emea", ASSIGNED, "breached"),
]
# the next day: the breaches stay in the mart, one more is new, and lead 102, reassigned
# to rep_04, breaches again under its new assignment
NEXT_DAY = [
    *FOLLOW_UPS,
    follow_up("104", "rep_01", "na_smb", datetime(2026, 11, 2, 23, 59, 59), "breached"),
    follow_up("102", "rep_04", "emea", datetime(2026, 11, 1, 23, 59, 59), "breached"),
]


def run(settings, day: str = "2026-11-02") -> dict:
    return nightly.sla_alerts(f"scheduled__{day}", datetime.fromisoformat(day))


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def no_alerts_connection(monkeypatch, airflow_home):
    monkeypatch.delenv("AIRFLOW_CONN_LEAD_SCORING_ALERTS", raising=False)


def test_file_notifier_alerts_each_breach_once_across_reruns_and_days(
    settings, no_alerts_connection
):
    write_routing_marts(settings, reps=REPS, follow_ups=FOLLOW_UPS)
    first = run(settings)
    log = alerts_dir(settings) / ALERT_LOG
    messages = lines(log)
    assert [(m["rep_id"], m["rep_name"], m["team"]) for m in messages] == [
        ("rep_01", "NA SMB rep 1", "na_smb"), ("rep_04", "EMEA rep 1", "emea")]  # fmt: skip
    assert [lead["lead_id"] for lead in messages[0]["breaches"]] == ["101", "102"]
    assert messages[0]["text"].startswith("SLA breach: 2 leads have no follow-up")
    assert "lead 101 (due 2026-11-01 23:59 UTC)" in messages[0]["text"]
    assert first == {"breaches": 3, "new_breaches": 3, "alerts_sent": 3, "messages": 2,
                     "new_by_rep": {"rep_01": 2, "rep_04": 1},
                     "new_by_team": {"emea": 1, "na_smb": 2}}  # fmt: skip

    rerun = run(settings)  # the same date again: nothing new
    assert (rerun["breaches"], rerun["alerts_sent"], rerun["messages"]) == (3, 0, 0)
    assert len(lines(log)) == 2

    write_routing_marts(settings, follow_ups=NEXT_DAY)
    next_day = run(settings, "2026-11-03")
    assert (next_day["breaches"], next_day["new_breaches"], next_day["alerts_sent"]) == (5, 2, 2)
    new = lines(log)[2:]
    assert [(m["rep_id"], [lead["lead_id"] for lead in m["breaches"]]) for m in new] == [
        ("rep_01", ["104"]), ("rep_04", ["102"])]  # fmt: skip
    assert new[0]["text"].startswith("SLA breach: 1 lead has no follow-up")
    state = lines(alerts_dir(settings) / STATE)
    assert len(state) == len({s["key"] for s in state}) == 5
    assert {s["channel"] for s in state} == {"file"}


def test_no_follow_up_mart_no_alert(settings, no_alerts_connection):
    write_routing_marts(settings, reps=REPS)
    assert run(settings)["breaches"] == 0
    assert not (alerts_dir(settings) / ALERT_LOG).exists()


class _Webhook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.path, self.headers.get("Authorization"), body))
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch, airflow_home):
    """A local incoming-webhook server and the connection lead_scoring_alerts naming it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn = {"conn_type": "http", "host": "127.0.0.1", "port": server.server_port,
            "schema": "http", "password": "hook-token",
            "extra": {"endpoint": "/services/T000/B000/XXXX"}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_LEAD_SCORING_ALERTS", json.dumps(conn))
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_notifier_posts_one_json_message_per_rep_once(settings, webhook):
    write_routing_marts(settings, reps=REPS, follow_ups=FOLLOW_UPS)
    webhook.status = 500  # the receiver is down: the task fails, nothing is recorded as sent
    with pytest.raises(Exception, match="500"):
        run(settings)
    assert not (alerts_dir(settings) / STATE).exists()

    webhook.status, webhook.received[:] = 200, []
    assert run(settings)["alerts_sent"] == 3
    assert run(settings)["alerts_sent"] == 0  # the rerun posts nothing
    assert [(path, auth) for path, auth, _ in webhook.received] == [
        ("/services/T000/B000/XXXX", "Bearer hook-token")] * 2  # fmt: skip
    bodies = [body for _, _, body in webhook.received]
    assert [(b["rep_id"], len(b["breaches"])) for b in bodies] == [("rep_01", 2), ("rep_04", 1)]
    assert all(b["text"].startswith("SLA breach:") for b in bodies)  # what Slack shows
    assert not (alerts_dir(settings) / ALERT_LOG).exists()  # the connection replaces the file
    assert {s["channel"] for s in lines(alerts_dir(settings) / STATE)} == {"webhook"}


def test_deadline_alert_through_airflows_callback_trigger(settings, no_alerts_connection):
    """What the triggerer does when the nightly run misses its deadline."""
    from airflow.triggers.callback import CallbackTrigger

    context = {
        "dag_run": {"dag_id": "lead_scoring_nightly", "run_id": "scheduled__2026-11-02",
                    "state": "running"},
        "deadline": {"id": "d1", "deadline_time": "2026-11-02T06:00:00+00:00"},
    }  # fmt: skip
    trigger = CallbackTrigger("lead_scoring.alerts.DeadlineNotifier", {"context": context})

    async def events():
        return [event.payload async for event in trigger.run()]

    states = [payload["state"] for payload in asyncio.run(events())]
    assert states == ["running", "success"]
    (message,) = lines(alerts_dir(settings) / ALERT_LOG)
    assert message["kind"] == "deadline"
    assert message["text"] == (
        "lead_scoring_nightly run scheduled__2026-11-02 has not finished by its deadline"
        " 2026-11-02T06:00:00+00:00 (state running)"
    )


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to take one message: what smtplib sends, answered in order."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self):
        self.reply("220 localhost")
        while line := self.rfile.readline().decode():
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 localhost")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    data += self.rfile.readline()
                self.server.messages.append(message_from_bytes(data[:-5]))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                self.reply("250 ok")


def test_smtp_notifier_mails_one_message_per_rep(settings, monkeypatch, airflow_home):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.messages = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": server.server_address[1],
            "extra": {"to": "sales-managers@example.com", "from_email": "alerts@example.com",
                      "disable_tls": True, "disable_ssl": True}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_LEAD_SCORING_ALERTS", json.dumps(conn))
    try:
        write_routing_marts(settings, reps=REPS, follow_ups=FOLLOW_UPS)
        assert run(settings)["messages"] == 2
        assert run(settings)["messages"] == 0
    finally:
        server.shutdown()
        server.server_close()
    assert [m["To"] for m in server.messages] == ["sales-managers@example.com"] * 2
    assert server.messages[0]["Subject"] == "lead scoring: SLA breach"
    body = server.messages[0].get_payload()[0].get_payload(decode=True).decode()
    assert "NA SMB rep 1 (rep_01, team na_smb): lead 101" in body
