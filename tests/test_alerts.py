"""`scm alerts`: the digest read from a snapshot, its channels (a webhook and an SMTP server on 127.0.0.1),
the settings and targets, and the sensor that sends it after a run."""

from __future__ import annotations

import json
import socket
import threading
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from pipelines import snapshot
from pipelines.alerts.channels import Outcome, Settings, SettingsError, load_settings, send
from pipelines.alerts.digest import Digest, Section, build_digest, read_digest, read_frames
from pipelines.alerts.targets import Target, TargetsError, load_targets
from pipelines.cli import main

# pipelines/alerts/targets.toml's defaults, by hand: KPI -> (bound, value).
DEFAULT_BOUNDS = {
    "otif_rate": ("min", 0.95),
    "unit_fill_rate": ("min", 0.95),
    "stockout_rate": ("max", 0.02),
    "line_otif_rate": ("min", 0.95),
    "supplier_on_time_rate": ("min", 0.90),
    "return_rate_units": ("max", 0.10),
    "forecast_wape": ("max", 0.40),
    "schedule_adherence_rate": ("min", 0.90),
    "first_pass_yield": ("min", 0.97),
}
DEFAULT_TARGETS = {"otif_rate": Target("otif_rate", min=0.95), "stockout_rate": Target("stockout_rate", max=0.02)}


