"""The table of bad stack configs: each case changes a good config in one
place (or is a raw stack file for the file layer) and names the key path the
one error line must show."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import yaml

DELETE = object()
CLUSTER = {"name": "sessions", "team": "web", "mode": "cluster", "size": "small"}
SENTINEL = {"name": "cache", "team": "web", "mode": "sentinel", "size": "small"}
GOOD: dict[str, Any] = {
    "environment": "test",
    "clusterName": "unit",
    "storage": {"kind": "existing", "storageClassName": "standard"},
    "deployments": [CLUSTER, SENTINEL],
    "monitoring": {"alertmanager": {"teamRoutes": [{"team": "web", "slackChannel": "#web"}],
                                    "slackWebhookUrl": "https://hooks.slack.com/services/T0/B0/x"}},
}
OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.ap-northeast-2.amazonaws.com/id/ABCDEF"
EBS = {"kind": "ebs", "eksClusterName": "prod", "oidcProviderArn": OIDC}
S3 = {"kind": "s3", "endpoint": "http://minio:9000", "bucketName": "backups", "credentialsSecret": "s3-creds"}
FED = {"enabled": True, "lower": [{"name": "prod", "url": "http://prometheus.monitoring.svc:9090"}]}


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    key: str  # what the error line must name, after "config error: "
    changes: dict[str, Any] | None = None
    raw: str | None = None

    def values(self) -> dict[str, Any]:
        return apply(GOOD, self.changes or {})

    def stack_file_text(self) -> str:
        if self.raw is not None:
            return self.raw
        return yaml.safe_dump({"config": {f"redis-platform:{k}": v for k, v in self.values().items()}}, sort_keys=False)


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def apply(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` maps key paths (``a.b[1].c``) to new values (or DELETE)."""
    out = copy.deepcopy(base)
    for path, value in changes.items():
        steps = [int(i) if i else k for k, i in _STEP.findall(path)]
        node = out
        for step in steps[:-1]:
            if isinstance(step, str) and step not in node:
                node[step] = {}
            node = node[step]
        if value is DELETE:
            del node[steps[-1]]
        else:
            node[steps[-1]] = copy.deepcopy(value)
    return out


def case(id: str, group: str, path: str, value: Any, key: str | None = None, **more: Any) -> Case:
    return Case(id, group, f"redis-platform:{key or path}", {path: value, **more})


R = "redis-platform"
BASE_FILE = yaml.safe_dump({"config": {f"{R}:environment": "test", f"{R}:clusterName": "unit",
                                       f"{R}:storage": {"kind": "existing", "storageClassName": "standard"}}}, sort_keys=False)

