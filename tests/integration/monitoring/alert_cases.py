"""For every alert: input series that must trip it (with the labels and
value the alert must carry) and series of a healthy system that must not.

Written by hand from what each alert is meant to catch, not from the rule
text; test_promtool.py turns them into `promtool test rules` files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.monitoring.rules import RulesSpec
from components.monitoring.rules.backup import BackupExpectation


@dataclass(frozen=True)
class Case:
    alert: str
    severity: str
    eval_time: str
    trip: dict[str, str]  # series -> promtool values notation
    healthy: dict[str, str]
    labels: dict[str, str]  # labels the alert carries, severity excluded
    value: float = 0.0  # the alert's value, for {{ $value }} in annotations
    interval: str = "1m"
    extra: dict = field(default_factory=dict)
    # More healthy systems the alert must stay silent on (each its own test).
    also_healthy: tuple[dict[str, str], ...] = ()


def s(name: str, **labels: str) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


POD = dict(job="kubernetes-pods", instance="10.0.0.1:9121", namespace="redis", pod="cache-0",
           deployment="cache", team="payments")
POD2 = {**POD, "instance": "10.0.0.2:9121", "pod": "cache-1"}
DEP = dict(deployment="cache", team="payments")
NODE = dict(job="node-exporter", instance="10.1.0.1:9100", node="node-1")
FSL = {**NODE, "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/data"}
CTR = dict(job="cadvisor", instance="10.1.0.1:8080", node="node-1", namespace="redis", pod="cache-0", container="redis")
PROM = dict(job="prometheus", instance="localhost:9090")
PUSHGW = dict(job="pushgateway", instance="10.0.2.1:9091")
SA = dict(redis_mode="standalone")
FED = dict(cluster="dev-cluster", environment="dev", source_prometheus="dev", **DEP)


def _info(labels, role, policy="noeviction"):
    return s("redis_instance_info", **labels, **SA, role=role, maxmemory_policy=policy)


def _memory(used: int, maxmemory: int, policy: str = "noeviction", n: int = 20) -> dict[str, str]:
    return {s("redis_memory_used_bytes", **POD): f"{used}x{n}", s("redis_memory_max_bytes", **POD): f"{maxmemory}x{n}",
            _info(POD, "master", policy): f"1x{n}"}


SENT = [{**POD, "instance": f"10.0.1.{i}:9121", "pod": f"cache-sentinel-{i}"} for i in range(3)]
SENT_DEP = {**DEP, "master_name": "main"}


def _ckquorum(*statuses: int) -> dict[str, str]:
    msg = {1: "OK 3 usable Sentinels. Quorum and failover authorization can be reached",
           0: "NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the majority"}
    return {s("redis_sentinel_master_ckquorum_status", **SENT[i], master_name="main", message=msg[v]): f"{v}x10"
            for i, v in enumerate(statuses)}


def _masters(first: str, second: str | None = None, n: int = 40) -> dict[str, str]:
    """Every Sentinel's redis_sentinel_master_sentinels: address ``first`` for
    a few samples, then ``second`` (a failover) for the rest of ``n``."""
    addr1, _, span = first.partition(" ")
    out = {}
    for sent in SENT:
        if second is None:
            out[s("redis_sentinel_master_sentinels", **sent, master_name="main", master_address=addr1)] = f"3x{n}"
            continue
        k = int(span.lstrip("x"))
        out[s("redis_sentinel_master_sentinels", **sent, master_name="main", master_address=addr1)] = f"3x{k}"
        addr2 = second.split(" ")[0]
        out[s("redis_sentinel_master_sentinels", **sent, master_name="main",
              master_address=addr2)] = " ".join(["_"] * (k + 1)) + f" 3x{n - k - 1}"
    return out


HA = {**POD, "instance": "10.0.0.9:8404", "pod": "cache-haproxy-0"}


def _haproxy(master: dict[int, int], named: dict[int, int], sentinels: int = 3, replicas_up: int = 2,
             nodes: int = 3, n: int = 10) -> dict[str, str]:
    """HAProxy's backends as generated for ``nodes`` nodes: node -> active
    servers of redis_master_<i> and of sentinels_name_<i> (missing: 0)."""
    out = {s("haproxy_backend_active_servers", **HA, proxy="no_master"): f"0x{n}",
           s("haproxy_backend_active_servers", **HA, proxy="redis_replicas"): f"{replicas_up}x{n}"}
    for i in range(nodes):
        out[s("haproxy_backend_active_servers", **HA, proxy=f"redis_master_{i}")] = f"{master.get(i, 0)}x{n}"
        out[s("haproxy_backend_active_servers", **HA, proxy=f"sentinels_name_{i}")] = f"{named.get(i, 0)}x{n}"
        out[s("haproxy_server_status", **HA, proxy="redis_replicas", server=f"redis-{i}", state="UP")] = f"1x{n}"
        for j in range(sentinels):
            up = 1 if j < named.get(i, 0) else 0
            out[s("haproxy_server_status", **HA, proxy=f"sentinels_name_{i}", server=f"sentinel-{j}", state="UP")] = f"{up}x{n}"
    return out


BACKUP = dict(job="redis-backup", deployment="cache", team="payments")
CREDS = {**BACKUP, "secret": "s3-backup-credentials"}
# The rules the lower cases run: one deployment whose backup must be at most
# an hour old (the stack derives each deployment's age from its schedule).
# Both monitoring servers back themselves up; their last success may be two hours old.
LOWER_SPEC = RulesSpec(backups=(BackupExpectation("cache", 3600, "payments"),),
                       monitoring_backups=("prometheus", "grafana"), monitoring_backup_max_age=7200)
MB = dict(job="monitoring-backup", component="prometheus")
MB_GRAFANA = dict(job="monitoring-backup", component="grafana")
MB_FRESH = "0+1800x8"  # a backup every 30 minutes

def _shards(used: int, cpu_per_min: int, masters: int = 3, maxmemory: int = 1000, replica_used: int = 0,
            mode: str = "cluster") -> dict[str, str]:
    """A cluster deployment's masters (each ``used`` of ``maxmemory`` bytes,
    ``cpu_per_min`` CPU seconds a minute) and one replica."""
    out = {}
    pods = [(f"orders-{i}", "master", used) for i in range(masters)] + [("orders-9", "slave", replica_used)]
    for i, (pod, role, mem) in enumerate(pods):
        lbl = dict(job="kubernetes-pods", instance=f"10.0.3.{i}:9121", namespace="redis", pod=pod,
                   deployment="orders", team="checkout")
        out[s("redis_instance_info", **lbl, redis_mode=mode, role=role, maxmemory_policy="noeviction")] = "1x45"
        out[s("redis_memory_used_bytes", **lbl)] = f"{mem}x45"
        out[s("redis_memory_max_bytes", **lbl)] = f"{maxmemory}x45"
        out[s("redis_cpu_user_seconds_total", **lbl)] = f"0+{cpu_per_min if role == 'master' else 50}x45"
        out[s("redis_cpu_sys_seconds_total", **lbl)] = "0x45"
    return out


SHARD_DEP = dict(namespace="redis", deployment="orders", team="checkout")

KSM = dict(job="kube-state-metrics", instance="10.0.2.1:8080", namespace="redis")
OWNER = dict(label_redis_platform_deployment="cache", label_redis_platform_team="payments")
KUBELET = dict(job="kubelet", instance="10.1.0.1:10250", node="node-1", namespace="redis",
               persistentvolumeclaim="data-cache-0")


def _owned(kind: str, key: dict[str, str], series: dict[str, str], n: int = 20) -> dict[str, str]:
    """``series`` plus the kube_<kind>_labels series naming the object's owner."""
    return {**series, s(f"kube_{kind}_labels", **KSM, **key, **OWNER): f"1x{n}"}


