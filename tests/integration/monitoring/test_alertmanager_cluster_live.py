"""Three real Alertmanagers gossiping as the StatefulSet's replicas do, on the
rendered alertmanager.yml, each sent every alert (as Prometheus does). A
stand-in Slack records each webhook call: every receiver gets one
notification per alert group, however many replicas received the alert."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from components.monitoring.alertmanager import cluster_args
from components.monitoring.alertmanager_config import AlertmanagerSpec, TeamRoute, render_alertmanager_config
from tests.integration.procs import port_open, require, wait_for

pytestmark = pytest.mark.integration

AMS = ["127.0.2.91", "127.0.2.92", "127.0.2.93"]
SLACK = "127.0.2.94"


class _Slack(BaseHTTPRequestHandler):
    posts: list[tuple[str, dict]] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Slack.posts.append((self.path, body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _post_alerts(ip: str, alerts: list[dict]) -> None:
    req = urllib.request.Request(f"http://{ip}:9093/api/v2/alerts", data=json.dumps(alerts).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def test_three_replicas_notify_each_receiver_once(procs, tmp_path):
    server = HTTPServer((SLACK, 8080), _Slack)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        secrets = tmp_path / "secrets"
        secrets.mkdir()
        for name in ("platform", "platform-critical", "payments"):
            (secrets / name).write_text(f"http://{SLACK}:8080/{name}\n")
        spec = AlertmanagerSpec(api_url_file=str(secrets / "platform"),
                                critical_api_url_file=str(secrets / "platform-critical"),
                                teams=(TeamRoute("payments", "#payments", str(secrets / "payments")),),
                                group_wait="1s", group_interval="1m", repeat_interval="1h")
        conf = tmp_path / "alertmanager.yml"
        conf.write_text(render_alertmanager_config(spec))
        for i, ip in enumerate(AMS):
            # The component's flags, with loopback addresses for the pods' DNS names.
            flags = [f.replace("$(POD_IP)", ip) for f in cluster_args("ns", len(AMS), "alertmanager")]
            flags = [f"--cluster.peer={peer}:9094" if f.startswith("--cluster.peer=") else f for f, peer in
                     zip(flags, [None, None, *AMS])]
            flags = [f.replace("0.0.0.0", ip) for f in flags]
            procs.start([require("prometheus-alertmanager"), f"--config.file={conf}",
                         f"--storage.path={tmp_path / f'am-{i}'}", f"--web.listen-address={ip}:9093",
                         "--cluster.peer-timeout=2s", "--cluster.settle-timeout=5s", *flags], tmp_path / f"am-{i}.log")
        for ip in AMS:
            wait_for(lambda ip=ip: port_open(ip, 9093), 15, what=f"alertmanager {ip}")

        def peers(ip: str) -> int:
            with urllib.request.urlopen(f"http://{ip}:9093/api/v2/status", timeout=3) as resp:
                return len(json.loads(resp.read())["cluster"]["peers"])

        wait_for(lambda: all(peers(ip) == 3 for ip in AMS), 30, interval=0.5, what="three peers each")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        alerts = [
            {"labels": {"alertname": "RedisDown", "severity": "critical", "team": "payments", "deployment": "orders",
                        "environment": "dev", "pod": "orders-0"},
             "annotations": {"summary": "s", "description": "d"}, "startsAt": now},
            {"labels": {"alertname": "RedisReplicationBroken", "severity": "warning", "team": "payments",
                        "deployment": "orders", "environment": "dev", "pod": "orders-1"},
             "annotations": {"summary": "s", "description": "d"}, "startsAt": now},
            {"labels": {"alertname": "PrometheusTargetDown", "severity": "warning", "environment": "dev"},
             "annotations": {"summary": "s", "description": "d"}, "startsAt": now},
        ]
        sent = time.monotonic()
        for ip in AMS:
            _post_alerts(ip, alerts)
        # Replica i waits i peer timeouts before sending what others have not.
        wait_for(lambda: len(_Slack.posts) >= 3, 30, interval=0.5, what="notifications")
        time.sleep(8)  # past every replica's turn: a duplicate would arrive by now
        by_path = sorted(p for p, _ in _Slack.posts)
        print(f"{len(_Slack.posts)} notifications {time.monotonic() - sent:.1f}s after the alerts: {by_path}")
        # The critical team alert: the team's channel and the platform's
        # critical channel; the unlabelled warning: the platform's channel.
        # Each once. The team's replication warning is inhibited by RedisDown
        # of the same deployment.
        assert by_path == ["/payments", "/platform", "/platform-critical"], by_path
        texts = json.dumps([b for _, b in _Slack.posts])
        assert "RedisDown" in texts and "RedisReplicationBroken" not in texts
        channels = {(p, b["channel"]) for p, b in _Slack.posts}
        assert ("/payments", "#payments") in channels
    finally:
        server.shutdown()
        server.server_close()
