"""A HorizontalPodAutoscaler on a Sentinel deployment's data StatefulSet:
read replicas follow load between the configured count and a maximum.

Metric: the CPU of the ``redis`` container only (a ContainerResource metric),
as a share of its request. Redis runs commands on one thread, so a replica
serving more reads than it can shows as CPU near one core; the sidecars
(exporter, backup agent) are left out so they cannot trigger or mask a
scale. Connected clients would need a custom-metrics adapter the stack does
not run, and idle pooled connections are not load.

Ownership of ``spec.replicas``: once this exists the autoscaler writes it and
the program leaves it alone (the StatefulSet carries ``ignore_changes`` on
``spec.replicas``), so ``pulumi up`` never scales the set back. The configured
replica count becomes the autoscaler's floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import metadata

# Each new replica starts with a full sync of the master's data: scale up one
# pod at a time, and down only after ten quiet minutes, one pod per five.
BEHAVIOR = {
    "scaleUp": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}]},
    "scaleDown": {"stabilizationWindowSeconds": 600, "selectPolicy": "Min",
                  "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}]},
}
CONTAINER = "redis"


@dataclass(frozen=True)
class ReplicaAutoscalerArgs:
    namespace: str
    statefulset: str
    # Pods, master included.
    min_pods: int
    max_pods: int
    cpu_target_percent: int
    labels: dict[str, str] = field(default_factory=dict)


def hpa_spec(args: ReplicaAutoscalerArgs) -> dict:
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": args.statefulset},
        "minReplicas": args.min_pods,
        "maxReplicas": args.max_pods,
        "metrics": [{
            "type": "ContainerResource",
            "containerResource": {"name": "cpu", "container": CONTAINER,
                                  "target": {"type": "Utilization", "averageUtilization": args.cpu_target_percent}},
        }],
        "behavior": BEHAVIOR,
    }


def replica_autoscaler(name: str, args: ReplicaAutoscalerArgs,
                       opts: pulumi.ResourceOptions | None = None) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
    return k8s.autoscaling.v2.HorizontalPodAutoscaler(
        name, metadata=metadata(args.statefulset, args.namespace, args.labels), spec=hpa_spec(args), opts=opts,
    )