def _sts(ready: str) -> dict[str, str]:
    key = {"statefulset": "cache"}
    return _owned("statefulset", key, {s("kube_statefulset_status_replicas_ready", **KSM, **key): ready,
                                       s("kube_statefulset_replicas", **KSM, **key): "3x20"})


def _dep(available: str) -> dict[str, str]:
    key = {"deployment": "cache-haproxy"}
    return _owned("deployment", key, {s("kube_deployment_status_replicas_available", **KSM, **key): available,
                                      s("kube_deployment_spec_replicas", **KSM, **key): "2x20"})


POD_KEY = {"pod": "cache-0", "uid": "u-1"}


def _phase(pending: str, running: str) -> dict[str, str]:
    return _owned("pod", {"pod": "cache-0"}, {s("kube_pod_status_phase", **KSM, **POD_KEY, phase="Pending"): pending,
                                              s("kube_pod_status_phase", **KSM, **POD_KEY, phase="Running"): running})


def _waiting(reason: str, values: str) -> dict[str, str]:
    return _owned("pod", {"pod": "cache-0"}, {s("kube_pod_container_status_waiting_reason", **KSM, **POD_KEY,
                                                container="redis", reason=reason): values})


def _pvc(available: int) -> dict[str, str]:
    return _owned("persistentvolumeclaim", {"persistentvolumeclaim": "data-cache-0"},
                  {s("kubelet_volume_stats_available_bytes", **KUBELET): f"{available}x20",
                   s("kubelet_volume_stats_capacity_bytes", **KUBELET): "100x20"})


