"""Kubernetes object alerts, from kube-state-metrics (and the kubelet's
volume stats): what the exporters cannot say about themselves. A Redis pod
that is Pending, crash-looping or deleted has no scrape target, so RedisDown
stays silent; these do not.

Routing: objects of a Redis deployment carry ``redis-platform/deployment``
and ``redis-platform/team``; kube-state-metrics exports them on
``kube_<kind>_labels`` (its --metric-labels-allowlist), and each alert joins
them in as ``deployment`` and ``team``. Other objects (the monitoring
stack's) get empty ones and go to the platform's receivers.
"""

from __future__ import annotations

from components.monitoring.labels import DEPLOYMENT, TEAM
from components.monitoring.rules.model import RATIO, Alert, Level, RuleGroup, RulesSpec, graded

_DEP, _TEAM = "label_redis_platform_deployment", "label_redis_platform_team"
PVC = "{{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }}"


def owned(expr: str, kind: str, key: str) -> str:
    """``expr`` with the deployment and team of its object (``kind``, named by label ``key``)."""
    if key == DEPLOYMENT:
        # A Kubernetes Deployment's name is kube-state-metrics' `deployment`
        # label; keep it as `k8s_deployment` before ours takes the name.
        expr = f'label_replace({expr}, "k8s_deployment", "$1", "{DEPLOYMENT}", "(.*)")'
    joined = f"({expr}) * on (namespace, {key}) group_left ({_DEP}, {_TEAM}) kube_{kind}_labels"
    relabeled = f'label_replace(label_replace({joined}, "{DEPLOYMENT}", "$1", "{_DEP}", "(.*)"), "{TEAM}", "$1", "{_TEAM}", "(.*)")'
    return f"max without ({_DEP}, {_TEAM}) ({relabeled})"


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    free = ("kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes")
    return (
        RuleGroup(
            "kubernetes-alerts",
            (
                Alert("KubeStatefulSetReplicasNotReady",
                      owned("kube_statefulset_status_replicas_ready < kube_statefulset_replicas", "statefulset",
                            "statefulset"),
                      "15m", "warning", "StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} is short of ready pods",
                      "Only {{ $value | printf \"%.0f\" }} pods of StatefulSet {{ $labels.statefulset }} (deployment "
                      "{{ $labels.deployment }}) are ready; a node may be missing, syncing or unschedulable."),
                Alert("KubeDeploymentReplicasNotReady",
                      owned("kube_deployment_status_replicas_available < kube_deployment_spec_replicas", "deployment",
                            "deployment"),
                      "15m", "warning", "Deployment {{ $labels.namespace }}/{{ $labels.k8s_deployment }} is short of available pods",
                      "Only {{ $value | printf \"%.0f\" }} pods of Deployment {{ $labels.k8s_deployment }} are available "
                      "(deployment {{ $labels.deployment }}, team {{ $labels.team }})."),
                # Pending means never scheduled or never started: such a pod
                # has no IP, so no exporter and no RedisDown.
                Alert("KubePodPending", owned('kube_pod_status_phase{phase="Pending"} == 1', "pod", "pod"), "15m",
                      "warning", "Pod {{ $labels.namespace }}/{{ $labels.pod }} is Pending",
                      "Pod {{ $labels.pod }} of deployment {{ $labels.deployment }} has not started for 15 minutes "
                      "(unschedulable, volume not bound or image not pulled)."),
                Alert("KubePodCrashLooping",
                      owned('max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1',
                            "pod", "pod"),
                      "10m", "warning", "Pod {{ $labels.namespace }}/{{ $labels.pod }} is crash-looping",
                      "Container {{ $labels.container }} of pod {{ $labels.pod }} (deployment {{ $labels.deployment }}) "
                      "keeps restarting."),
                *graded("KubePersistentVolumeFillingUp", free,
                        Level(spec.pvc_free_warning_ratio, "5m", f"Volume {PVC} is filling up",
                              f"Only {RATIO} of the volume is free; for Redis an AOF rewrite or RDB save needs room "
                              "for a second copy."),
                        Level(spec.pvc_free_critical_ratio, "1m", f"Volume {PVC} is almost full",
                              f"Only {RATIO} of the volume is free; Redis persistence will fail and the node refuse "
                              "writes."),
                        falling=True, wrap=lambda e: owned(e, "persistentvolumeclaim", "persistentvolumeclaim")),
                # Backup, bootstrap, drill, restore and migration Jobs: the
                # Failed condition means every retry is spent.
                Alert("KubeJobFailed", owned('kube_job_failed{condition="true"} == 1', "job", "job_name"), "0m",
                      "warning", "Job {{ $labels.namespace }}/{{ $labels.job_name }} failed",
                      "Job {{ $labels.job_name }} of deployment {{ $labels.deployment }} (team {{ $labels.team }}) "
                      "failed after its retries; read its pods' logs."),
            ),
        ),
    )