@pytest.fixture
def world_env(built_world, monkeypatch):
    """The built world as the current data directory, read only (its snapshot is not written)."""
    monkeypatch.setenv("SCM_DATA_DIR", str(built_world.data_dir))
    for name in ("SCM_ALERTS_CHANNELS", "SCM_ALERTS_FILE", "SCM_ALERTS_WEBHOOK_URL", "SCM_ALERTS_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    return built_world


def test_the_digest_of_a_built_world_is_what_the_snapshot_says(world_env):
    digest = read_digest(load_targets())
    con = snapshot.open_snapshot(snapshot.current_path())
    try:
        run_id, as_of = con.sql("select run_id, as_of_date from meta.snapshot").fetchall()[0]
        # By hand from the marts, not through replenishment_exceptions: a projected stockout on or before the
        # as-of date + the lead time rounded up.
        stockouts = con.sql(
            "select sku, warehouse_id, projected_stockout_date from marts.replenishment "
            "where projected_stockout_date - as_of_date <= ceil(lead_time_days) order by all"
        ).fetchall()
        late = con.sql(
            "select po_id, line_number, $as_of - promised_date, quantity_ordered - coalesce(quantity_received, 0) "
            "from marts.fct_purchase_order_lines where status = 'open' and promised_date < $as_of "
            "and order_date <= $as_of order by all",
            params={"as_of": as_of},
        ).fetchall()
        latest = dict(
            con.sql(
                "select kpi, arg_max(value, month) from marts.kpi_monthly where list_contains($kpis, kpi) group by kpi",
                params={"kpis": list(DEFAULT_BOUNDS)},
            ).fetchall()
        )
        not_loaded = con.sql(
            "select count(*) from meta.ingest_log where load_id = $r and status <> 'loaded' "
            "and (status in ('rejected', 'skipped') or reject_reason = 'profile')",
            params={"r": run_id},
        ).fetchall()[0][0]
    finally:
        con.close()

    assert (digest.run_id, digest.as_of_date) == (run_id, as_of)
    got = sorted((i["sku"], i["warehouse_id"], i["projected_stockout_date"]) for i in digest.section("stockouts").items)
    assert got == stockouts and digest.section("stockouts").total == len(stockouts)
    got = sorted(
        (i["po_id"], i["line_number"], i["days_late"], i["open_qty"]) for i in digest.section("late_po_lines").items
    )
    assert got == late and all(days > 0 for _, _, days, _ in late)
    off = {
        kpi
        for kpi, value in latest.items()
        if (DEFAULT_BOUNDS[kpi][0] == "max" and value > DEFAULT_BOUNDS[kpi][1])
        or (DEFAULT_BOUNDS[kpi][0] == "min" and value < DEFAULT_BOUNDS[kpi][1])
    }
    kpis = digest.section("kpis_off_target")
    assert {i["kpi"] for i in kpis.items} == off
    for item in kpis.items:
        assert item["value"] == latest[item["kpi"]]
        assert (item["bound"], item["target"]) == DEFAULT_BOUNDS[item["kpi"]]
    assert digest.section("files_not_loaded").total == not_loaded
    # The demo world has something to look at, so the comparisons above are not of empty lists only.
    assert stockouts or late or off

    as_json = json.loads(digest.to_json())
    assert as_json["as_of_date"] == as_of.isoformat()
    assert as_json["sections"]["late_po_lines"]["total"] == len(late)
    assert as_json["needs_a_look"] == (digest.total > 0)
    text = digest.render()
    for po_id, line, days, _ in late:
        assert f"{po_id} line {line} from " in text and f"{days} days late" in text


def _hand_made_snapshot() -> duckdb.DuckDBPyConnection:
    """A snapshot's tables with a few rows each, as the digest's queries read them (as of 2024-03-31)."""
    con = duckdb.connect()
    con.execute("create schema marts; create schema meta")
    con.execute(
        "create table meta.snapshot as select 'run-2' as run_id, timestamp '2024-04-01 06:00' as published_at, "
        "date '2024-03-31' as as_of_date"
    )
    con.execute(
        """
        create table marts.replenishment as select * from (values
            ('A', 'W1', 'Apple', date '2024-04-04', 4, 9.2, 10, 25.0),
            ('B', 'W1', 'Pear', date '2024-04-02', 2, 3.0, 2, 8.0),
            ('C', 'W1', 'Plum', date '2024-04-20', 20, 3.0, 50, 0.0)
        ) as t (sku, warehouse_id, product_name, projected_stockout_date, days_until_stockout, lead_time_days,
                inventory_position, recommended_order_qty);
        create table marts.replenishment_exceptions as select * from (values
            ('A', 'W1', 'Main', 'stockout_within_lead_time'),
            ('B', 'W1', 'Main', 'stockout_within_lead_time'),
            ('C', 'W1', 'Main', 'excess_stock')
        ) as t (sku, warehouse_id, warehouse_name, exception_type);
        create table marts.kpi_open_purchase_orders as select * from (values
            ('P1', 1, 'S1', 'Acme', 'A', 'W1', date '2024-03-01', date '2024-03-25', 6, 6, true),
            ('P1', 2, 'S1', 'Acme', 'B', 'W1', date '2024-03-01', date '2024-03-31', 0, 5, false),
            ('P3', 1, 'S9', null, 'C', 'W1', date '2024-03-02', date '2024-03-30', 1, 7, true)
        ) as t (po_id, line_number, supplier_id, supplier_name, sku, warehouse_id, order_date, promised_date,
                days_late, open_qty, is_late);
        create table marts.kpi_monthly as select * from (values
            (date '2024-02-01', 'otif_rate', 0.80),
            (date '2024-03-01', 'otif_rate', 0.95),
            (date '2024-03-01', 'unit_fill_rate', 0.90),
            (date '2024-02-01', 'stockout_rate', 0.05),
            (date '2024-02-01', 'revenue', 10.0)
        ) as t (month, kpi, value);
        create table meta.ingest_log as select * from (values
            ('run-2', 'orders', 'orders/o1.csv', 'loaded', 10, 7, 3, null, null),
            ('run-2', 'orders', 'orders/o2.csv', 'loaded', 5, 5, 0, null, null),
            ('run-2', 'orders', 'orders/o3.csv', 'rejected', 0, 0, 0, 'missing_columns', 'no column sku'),
            ('run-2', 'orders', 'orders/o4.csv', 'waiting', null, null, null, null, 'still being written'),
            ('run-2', 'returns', 'returns/r1.xlsx', 'waiting', null, null, null, 'profile', 'bad profile'),
            ('run-1', 'orders', 'orders/old.csv', 'rejected', 0, 0, 0, 'encoding', 'not UTF-8')
        ) as t (load_id, feed, file, status, rows_read, rows_loaded, rows_quarantined, reject_reason, message);
        create table meta.orders_quarantine as select * from (values
            ('orders/o1.csv', 'run-2', 'negative_quantity'),
            ('orders/o1.csv', 'run-2', 'unknown_sku'),
            ('orders/o1.csv', 'run-2', 'negative_quantity'),
            ('orders/old.csv', 'run-1', 'unknown_sku')
        ) as t (_source_file, _load_id, _rule);
        """
    )
    return con


def _hand_made_digest(limit: int = 20) -> Digest:
    con = _hand_made_snapshot()
    frames = read_frames(con, "run-2")
    info = snapshot.SnapshotInfo(Path("/x/20240401-run-2.duckdb"), "run-2", datetime(2024, 4, 1, 6), date(2024, 3, 31))
    targets = {**DEFAULT_TARGETS, "unit_fill_rate": Target("unit_fill_rate", min=0.95)}
    return build_digest(info, frames, targets, limit)


def test_the_digest_by_hand():
    digest = _hand_made_digest()
    # Stockouts within the lead time are replenishment_exceptions' rows of that type, soonest first.
    assert [(i["sku"], i["days_until_stockout"]) for i in digest.section("stockouts").items] == [("B", 2), ("A", 4)]
    # The open lines kpi_open_purchase_orders marks late (its rule: a dbt unit test), latest first: P1/1 and P3
    # (no supplier name); not P1/2, due on the as-of date.
    late = digest.section("late_po_lines").items
    assert [(i["po_id"], i["line_number"], i["days_late"], i["open_qty"], i["supplier_name"]) for i in late] == [
        ("P1", 1, 6, 6, "Acme"),
        ("P3", 1, 1, 7, None),
    ]
    # Latest month of each KPI: otif 0.95 meets its minimum exactly (February's 0.80 is not the latest), fill
    # rate 0.90 misses 0.95 in the as-of month, stockout rate 0.05 (February) is over 0.02; revenue has none.
    kpis = {i["kpi"]: i for i in digest.section("kpis_off_target").items}
    assert set(kpis) == {"unit_fill_rate", "stockout_rate"}
    assert (kpis["unit_fill_rate"]["month_to_date"], kpis["unit_fill_rate"]["bound"]) == (True, "min")
    assert (kpis["stockout_rate"]["month"], kpis["stockout_rate"]["month_to_date"]) == (date(2024, 2, 1), False)
    # This run's files: o3 rejected, r1 waiting for its profile; o4, still being written, is no problem, and
    # run-1's rejected file is not this run's.
    files = digest.section("files_not_loaded").items
    assert [(i["file"], i["status"], i["reject_reason"]) for i in files] == [
        ("orders/o3.csv", "rejected", "missing_columns"),
        ("returns/r1.xlsx", "waiting", "profile"),
    ]
    quarantined = digest.section("rows_quarantined").items
    assert [(i["file"], i["rows_quarantined"], i["rows_read"]) for i in quarantined] == [("orders/o1.csv", 3, 10)]
    assert quarantined[0]["rules"] == [{"rule": "negative_quantity", "rows": 2}, {"rule": "unknown_sku", "rows": 1}]

    assert digest.total == 2 + 2 + 2 + 2 + 1
    assert digest.subject() == (
        "scm alerts: 2 stockouts within the lead time, 2 late PO lines, 2 KPIs off target, 2 files not loaded, "
        "1 file with quarantined rows (as of 2024-03-31)"
    )
    text = digest.render()
    assert "  unit_fill_rate 2024-03 (month to date): 90.0%, target at least 95.0%" in text
    assert "  stockout_rate 2024-02: 5.0%, target at most 2.0%" in text
    assert "  P1 line 1 from S1 (Acme): 6 x A for W1, promised 2024-03-25, 6 days late" in text
    assert "  orders/o1.csv: 3 of 10 rows quarantined (negative_quantity 2, unknown_sku 1)" in text
    assert "  orders/o3.csv: rejected (missing_columns): no column sku" in text

    short = _hand_made_digest(limit=1)
    assert short.section("late_po_lines").total == 2 and len(short.section("late_po_lines").items) == 1
    assert "  ... and 1 more" in short.render()


class _Receiver(BaseHTTPRequestHandler):
    status = 200
    received: list[tuple[str, dict, bytes]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    handler = type("Receiver", (_Receiver,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_the_webhook_gets_the_json_and_a_failing_one_stops_no_other_channel(receiver, tmp_path, monkeypatch):
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    server, handler = receiver
    digest = _hand_made_digest()
    url = f"http://127.0.0.1:{server.server_port}/hooks/s3cret"
    settings = Settings(("webhook",), options={"webhook": {"url": url, "headers": {"X-Token": "t"}}})
    assert send(digest, settings) == [Outcome("webhook")]
    assert len(handler.received) == 1
    path, headers, body = handler.received[0]
    assert path == "/hooks/s3cret" and headers["Content-Type"] == "application/json" and headers["X-Token"] == "t"
    assert json.loads(body) == json.loads(digest.to_json())

    handler.status = 500
    settings = Settings(("webhook", "file"), options={"webhook": {"url": url}, "file": {"path": "out/alerts.json"}})
    failed, written = send(digest, settings)
    assert not failed.ok and failed.line() == (
        f"alerts channel webhook failed: http://127.0.0.1:{server.server_port} answered HTTP 500 Internal Server Error"
    )
    assert "s3cret" not in failed.line()  # a webhook URL's path is its secret
    assert written.ok and json.loads((tmp_path / "out" / "alerts.json").read_text())["run_id"] == "run-2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.envelopes.append(envelope)
        return "250 OK"


def test_the_email_has_the_text_and_the_json_attached(tmp_path, monkeypatch):
    import email

    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        digest = _hand_made_digest()
        environ = {
            "SCM_ALERTS_CHANNELS": "email",
            "SCM_ALERTS_SMTP_HOST": "127.0.0.1",
            "SCM_ALERTS_SMTP_PORT": str(port),
            "SCM_ALERTS_EMAIL_FROM": "scm@example.com",
            "SCM_ALERTS_EMAIL_TO": "planner@example.com, buyer@example.com",
        }
        (outcome,) = send(digest, load_settings(environ=environ))
        assert outcome.ok, outcome.line()
    finally:
        controller.stop()
    (envelope,) = inbox.envelopes
    assert envelope.mail_from == "scm@example.com"
    assert envelope.rcpt_tos == ["planner@example.com", "buyer@example.com"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == digest.subject()
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == digest.render()  # SMTP's line ends
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "alerts.json"
    assert json.loads(attachment.get_content()) == json.loads(digest.to_json())

    # Nothing listening on that port now: one line naming the channel and where it tried.
    (outcome,) = send(digest, load_settings(environ=environ))
    assert outcome.line().startswith(f"alerts channel email failed: cannot reach 127.0.0.1:{port}: ")


def test_settings_environment_over_file_and_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    assert load_settings(environ={}).channels == ("stdout",)
    path = tmp_path / "alerts.toml"
    path.write_text(
        'channels = ["stdout", "webhook"]\nlimit = 5\nskip_empty = true\n[webhook]\nurl = "http://127.0.0.1:1/a"\n'
    )
    settings = load_settings(environ={})
    assert (settings.channels, settings.limit, settings.skip_empty) == (("stdout", "webhook"), 5, True)
    assert settings.of("webhook")["url"] == "http://127.0.0.1:1/a"
    settings = load_settings(environ={"SCM_ALERTS_CHANNELS": "file,email", "SCM_ALERTS_WEBHOOK_URL": "http://h/b"})
    assert settings.channels == ("file", "email") and settings.of("webhook")["url"] == "http://h/b"
    outcomes = send(_hand_made_digest(), settings)
    assert [o.line() for o in outcomes] == [
        f"alerts channel file failed: no path: set SCM_ALERTS_FILE or path in [file] of {path}",
        "alerts channel email failed: missing SCM_ALERTS_SMTP_HOST, SCM_ALERTS_EMAIL_FROM, SCM_ALERTS_EMAIL_TO "
        f"(or host, sender, to in [email] of {path})",
    ]
    quiet = Digest("r", datetime(2024, 4, 1), date(2024, 3, 31), "s.duckdb", [Section("stockouts", "Stockouts", 0)])
    assert quiet.subject() == "scm alerts: nothing needs a look (as of 2024-03-31)"
    assert send(quiet, Settings(("file",), skip_empty=True)) == []  # nothing to look at: nothing sent
    with pytest.raises(SettingsError, match="unknown alert channel slack"):
        load_settings(environ={"SCM_ALERTS_CHANNELS": "stdout,slack"})
    with pytest.raises(SettingsError, match="SCM_ALERTS_SMTP_PORT must be a whole number"):
        load_settings(environ={"SCM_ALERTS_SMTP_PORT": "twenty-five"})


def test_targets_defaults_and_the_data_directory_override(tmp_path):
    defaults = load_targets(tmp_path / "none.toml")
    assert defaults == {kpi: Target(kpi, **{bound: value}) for kpi, (bound, value) in DEFAULT_BOUNDS.items()}
    override = tmp_path / "targets.toml"
    override.write_text("[otif_rate]\nmin = 0.9\n[stockout_rate]\n[supplier_on_time_rate]\nmin = 0.85\n")
    assert load_targets(override) == {
        "otif_rate": Target("otif_rate", min=0.9),
        "unit_fill_rate": Target("unit_fill_rate", min=0.95),
        **{
            kpi: Target(kpi, **{b: v})
            for kpi, (b, v) in DEFAULT_BOUNDS.items()
            if kpi not in ("otif_rate", "stockout_rate")
        },
        "supplier_on_time_rate": Target("supplier_on_time_rate", min=0.85),
    }
    override.write_text('[otif_rate]\nminimum = "95%"\n')
    with pytest.raises(TargetsError, match=r"targets.toml: \[otif_rate\] has minimum; only min and max are read"):
        load_targets(override)


def test_scm_alerts_prints_the_digest_and_says_when_there_is_none(world_env, tmp_path, monkeypatch):
    result = CliRunner().invoke(main, ["alerts", "--format", "json", "--limit", "1"])
    assert result.exit_code == 0, result.output
    digest = json.loads(result.stdout)
    assert digest["as_of_date"] is not None
    assert all(len(s["items"]) <= 1 for s in digest["sections"].values())

    monkeypatch.setenv("SCM_ALERTS_CHANNELS", "stdout,webhook")
    monkeypatch.setenv("SCM_ALERTS_WEBHOOK_URL", f"http://127.0.0.1:{_free_port()}/x")
    result = CliRunner().invoke(main, ["alerts"])
    assert result.exit_code == 1
    assert result.stdout.startswith("scm alerts: ")  # stdout was still sent
    assert "error: alerts channel webhook failed: cannot reach http://127.0.0.1:" in result.stderr

    monkeypatch.setenv("SCM_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["alerts"])
    assert result.exit_code == 2 and "no warehouse yet" in result.stderr


def test_the_sensor_sends_the_digest_after_a_successful_run_and_starts_none(world_env, tmp_path, monkeypatch):
    from pipelines.definitions import defs

    sensor = defs.resolve_sensor_def("alerts_after_run")
    assert isinstance(sensor, dg.RunStatusSensorDefinition)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.targets == []  # it starts no run
    monitored = {j.name for j in sensor._monitored_jobs}  # Dagster has no public accessor for them
    assert monitored == {"everything", "refresh", "forecast"}

    out = tmp_path / "alerts.json"
    monkeypatch.setenv("SCM_ALERTS_CHANNELS", "file")
    monkeypatch.setenv("SCM_ALERTS_FILE", str(out))

    @dg.op
    def noop():
        return None

    @dg.job
    def finished():
        noop()

    with dg.instance_for_test() as instance:
        result = finished.execute_in_process(instance=instance)
        context = dg.build_run_status_sensor_context(
            sensor_name="alerts_after_run",
            dagster_event=result.get_run_success_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        )
        sensor(context)
    written = json.loads(out.read_text())
    assert written == json.loads(read_digest(load_targets()).to_json())