def _job(failed: int) -> dict[str, str]:
    key = {"job_name": "cache-backup-2891"}
    return _owned("job", key, {s("kube_job_failed", **KSM, **key, condition="true"): f"{failed}x10",
                               s("kube_job_failed", **KSM, **key, condition="false"): f"{1 - failed}x10"}, n=10)


DEP_LABELS = {"deployment": "cache", "team": "payments"}

LOWER_CASES = [
    Case("RedisDown", "critical", "5m", {s("redis_up", **POD): "0x10"}, {s("redis_up", **POD): "1x10"}, POD),
    Case("RedisClusterStateNotOk", "critical", "5m", {s("redis_cluster_state", **POD): "0x10"},
         {s("redis_cluster_state", **POD): "1x10"}, POD),
    Case("RedisClusterSlotsFailing", "critical", "5m",
         {s("redis_cluster_slots_fail", **POD): "3x10", s("redis_cluster_slots_pfail", **POD): "0x10"},
         {s("redis_cluster_slots_fail", **POD): "0x10", s("redis_cluster_slots_pfail", **POD): "0x10"}, POD, 3),
    Case("RedisClusterSlotsUnassigned", "critical", "10m", {s("redis_cluster_slots_assigned", **POD): "16000x20"},
         {s("redis_cluster_slots_assigned", **POD): "16384x20"}, POD, 16000),
    Case("RedisNoMaster", "critical", "5m", {_info(POD, "slave"): "1x10", _info(POD2, "slave"): "1x10"},
         {_info(POD, "master"): "1x10", _info(POD2, "slave"): "1x10"}, DEP, 2),
    Case("RedisMultipleMasters", "critical", "5m", {_info(POD, "master"): "1x10", _info(POD2, "master"): "1x10"},
         {_info(POD, "master"): "1x10", _info(POD2, "slave"): "1x10"}, DEP, 2),
    Case("RedisReplicationBroken", "warning", "5m",
         {s("redis_master_link_up", **POD2, master_host="10.0.0.1", master_port="6379"): "0x10"},
         {s("redis_master_link_up", **POD2, master_host="10.0.0.1", master_port="6379"): "1x10"},
         {**POD2, "master_host": "10.0.0.1", "master_port": "6379"}),
    Case("RedisMemoryNearMaxmemory", "warning", "10m", _memory(93, 100), _memory(50, 100), DEP, 0.93,
         # A cache evicts at maxmemory by design.
         also_healthy=(_memory(93, 100, "allkeys-lru"), _memory(93, 100, "volatile-lru"))),
    Case("RedisMemoryNearMaxmemory", "critical", "10m", _memory(99, 100),
         # maxmemory 0 means unlimited: never "near" it.
         _memory(99, 0), DEP, 0.99, also_healthy=(_memory(99, 100, "allkeys-lru"), _memory(100, 100, "allkeys-lfu"))),
    Case("RedisRejectedConnections", "warning", "10m", {s("redis_rejected_connections_total", **POD): "0+2x20"},
         {s("redis_rejected_connections_total", **POD): "7x20"}, POD, 10),
    Case("RedisOutOfMemoryErrors", "critical", "10m", {s("redis_errors_total", **POD, err="OOM"): "0+3x20"},
         # Other errors, and OOM errors that stopped long ago, are not OOM now.
         {s("redis_errors_total", **POD, err="OOM"): "5x20", s("redis_errors_total", **POD, err="ERR"): "0+3x20"},
         {**POD, "err": "OOM"}, 6),
    Case("RedisRdbSaveFailing", "critical", "5m", {s("redis_rdb_last_bgsave_status", **POD): "0x10"},
         {s("redis_rdb_last_bgsave_status", **POD): "1x10"}, POD),
    Case("RedisAofWriteFailing", "critical", "5m", {s("redis_aof_last_write_status", **POD): "0x10"},
         {s("redis_aof_last_write_status", **POD): "1x10"}, POD),
    Case("RedisAofRewriteFailing", "warning", "15m", {s("redis_aof_last_bgrewrite_status", **POD): "0x20"},
         # One failed rewrite that a retry fixed within minutes is not news.
         {s("redis_aof_last_bgrewrite_status", **POD): "0 0 0 0 0 1x15"}, POD),
    # Healthy: node 0 is master and named by all Sentinels; the other nodes'
    # backends and no_master are empty, as generated.
    Case("HAProxyNoMasterReachable", "critical", "5m",
         # Node 0 still says master but only one Sentinel of three names it.
         _haproxy({0: 1}, {0: 1}),
         _haproxy({0: 1}, {0: 3}), {k: HA[k] for k in ("namespace", "pod", "deployment", "team")}, 0,
         # After a failover to node 1 (two Sentinels agree), and with a stale
         # old master that only one Sentinel still names.
         also_healthy=(_haproxy({1: 1}, {1: 2}), _haproxy({0: 1, 2: 1}, {0: 1, 2: 2}))),
    Case("HAProxyNoReplicaReachable", "warning", "10m", _haproxy({0: 1}, {0: 3}, replicas_up=0),
         _haproxy({0: 1}, {0: 3}), {**HA, "proxy": "redis_replicas"}, 0,
         # A set of one node has no replica to lose.
         also_healthy=(_haproxy({0: 1}, {0: 3}, replicas_up=0, nodes=1),)),
    Case("RedisSentinelQuorumLost", "critical", "5m", _ckquorum(0, 0, 0), _ckquorum(1, 1, 1), SENT_DEP,
         # One Sentinel cut off from the others while the rest can still fail over.
         also_healthy=(_ckquorum(0, 1, 1),)),
    Case("RedisSentinelMasterDown", "critical", "5m",
         {s("redis_sentinel_master_status", **SENT[0], master_name="main", master_address="10.0.0.1:6379",
            master_status="sdown"): "1x10"},
         {s("redis_sentinel_master_status", **SENT[0], master_name="main", master_address="10.0.0.1:6379",
            master_status="ok"): "1x10"}, SENT_DEP, 1,
         # Down for 20s, then Sentinel promoted another node.
         also_healthy=({s("redis_sentinel_master_status", **SENT[0], master_name="main", master_address="10.0.0.1:6379",
                          master_status="sdown"): "1 stale",
                        s("redis_sentinel_master_status", **SENT[0], master_name="main", master_address="10.0.0.2:6379",
                          master_status="ok"): "_ 1x9"},)),
    Case("RedisSentinelFailover", "info", "30m", _masters("10.0.0.1:6379 x25", "10.0.0.2:6379"),
         _masters("10.0.0.1:6379"), SENT_DEP, 2,
         # A failover longer ago than the window is history.
         also_healthy=(_masters("10.0.0.1:6379 x4", "10.0.0.2:6379"),)),
    Case("RedisSentinelTilt", "warning", "10m", {s("redis_sentinel_tilt", **SENT[0]): "1x10"},
         {s("redis_sentinel_tilt", **SENT[0]): "1 1 0x8"}, SENT[0]),
    Case("RedisBackupStale", "warning", "2h", {s("redis_backup_last_success_timestamp_seconds", **BACKUP): "0x4"},
         # Backups every 30 minutes, each pushing its success time.
         {s("redis_backup_last_success_timestamp_seconds", **BACKUP): "0+1800x4"}, BACKUP, 7200, interval="30m",
         # A deployment without a backup schedule is none of this alert's business.
         also_healthy=({s("redis_backup_last_success_timestamp_seconds", **{**BACKUP, "deployment": "other"}): "0x4"},)),
    # Backups of cache never succeeded (no series at all), and Prometheus and the
    # Pushgateway have run two hours; silent when the Pushgateway restarted half
    # an hour ago (it forgot every push) or when the deployment did push.
    Case("RedisBackupStale", "warning", "2h",
         {s("process_start_time_seconds", **PROM): "0x4", s("process_start_time_seconds", **PUSHGW): "0x4"},
         {s("process_start_time_seconds", **PROM): "0x4", s("process_start_time_seconds", **PUSHGW): "0 0 0 5400 5400"},
         DEP, 7200, interval="30m",
         also_healthy=({s("process_start_time_seconds", **PROM): "0x4", s("process_start_time_seconds", **PUSHGW): "0x4",
                        s("redis_backup_last_success_timestamp_seconds", **BACKUP): "0+1800x4"},)),
    # The last run found no access keys; a run that succeeded (the Secret was
    # added) pushes 0, and a stack on IRSA never pushes the series at all.
    Case("RedisBackupCredentialsMissing", "warning", "10m", {s("redis_backup_credentials_missing", **CREDS): "0x4 1x6"},
         {s("redis_backup_credentials_missing", **CREDS): "1x4 0x6"}, CREDS, 1,
         also_healthy=({s("redis_backup_last_success_timestamp_seconds", **BACKUP): "0+60x10"},)),
    # Prometheus's sidecar stopped succeeding four hours ago; Grafana's is fine.
    Case("MonitoringBackupStale", "warning", "4h",
         {s("monitoring_backup_last_success_timestamp_seconds", **MB): "0x8",
          s("monitoring_backup_last_success_timestamp_seconds", **MB_GRAFANA): MB_FRESH,
          s("process_start_time_seconds", **PROM): "0x8"},
         {s("monitoring_backup_last_success_timestamp_seconds", **MB): MB_FRESH,
          s("monitoring_backup_last_success_timestamp_seconds", **MB_GRAFANA): MB_FRESH,
          s("process_start_time_seconds", **PROM): "0x8"}, MB, 14400, interval="30m"),
    # Prometheus's sidecar never pushed, and Prometheus has run four hours.
    Case("MonitoringBackupStale", "warning", "4h",
         {s("monitoring_backup_last_success_timestamp_seconds", **MB_GRAFANA): MB_FRESH,
          s("process_start_time_seconds", **PROM): "0x8"},
         # A new stack: Prometheus started an hour ago, no backup due yet.
         {s("monitoring_backup_last_success_timestamp_seconds", **MB_GRAFANA): MB_FRESH,
          s("process_start_time_seconds", **PROM): "10800x8"}, {"component": "prometheus"}, 14400, interval="30m",
         # The Pushgateway restarted an hour ago and forgot the pushes.
         also_healthy=({s("process_start_time_seconds", **PROM): "0x8",
                        s("process_start_time_seconds", **PUSHGW): "0x5 10800x3"},)),
    # Memory: 3 masters of 1000 bytes, target 70%: 2103 bytes need ceil(2103 / 700) = 4
    # shards; 2100 bytes (exactly at the target) need 3.
    Case("RedisClusterNeedsShards", "warning", "40m", _shards(701, 30), _shards(700, 30), SHARD_DEP, 4,
         # A replica's memory and CPU are copies, not load the shards must carry.
         also_healthy=(_shards(700, 30, replica_used=999999),
                       # Sentinel-managed (standalone) nodes are not cluster shards.
                       _shards(5000, 600, mode="standalone"))),
    # CPU: 0.8 cores per master, target 0.7: ceil(2.4 / 0.7) = 4 shards; at 0.6 cores, 3.
    Case("RedisClusterNeedsShards", "warning", "40m", _shards(100, 48), _shards(100, 36), SHARD_DEP, 4),
    # Far past both: 6 shards' worth of memory (4200 / 700), reported as the larger need.
    Case("RedisClusterNeedsShards", "warning", "40m", _shards(1400, 48), _shards(100, 1), SHARD_DEP, 6),
    Case("KubeStatefulSetReplicasNotReady", "warning", "20m", _sts("2x20"), _sts("3x20"),
         {**KSM, "statefulset": "cache", **DEP_LABELS}, 2,
         # A pod rolled and resynced within ten minutes.
         also_healthy=(_sts("3 2x9 3x10"),)),
    Case("KubeDeploymentReplicasNotReady", "warning", "20m", _dep("1x20"), _dep("2x20"),
         {**KSM, "k8s_deployment": "cache-haproxy", **DEP_LABELS}, 1),
    Case("KubePodPending", "warning", "20m", _phase("1x20", "0x20"), _phase("0x20", "1x20"),
         {**KSM, **POD_KEY, "phase": "Pending", **DEP_LABELS}, 1,
         # Pending while its volume was bound and its image pulled: minutes.
         also_healthy=(_phase("1x3 0x16", "0x3 1x16"),)),
    Case("KubePodCrashLooping", "warning", "20m", _waiting("CrashLoopBackOff", "1x20"),
         _waiting("ContainerCreating", "1x2 stale"),
         {**KSM, **POD_KEY, "container": "redis", "reason": "CrashLoopBackOff", **DEP_LABELS}, 1),
    Case("KubePersistentVolumeFillingUp", "warning", "10m", _pvc(10), _pvc(50),
         {**KUBELET, **DEP_LABELS}, 0.10),
    Case("KubePersistentVolumeFillingUp", "critical", "10m", _pvc(3), _pvc(50),
         {**KUBELET, **DEP_LABELS}, 0.03),
    Case("KubeJobFailed", "warning", "5m", _job(1), _job(0),
         {**KSM, "job_name": "cache-backup-2891", "condition": "true", **DEP_LABELS}, 1),
    Case("NodeFilesystemFillingUp", "warning", "2h",
         {s("node_filesystem_avail_bytes", **FSL): "300-0.5x200", s("node_filesystem_size_bytes", **FSL): "1000x200",
          s("node_filesystem_readonly", **FSL): "0x200"},
         {s("node_filesystem_avail_bytes", **FSL): "300x200", s("node_filesystem_size_bytes", **FSL): "1000x200",
          s("node_filesystem_readonly", **FSL): "0x200"}, FSL),
    Case("NodeFilesystemAlmostFull", "critical", "1h",
         {s("node_filesystem_avail_bytes", **FSL): "30x70", s("node_filesystem_size_bytes", **FSL): "1000x70",
          s("node_filesystem_readonly", **FSL): "0x70"},
         # A read-only filesystem cannot fill up further.
         {s("node_filesystem_avail_bytes", **FSL): "30x70", s("node_filesystem_size_bytes", **FSL): "1000x70",
          s("node_filesystem_readonly", **FSL): "1x70"}, FSL, 0.03),
    Case("NodeMemoryPressure", "warning", "20m",
         {s("node_memory_MemAvailable_bytes", **NODE): "5x30", s("node_memory_MemTotal_bytes", **NODE): "100x30"},
         {s("node_memory_MemAvailable_bytes", **NODE): "50x30", s("node_memory_MemTotal_bytes", **NODE): "100x30"},
         NODE, 0.05),
    Case("ContainerOOMKilled", "warning", "10m", {s("container_oom_events_total", **CTR): "0+1x20"},
         {s("container_oom_events_total", **CTR): "2x20"}, CTR, 5),
    Case("ContainerCPUThrottled", "warning", "25m",
         {s("container_cpu_cfs_throttled_periods_total", **CTR): "0+50x30", s("container_cpu_cfs_periods_total", **CTR): "0+100x30"},
         {s("container_cpu_cfs_throttled_periods_total", **CTR): "0x30", s("container_cpu_cfs_periods_total", **CTR): "0+100x30"},
         {k: CTR[k] for k in ("namespace", "pod", "container")}, 0.5),
    Case("PrometheusTargetDown", "warning", "8m", {s("up", **POD): "0x10"}, {s("up", **POD): "1x10"}, POD),
    Case("PrometheusConfigReloadFailed", "warning", "15m", {s("prometheus_config_last_reload_successful", **PROM): "0x20"},
         {s("prometheus_config_last_reload_successful", **PROM): "1x20"}, PROM),
    Case("PrometheusRuleEvaluationFailures", "critical", "25m",
         {s("prometheus_rule_evaluation_failures_total", **PROM, rule_group="redis.yml;redis-alerts"): "0+1x30"},
         {s("prometheus_rule_evaluation_failures_total", **PROM, rule_group="redis.yml;redis-alerts"): "4x30"},
         {**PROM, "rule_group": "redis.yml;redis-alerts"}, 5),
    Case("PrometheusAlertmanagerMissing", "critical", "15m",
         {s("prometheus_notifications_alertmanagers_discovered", **PROM): "0x20"},
         {s("prometheus_notifications_alertmanagers_discovered", **PROM): "1x20"}, PROM),
]

