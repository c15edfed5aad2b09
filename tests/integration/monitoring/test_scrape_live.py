"""A real Prometheus runs the generated scrape jobs (static stand-ins for
discovered pods, same relabeling) against a real redis_exporter + redis-server,
node-exporter and pushgateway."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from components.monitoring.prometheus_config import render_prometheus_config
from components.monitoring.rules import RulesSpec, render_rule_files
from tests.integration.monitoring.helpers import (start_pushgateway, alerts, http_get, loopback_spec, query, redis_pod, start_node_exporter,
                                                  start_prometheus, start_redis, start_redis_exporter)
from tests.integration.procs import port_open, require, wait_for

pytestmark = pytest.mark.integration

REDIS_IP, SKIPPED_POD_IP, NODE_IP, PROM_IP = "127.0.0.90", "127.0.0.91", "127.0.0.92", "127.0.0.93"
PUSH_IP, PUSH_PROM_IP = "127.0.0.94", "127.0.0.95"


def test_redis_scraped_with_pod_labels_and_down_alert(procs, tmp_path):
    redis = start_redis(procs, tmp_path, REDIS_IP)
    start_redis_exporter(procs, tmp_path, REDIS_IP)
    start_node_exporter(procs, tmp_path, NODE_IP)
    rules_dir = tmp_path / "rules"
    spec = loopback_spec(
        environment="dev", prometheus_ip=PROM_IP, rules_dir=rules_dir, node_exporters=[f"{NODE_IP}:9100"],
        pods=[redis_pod(REDIS_IP, "cache-0", "cache", "payments"),
              # A pod without the scrape annotation must be dropped by the keep rule.
              redis_pod(SKIPPED_POD_IP, "other-0", "other", "search", scrape=False)],
    )
    # The short `for` is a spec field; production keeps the rule's 1m.
    rules = render_rule_files(RulesSpec(for_overrides={"RedisDown": "2s"}))
    start_prometheus(procs, tmp_path, PROM_IP, render_prometheus_config(spec), rules, rules_dir)

    wait_for(lambda: query(PROM_IP, "redis_up == 1"), 20, what="redis_up == 1")
    [series] = query(PROM_IP, "redis_up")
    assert series["metric"] == {
        "__name__": "redis_up", "job": "kubernetes-pods", "instance": f"{REDIS_IP}:9121",
        "deployment": "cache", "team": "payments", "namespace": "redis", "pod": "cache-0",
    }
    targets = json.loads(http_get(f"http://{PROM_IP}:9090/api/v1/targets"))["data"]["activeTargets"]
    pod_targets = [t for t in targets if t["labels"]["job"] == "kubernetes-pods"]
    assert [t["labels"]["pod"] for t in pod_targets] == ["cache-0"]
    wait_for(lambda: query(PROM_IP, 'up{job="node-exporter", node="node-0"} == 1'), 15, what="node-exporter up")
    assert query(PROM_IP, "node_memory_MemAvailable_bytes")
    wait_for(lambda: query(PROM_IP, 'job:redis_up:sum{deployment="cache", team="payments"} == 1'), 15,
             what="recording rule job:redis_up:sum")

    redis.stop()
    stopped = time.monotonic()
    wait_for(lambda: query(PROM_IP, 'redis_up{pod="cache-0"} == 0'), 20, what="redis_up == 0")
    print(f"redis_up went to 0 {time.monotonic() - stopped:.1f}s after redis stopped")

    def redis_down_alert():
        return [a for a in alerts(PROM_IP) if a["labels"]["alertname"] == "RedisDown"]

    wait_for(redis_down_alert, 20, what="RedisDown alert")
    [alert] = redis_down_alert()
    print(f"RedisDown {alert['state']} {time.monotonic() - stopped:.1f}s after redis stopped")
    assert alert["state"] in ("pending", "firing")
    assert alert["labels"]["deployment"] == "cache" and alert["labels"]["team"] == "payments"
    assert alert["labels"]["severity"] == "critical"
    wait_for(lambda: redis_down_alert()[0]["state"] == "firing", 20, what="RedisDown firing")
    print(f"RedisDown firing {time.monotonic() - stopped:.1f}s after redis stopped")


# Seed 000, section 5, with the Pushgateway address of this test.
SEED_PUSH_SCRIPT = """\
instance_ip=$(hostname -I | awk '{print $1}')
active_users=$(who | wc -l)

echo "system_active_users $active_users" | \\
curl --data-binary @- http://%s/metrics/job/user_stats/instance/$instance_ip
"""


def test_seed_pushgateway_script_keeps_its_labels(procs, tmp_path):
    start_pushgateway(procs, tmp_path, PUSH_IP)
    rules_dir = tmp_path / "rules"
    spec = loopback_spec(environment="dev", prometheus_ip=PUSH_PROM_IP, rules_dir=rules_dir,
                         pushgateways=[f"{PUSH_IP}:9091"])
    start_prometheus(procs, tmp_path, PUSH_PROM_IP, render_prometheus_config(spec), render_rule_files(RulesSpec()), rules_dir)

    pushed = subprocess.run(["sh", "-c", SEED_PUSH_SCRIPT % f"{PUSH_IP}:9091"], capture_output=True, text=True, timeout=20)
    assert pushed.returncode == 0, pushed.stderr
    instance_ip = subprocess.run(["sh", "-c", "hostname -I | awk '{print $1}'"], capture_output=True, text=True).stdout.strip()
    users = int(subprocess.run(["sh", "-c", "who | wc -l"], capture_output=True, text=True).stdout)

    wait_for(lambda: query(PUSH_PROM_IP, "system_active_users"), 20, what="pushed metric scraped")
    [series] = query(PUSH_PROM_IP, "system_active_users")
    labels = series["metric"]
    # honor_labels: the pushed job/instance win over the pushgateway target's.
    assert labels == {"__name__": "system_active_users", "job": "user_stats", "instance": instance_ip}
    assert float(series["value"][1]) == users
    print(f"pushed system_active_users={users} instance={instance_ip}, scraped with labels {labels}")