CASES: list[Case] = [
    # -- schema: keys, types, ranges, enums --------------------------------
    case("unknown-top-key", "schema", "enviroment", "dev"),
    case("unknown-nested-key", "schema", "deployments[0].sise", "small"),
    case("wrong-type", "schema", "deployments[0].cluster.shards", "three"),
    case("too-few-shards", "schema", "deployments[0].cluster.shards", 2),
    case("zone-key-with-quote", "schema", "deployments[0].cluster.zoneDiscovery.topologyKey", "zone\"x"),
    case("zone-key-bad-prefix", "schema", "deployments[0].cluster.zoneDiscovery.topologyKey", "Topology_/zone"),
    case("unknown-mode", "schema", "deployments[0].mode", "replicated"),
    # -- ACL users: the app user's rules ----------------------------------
    case("acl-password-in-commands", "acl", "deployments[0].acl.app.commands", "+@all >secret"),
    case("acl-key-in-commands", "acl", "deployments[0].acl.app.commands", "+@read ~app:*"),
    case("acl-empty-commands", "acl", "deployments[0].acl.app.commands", " "),
    case("acl-nopass-in-commands", "acl", "deployments[0].acl.app.commands", "+@all nopass"),
    case("acl-key-with-tilde", "acl", "deployments[0].acl.app.keys", ["~app:*"]),
    case("acl-key-with-space", "acl", "deployments[0].acl.app.keys", ["app *"]),
    case("acl-no-keys", "acl", "deployments[0].acl.app.keys", []),
    case("acl-channel-with-amp", "acl", "deployments[0].acl.app.channels", ["&news"]),
    case("acl-unknown-key", "acl", "deployments[0].acl.app.command", "+@read"),
    case("unknown-preset", "schema", "deployments[0].size", "huge"),
    case("name-not-dns-label", "schema", "deployments[0].name", "Sessions_1"),
    case("even-sentinels", "schema", "deployments[1].sentinel.sentinels", 4, key="deployments[1].sentinel"),
    case("k8s-version-as-float", "schema", "kubernetesVersion", "1.3"),
    case("unknown-storage-kind", "schema", "storage.kind", "ceph", key="storage"),
    case("port-out-of-range", "schema", "monitoring.grafana.port", 70000),
    case("aws-backup-without-bucket", "schema", "backup", {"kind": "aws", "region": "x", "oidcProviderArn": OIDC},
         key="backup.bucketName"),
    case("maxmemory-fraction-too-high", "schema", "deployments[0].maxmemoryFraction", 0.99),
    case("missing-environment", "schema", "environment", DELETE),
    case("deployments-not-a-list", "schema", "deployments", "sessions"),
    case("tls-without-issuer", "schema", "deployments[0].tls", {"enabled": True}),
    case("tls-issuer-kind", "schema", "deployments[0].tls", {"enabled": True, "issuer": {"name": "ca", "kind": "CA"}},
         key="deployments[0].tls.issuer.kind"),
    case("tls-issuer-name", "schema", "deployments[0].tls", {"enabled": True, "issuer": {"name": "My CA"}},
         key="deployments[0].tls.issuer.name"),
    # -- Kubernetes quantities without a unit or malformed -----------------
    case("volume-without-unit", "quantity", "deployments[0].persistence.size", "5"),
    case("prometheus-volume-without-unit", "quantity", "monitoring.prometheus.storageSize", "50"),
    case("volume-in-prometheus-units", "quantity", "monitoring.alertmanager.storageSize", "2GiB"),
    case("memory-without-unit", "quantity", "deployments[0].resources", {"cpu": "500m", "memory": "4096"},
         key="deployments[0].resources.memory", **{"deployments[0].size": DELETE}),
    case("negative-volume", "quantity", "monitoring.grafana.storageSize", "-5Gi"),
    case("federation-volume-without-unit", "quantity", "federation", FED | {"storageSize": "100"}, key="federation.storageSize"),
    # -- Prometheus byte sizes ---------------------------------------------
    case("retention-size-in-gi", "prometheus-size", "monitoring.prometheus.retentionSize", "40Gi"),
    case("retention-size-in-g", "prometheus-size", "monitoring.prometheus.retentionSize", "40G"),
    case("retention-size-without-unit", "prometheus-size", "monitoring.prometheus.retentionSize", "40"),
    case("retention-size-zero", "prometheus-size", "monitoring.prometheus.retentionSize", "0"),
    case("federation-retention-size-in-gi", "prometheus-size", "federation", FED | {"retentionSize": "80Gi"},
         key="federation.retentionSize"),
    # -- Prometheus durations ----------------------------------------------
    case("retention-in-words", "prometheus-duration", "monitoring.prometheus.retention", "15 days"),
    case("zero-scrape-interval", "prometheus-duration", "monitoring.prometheus.scrapeInterval", "0s"),
    case("units-out-of-order", "prometheus-duration", "monitoring.prometheus.scrapeInterval", "30s1m"),
    case("decimal-duration", "prometheus-duration", "monitoring.prometheus.evaluationInterval", "1.5m"),
    case("zero-retention", "prometheus-duration", "monitoring.prometheus.retention", "0"),
    case("federation-zero-interval", "prometheus-duration", "federation", FED | {"scrapeInterval": "0"},
         key="federation.scrapeInterval"),
    case("federation-duration-with-space", "prometheus-duration", "federation", FED | {"evaluationInterval": "1h 30m"},
         key="federation.evaluationInterval"),
    case("duration-upper-case-unit", "prometheus-duration", "federation", FED | {"retention": "90D"}, key="federation.retention"),
    # -- Go durations (cAdvisor flags) -------------------------------------
    case("cadvisor-days", "go-duration", "monitoring.cadvisor.housekeepingInterval", "1d"),
    case("cadvisor-zero", "go-duration", "monitoring.cadvisor.storageDuration", "0s"),
    case("cadvisor-no-unit", "go-duration", "monitoring.cadvisor.housekeepingInterval", "10"),
    # -- cron schedules ----------------------------------------------------
    case("cron-four-fields", "cron", "backup", S3 | {"schedule": "0 3 * *"}, key="backup.schedule"),
    case("cron-minute-60", "cron", "backup", S3 | {"schedule": "60 * * * *"}, key="backup.schedule"),
    case("cron-hour-24", "cron", "backup", S3 | {"schedule": "0 24 * * *"}, key="backup.schedule"),
    case("cron-step-zero", "cron", "backup", S3 | {"schedule": "*/0 * * * *"}, key="backup.schedule"),
    case("cron-sunday-7", "cron", "backup", S3 | {"schedule": "0 0 * * 7"}, key="backup.schedule"),
    case("cron-time-zone", "cron", "backup", S3 | {"schedule": "CRON_TZ=UTC 0 3 * * *"}, key="backup.schedule"),
    case("cron-descriptor-case", "cron", "backup", S3 | {"schedule": "@Daily"}, key="backup.schedule"),
    case("cron-month-13", "cron", "deployments[0].backup.schedule", "0 3 * 13 *", backup=S3),
    case("cron-every-day-unit", "cron", "deployments[1].backup.schedule", "@every 1d", backup=S3),
    case("cron-reversed-range", "cron", "deployments[1].backup.schedule", "0 5-1 * * *", backup=S3),
    case("monitoring-backup-cron-names", "cron", "monitoring.backup", {"schedule": "0 3 * * MON"}, key="monitoring.backup.schedule",
         backup=S3),
    case("monitoring-backup-cron-every", "cron", "monitoring.backup", {"schedule": "@every 6h"}, key="monitoring.backup.schedule",
         backup=S3),
    case("monitoring-backup-cron-hour-24", "cron", "monitoring.backup", {"schedule": "0 24 * * *"},
         key="monitoring.backup.schedule", backup=S3),
    case("monitoring-backup-prefix-overlaps-redis", "schema", "monitoring.backup", {"prefix": "redis/monitoring"},
         key="monitoring.backup.prefix", backup=S3),
    case("monitoring-backup-prefix-same-as-redis", "schema", "monitoring.backup", {"prefix": "backups"},
         key="monitoring.backup.prefix", backup=S3 | {"prefix": "backups"}),
    case("monitoring-backup-prefix-slash", "schema", "monitoring.backup", {"prefix": "/monitoring"},
         key="monitoring.backup.prefix", backup=S3),
    # -- CIDR ranges -------------------------------------------------------
    case("cidr-bare-address", "cidr", "deployments[1].haproxy", {"serviceType": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0"]},
         key="deployments[1].haproxy.loadBalancerSourceRanges[0]"),
    case("cidr-leading-zero", "cidr", "deployments[1].haproxy", {"serviceType": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8", "010.0.0.0/8"]},
         key="deployments[1].haproxy.loadBalancerSourceRanges[1]"),
    case("cidr-prefix-33", "cidr", "deployments[1].haproxy", {"serviceType": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/33"]},
         key="deployments[1].haproxy.loadBalancerSourceRanges[0]"),
    case("cidr-word", "cidr", "monitoring.prometheus", {"serviceType": "LoadBalancer", "loadBalancerSourceRanges": ["any"]},
         key="monitoring.prometheus.loadBalancerSourceRanges[0]"),
    case("cidr-netmask", "cidr", "monitoring.grafana", {"serviceType": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/255.0.0.0"]},
         key="monitoring.grafana.loadBalancerSourceRanges[0]"),
    case("cidr-zone", "cidr", "federation", FED | {"serviceType": "LoadBalancer", "loadBalancerSourceRanges": ["fe80::1%eth0/64"]},
         key="federation.loadBalancerSourceRanges[0]"),
    # -- scrape targets ----------------------------------------------------
    case("target-url", "target", "monitoring.prometheus.staticTargets", [{"job": "app", "targets": ["http://app:8000"]}],
         key="monitoring.prometheus.staticTargets[0].targets[0]"),
    case("target-with-path", "target", "monitoring.prometheus.staticTargets", [{"job": "app", "targets": ["app:8000/metrics"]}],
         key="monitoring.prometheus.staticTargets[0].targets[0]"),
    case("target-port-range", "target", "monitoring.prometheus.staticTargets", [{"job": "app", "targets": ["app:8000", "app:99999"]}],
         key="monitoring.prometheus.staticTargets[0].targets[1]"),
    case("target-named-port", "target", "monitoring.prometheus.staticTargets", [{"job": "app", "targets": ["app:http"]}],
         key="monitoring.prometheus.staticTargets[0].targets[0]"),
    case("target-ipv6-without-brackets", "target", "federation", FED | {"lower": [{"name": "x", "targets": ["2001:db8::1:9100"]}]},
         key="federation.lower[0].targets[0]"),
    # -- federation match[] selectors --------------------------------------
    case("selector-unclosed", "selector", "federation", FED | {"selectors": ["{job="]}, key="federation.selectors[0]"),
    case("selector-range", "selector", "federation", FED | {"selectors": ["up[5m]"]}, key="federation.selectors[0]"),
    case("selector-function", "selector", "federation", FED | {"selectors": ["rate(up[5m])"]}, key="federation.selectors[0]"),
    case("selector-everything", "selector", "federation", FED | {"selectors": ['{job=~".*"}']}, key="federation.selectors[0]"),
    case("selector-bad-escape", "selector", "federation", FED | {"selectors": ['up{job="a\\q"}']}, key="federation.selectors[0]"),
    case("selector-keyword", "selector", "federation", FED | {"selectors": ["up", "bool"]}, key="federation.selectors[1]"),
    case("selector-not-re2", "selector", "federation", FED | {"selectors": ['up{job=~"(?=a)"}']}, key="federation.selectors[0]"),
    # -- URLs --------------------------------------------------------------
    case("remote-write-without-host", "url", "monitoring.prometheus.remoteWrite", [{"url": "https:///push"}],
         key="monitoring.prometheus.remoteWrite[0].url"),
    case("s3-endpoint-without-scheme", "url", "backup", S3 | {"endpoint": "minio:9000"}, key="backup.endpoint"),
    # -- generated names ---------------------------------------------------
    case("name-collides-with-sentinel-statefulset", "names", "deployments", [SENTINEL | {"name": "a"}, CLUSTER | {"name": "a-sentinel"}],
         key="deployments[1].name"),
    case("name-collides-with-read-service", "names", "deployments", [SENTINEL | {"name": "a"}, CLUSTER | {"name": "a-read"}],
         key="deployments[1].name"),
    case("name-collides-with-headless-service", "names", "deployments", [CLUSTER | {"name": "a"}, SENTINEL | {"name": "a-headless"}],
         key="deployments[1].name"),
    case("name-collides-with-haproxy", "names", "deployments", [SENTINEL | {"name": "a"}, CLUSTER | {"name": "a-haproxy"}],
         key="deployments[1].name"),
    case("name-collides-with-generation", "names", "deployments", [CLUSTER | {"name": "a", "generation": 1}, CLUSTER | {"name": "a-g1"}],
         key="deployments[1].name"),
    # -- image references ---------------------------------------------------
    case("image-latest", "images", "deployments[0].image", "redis:latest"),
    case("image-without-tag", "images", "deployments[1].haproxy", {"image": "haproxy"}, key="deployments[1].haproxy.image"),
    case("image-short-digest", "images", "deployments[0].exporterImage", "oliver006/redis_exporter@sha256:0123abcd"),
    case("image-digest-upper-hex", "images", "monitoring.grafana.image", "grafana/grafana:11.2.0@sha256:" + "AB" * 32),
    case("image-digest-not-sha256", "images", "monitoring.prometheus.image", "prom/prometheus@md5:" + "0" * 32),
    case("image-not-a-reference", "images", "monitoring.pushgateway.image", "prom/Pushgateway:v1.9.0"),
    case("image-empty-tag", "images", "backup", S3 | {"awsCliImage": "amazon/aws-cli:"}, key="backup.awsCliImage"),
    case("federation-image-latest", "images", "federation", FED | {"image": "prom/prometheus:latest"}, key="federation.image"),
    # -- namespaces --------------------------------------------------------
    case("deployment-in-monitoring-namespace", "namespaces", "deployments[0].namespace", "monitoring"),
    case("redis-namespace-is-monitoring", "namespaces", "redisNamespace", "monitoring"),
    case("reserved-namespace", "namespaces", "redisNamespace", "kube-system"),
    case("deployment-in-default", "namespaces", "deployments[0].namespace", "default"),
    case("nfs-in-redis-namespace", "namespaces", "storage", {"kind": "nfs", "server": "10.0.0.2", "path": "/x", "namespace": "redis"},
         key="redisNamespace"),
    case("federation-in-monitoring-namespace", "namespaces", "federation", FED | {"namespace": "monitoring"}, key="federation"),
    # -- retention against its volume -------------------------------------
    case("retention-larger-than-volume", "retention", "monitoring.prometheus.retentionSize", "60GB"),
    case("retention-equal-to-volume", "retention", "monitoring.prometheus.retentionSize", "50GB"),
    case("federation-retention-larger-than-volume", "retention", "federation", FED | {"retentionSize": "100GB", "storageSize": "100Gi"},
         key="federation.retentionSize"),
    # -- alert routes -------------------------------------------------------
    case("team-routed-twice", "routes", "monitoring.alertmanager.teamRoutes", [{"team": "web", "slackChannel": "#a"}, {"team": "web", "slackChannel": "#b"}],
         key="monitoring.alertmanager.teamRoutes[1].team"),
    # -- LoadBalancer source ranges -----------------------------------------
    case("prometheus-open-load-balancer", "load-balancer", "monitoring.prometheus.serviceType", "LoadBalancer",
         key="monitoring.prometheus.loadBalancerSourceRanges"),
    case("grafana-open-load-balancer", "load-balancer", "monitoring.grafana.serviceType", "LoadBalancer",
         key="monitoring.grafana.loadBalancerSourceRanges"),
    case("federation-grafana-open-load-balancer", "load-balancer", "federation", FED | {"grafana": {"serviceType": "LoadBalancer"}},
         key="federation.grafana.loadBalancerSourceRanges"),
    case("haproxy-open-load-balancer", "load-balancer", "deployments[1].haproxy.serviceType", "LoadBalancer", key="deployments[1].haproxy"),
    # -- gp3 storage --------------------------------------------------------
    case("gp3-iops-too-high-for-volume", "gp3", "storage", EBS | {"iops": 6000}, key="deployments[0].persistence.size",
         **{"deployments[0].persistence": {"size": "5Gi"}}),
    case("gp3-iops-too-high-for-second-volume", "gp3", "storage", EBS | {"iops": 16000, "throughput": 1000},
         key="deployments[1].persistence.size", **{"deployments[0].persistence": {"size": "40Gi"}, "deployments[1].persistence": {"size": "20Gi"}}),
    case("gp3-volume-too-large", "gp3", "storage", EBS, key="deployments[0].persistence.size", **{"deployments[0].persistence": {"size": "100Ti"}}),
    case("gp3-throughput-above-iops", "gp3", "storage", EBS | {"throughput": 1000}, key="storage"),
    case("gp3-iops-above-maximum", "gp3", "storage", EBS | {"iops": 90000}, key="storage.iops"),
    case("gp3-one-class-for-both-uses", "gp3", "storage", EBS | {"baselineStorageClassName": "gp3"}, key="storage"),
    # -- the file layer -----------------------------------------------------
    Case("file-is-a-list", "file", "Pulumi.bad.yaml", raw="- config\n- values\n"),
    Case("file-is-text", "file", "Pulumi.bad.yaml", raw="just some text\n"),
    Case("config-is-a-list", "file", "Pulumi.bad.yaml", raw="config:\n  - redis-platform:environment\n"),
    Case("duplicate-top-key", "file", f"{R}:environment", raw=BASE_FILE + f"  {R}:environment: again\n"),
    Case("duplicate-nested-key", "file", f"{R}:storage.storageClassName",
         raw=BASE_FILE.replace("storageClassName: standard\n", "storageClassName: standard\n    storageClassName: fast\n")),
    Case("duplicate-key-in-list-item", "file", f"{R}:deployments[0].name",
         raw=BASE_FILE + f"  {R}:deployments:\n  - name: a\n    name: b\n    team: web\n    mode: cluster\n    size: small\n"),
    Case("yaml-unclosed-flow", "file", "Pulumi.bad.yaml:", raw=BASE_FILE + f"  {R}:deployments: [\n"),
    Case("yaml-bad-indent", "file", "Pulumi.bad.yaml:", raw=f"config:\n  {R}:environment: test\n   {R}:clusterName: unit\n"),
    Case("yaml-tab", "file", "Pulumi.bad.yaml:", raw=f"config:\n\t{R}:environment: test\n"),
    Case("misspelled-namespace", "file", "redis-platfrom:deployments",
         raw=BASE_FILE + "  redis-platfrom:deployments:\n  - name: a\n    team: web\n    mode: cluster\n    size: small\n"),
    Case("underscore-namespace", "file", "redis_platform:environment", raw=BASE_FILE + "  redis_platform:environment: dev\n"),
    Case("capitalised-namespace", "file", "Redis-Platform:monitoring", raw=BASE_FILE + "  Redis-Platform:monitoring: {}\n"),
    Case("key-with-empty-namespace", "file", ":environment", raw=BASE_FILE + "  :environment: dev\n"),
]