GLOBAL_CASES = [
    Case("FederatedPrometheusDown", "critical", "8m",
         {s("up", job="federate-dev", instance="prom-dev:9090", source_prometheus="dev"): "0x10"},
         {s("up", job="federate-dev", instance="prom-dev:9090", source_prometheus="dev"): "1x10"},
         dict(job="federate-dev", instance="prom-dev:9090", source_prometheus="dev", environment="dev")),
    Case("RedisDeploymentDown", "critical", "5m", {s("job:redis_up:sum", **FED): "0x10"},
         {s("job:redis_up:sum", **FED): "3x10"}, FED),
    Case("RedisDeploymentDegraded", "warning", "8m",
         {s("job:redis_up:sum", **FED): "2x10", s("job:redis_up:count", **FED): "3x10"},
         {s("job:redis_up:sum", **FED): "3x10", s("job:redis_up:count", **FED): "3x10"}, FED, 2),
    # On the global server only its own targets count; a lower server's
    # federated up series is that server's business.
    Case("PrometheusTargetDown", "warning", "8m", {s("up", **PROM): "0x10"},
         {s("up", **PROM): "1x10", s("up", **POD, environment="dev", source_prometheus="dev"): "0x10"}, PROM),
    Case("PrometheusAlertmanagerMissing", "critical", "15m",
         {s("prometheus_notifications_alertmanagers_discovered", **PROM): "0x20"},
         {s("prometheus_notifications_alertmanagers_discovered", **PROM): "1x20"}, PROM),
    Case("PrometheusConfigReloadFailed", "warning", "15m", {s("prometheus_config_last_reload_successful", **PROM): "0x20"},
         {s("prometheus_config_last_reload_successful", **PROM): "1x20"}, PROM),
    Case("PrometheusRuleEvaluationFailures", "critical", "25m",
         {s("prometheus_rule_evaluation_failures_total", **PROM, rule_group="g"): "0+1x30"},
         {s("prometheus_rule_evaluation_failures_total", **PROM, rule_group="g"): "4x30"},
         {**PROM, "rule_group": "g"}, 5),
]
