"""Loopback stand-ins for the monitoring stack: start the real Debian
programs on generated text, query Prometheus's HTTP API."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path

from components.monitoring import labels as L
from components.monitoring.prometheus_config import PrometheusSpec, endpoint_target, pod_target
from components.common.redis_acl import exporter_password_file
from components.redis.conf import RedisConfSpec, render_redis_conf
from tests.integration.procs import ProcGroup, port_open, require, wait_for

NS = "redis"
MON_NS = "monitoring"


def write_files(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def redis_pod(ip: str, pod: str, deployment: str, team: str, scrape: bool = True, component: str | None = None):
    """A Redis pod with its exporter sidecar, as kubernetes_sd role pod sees it
    (``component``: its app.kubernetes.io/component label, e.g. sentinel)."""
    annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(9121)} if scrape else {}
    pod_labels = {L.DEPLOYMENT_POD_LABEL: deployment, L.TEAM_POD_LABEL: team, "app.kubernetes.io/name": "redis"}
    if component is not None:
        pod_labels[L.COMPONENT_POD_LABEL] = component
    return pod_target(f"{ip}:6379", pod=pod, namespace=NS, pod_labels=pod_labels, annotations=annotations)


def loopback_spec(*, environment: str, prometheus_ip: str, rules_dir: Path, pods=(), node_exporters=(),
                  pushgateways=(), **kw) -> PrometheusSpec:
    """PrometheusSpec whose SD jobs get static stand-ins (names unchanged)."""
    overrides = {
        "kubernetes-pods": tuple(pods),
        "node-exporter": tuple(endpoint_target(a, service="node-exporter", namespace=MON_NS, port_name="metrics",
                                               pod=f"node-exporter-{i}", node=f"node-{i}")
                               for i, a in enumerate(node_exporters)),
        "pushgateway": tuple(endpoint_target(a, service="pushgateway", namespace=MON_NS, port_name="http",
                                             pod="pushgateway-0", node="node-0") for a in pushgateways),
        "cadvisor": (),
        "alertmanager": (),
    }
    return PrometheusSpec(
        cluster=f"{environment}-cluster", environment=environment,
        scrape_interval="1s", scrape_timeout="900ms", evaluation_interval="1s",
        rule_files=(f"{rules_dir}/*.yml",), alertmanager_targets=(f"{prometheus_ip}:9093",),
        self_target=f"{prometheus_ip}:9090", static_overrides=overrides, namespace=MON_NS, **kw,
    )


def start_redis(procs: ProcGroup, tmp: Path, ip: str, maxmemory: int = 64 * 1024 * 1024, extra=None, replicaof=None):
    data = tmp / f"redis-{ip}"
    data.mkdir(parents=True, exist_ok=True)
    extra = dict(extra or {})
    if replicaof:
        extra["replicaof"] = replicaof
    conf = render_redis_conf(RedisConfSpec(maxmemory_bytes=maxmemory, bind=ip, data_dir=str(data), include=None,
                                           appendonly=False, save_rules=(), extra=extra))
    (data / "redis.conf").write_text(conf)
    proc = procs.start([require("redis-server"), str(data / "redis.conf")], tmp / f"redis-{ip}.log")
    wait_for(lambda: port_open(ip, 6379), 10, what=f"redis on {ip}")
    return proc


def start_redis_exporter(procs: ProcGroup, tmp: Path, ip: str, port: int = 9121, redis_ip: str | None = None,
                         redis_port: int = 6379, password: str | None = None, user: str | None = None):
    """``password`` reaches the exporter by environment, as in a Sentinel
    pod; with an ACL ``user`` it is in a password file, as in a cluster pod."""
    addr = f"redis://{redis_ip or ip}:{redis_port}"
    env = {"REDIS_PASSWORD": password} if password is not None else None
    if user is not None:
        pw_file = tmp / f"redis-exporter-{ip}-{port}.json"
        pw_file.write_text(exporter_password_file(addr, password or ""))
        env = {"REDIS_USER": user, "REDIS_PASSWORD_FILE": str(pw_file)}
    proc = procs.start([require("prometheus-redis-exporter"), f"--redis.addr={addr}",
                        f"--web.listen-address={ip}:{port}"], tmp / f"redis-exporter-{ip}-{port}.log", env=env)
    wait_for(lambda: port_open(ip, port), 10, what="redis exporter")
    return proc


def start_node_exporter(procs: ProcGroup, tmp: Path, ip: str, port: int = 9100):
    proc = procs.start([require("prometheus-node-exporter"), f"--web.listen-address={ip}:{port}"],
                       tmp / f"node-exporter-{ip}.log")
    wait_for(lambda: port_open(ip, port), 10, what="node exporter")
    return proc


def start_prometheus(procs: ProcGroup, tmp: Path, ip: str, config: str, rules: dict[str, str], rules_dir: Path):
    write_files(rules_dir, rules)
    conf = tmp / f"prometheus-{ip}.yml"
    conf.write_text(config)
    proc = procs.start([require("prometheus"), f"--config.file={conf}", f"--storage.tsdb.path={tmp / ('tsdb-' + ip)}",
                        f"--web.listen-address={ip}:9090"], tmp / f"prometheus-{ip}.log")
    wait_for(lambda: http_get(f"http://{ip}:9090/-/ready").startswith("Prometheus"), 20, what="prometheus ready")
    return proc


def http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=3) as resp:
        return resp.read().decode()


def query(ip: str, promql: str) -> list[dict]:
    body = json.loads(http_get(f"http://{ip}:9090/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
    assert body["status"] == "success", body
    return body["data"]["result"]


def alerts(ip: str) -> list[dict]:
    return json.loads(http_get(f"http://{ip}:9090/api/v1/alerts"))["data"]["alerts"]


def metric_names(url: str) -> set[str]:
    """Metric family names a live /metrics endpoint exports (from # TYPE lines
    and samples, so histogram/summary suffixes count too)."""
    names = set()
    for line in http_get(url).splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(line.split("{")[0].split(" ")[0])
    return names


def start_pushgateway(procs: ProcGroup, tmp: Path, ip: str, port: int = 9091):
    """A Pushgateway holding metrics in memory only: Debian's build persists to
    /var/lib/prometheus/pushgateway.data by default, which every test (and the
    host) would then share."""
    proc = procs.start([require("prometheus-pushgateway"), f"--web.listen-address={ip}:{port}", "--persistence.file="],
                       tmp / f"pushgateway-{ip}.log")
    wait_for(lambda: port_open(ip, port), 10, what=f"pushgateway on {ip}")
    return proc
