"""Composition: one validated StackConfig in, the whole platform's resources out."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import labels, metadata
from components.common.network_policy import namespace_baseline
from stacks.config import StackConfig
from stacks.federation import build_federation
from stacks.monitoring import build_monitoring
from stacks.operations import build_backup
from stacks.redis import build_deployment, output_key
from stacks.storage import build_storage


def _namespace(name: str, cfg: StackConfig, purpose: str) -> k8s.core.v1.Namespace:
    ns_labels = labels("redis-platform", cfg.environment, purpose)
    # Pod Security Admission: everything runs restricted except what needs
    # host access: node-exporter and cAdvisor in the monitoring namespace, and
    # Redis deployments that chose hostNetwork.
    host_net = any(d.host_network and cfg.namespace_of(d) == name for d in cfg.deployments)
    level = "privileged" if purpose == "monitoring" or host_net else "restricted"
    ns_labels |= {
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/warn": "restricted",
        "kubernetes.io/metadata.name": name,
    }
    ns = k8s.core.v1.Namespace(f"ns-{name}", metadata=metadata(name, None, ns_labels))
    # The federation's objects all say they belong to the global environment.
    extra = {"redis-platform/environment": "global"} if purpose == "federation" else None
    baseline_policies(name, labels("redis-platform", cfg.environment, "network-policy", extra), ns)
    return ns


def baseline_policies(namespace: str, object_labels: dict[str, str], ns: pulumi.Resource) -> None:
    """Default-deny both ways plus cluster DNS, before any pod of the namespace starts."""
    for policy, spec in namespace_baseline().items():
        k8s.networking.v1.NetworkPolicy(
            f"{namespace}-{policy}", metadata=metadata(policy, namespace, object_labels), spec=spec,
            opts=pulumi.ResourceOptions(depends_on=[ns]),
        )


def build_platform(cfg: StackConfig) -> dict[str, Any]:
    """Register every resource of the stack; return the stack outputs."""
    storage = build_storage(cfg)
    namespaces = {cfg.redis_namespace} | {cfg.namespace_of(d) for d in cfg.deployments}
    namespace_objs = {ns: _namespace(ns, cfg, "redis") for ns in sorted(namespaces)}
    if cfg.monitoring.enabled:
        mon_ns = _namespace(cfg.monitoring.namespace, cfg, "monitoring")
    outputs: dict[str, Any] = {
        "environment": cfg.environment,
        "storageClassName": storage.storage_class_name,
    }
    depends = [storage.resource] if storage.resource is not None else []
    backup = build_backup(cfg)
    if backup is not None:
        outputs["backup"] = {"bucket": backup.store.bucket, "prefix": backup.store.prefix}
    for dep in cfg.deployments:
        opts = pulumi.ResourceOptions(depends_on=depends + [namespace_objs[cfg.namespace_of(dep)]])
        outputs[output_key(dep)] = build_deployment(cfg, dep, storage.storage_class_name, opts, backup)
    if cfg.monitoring.enabled:
        monitoring = build_monitoring(
            cfg, storage.general_class_name, pulumi.ResourceOptions(depends_on=depends + [mon_ns])
        )
        outputs["monitoring"] = monitoring.outputs
    if cfg.federation.enabled:
        fed_opts = pulumi.ResourceOptions(depends_on=depends + [_namespace(cfg.federation.namespace, cfg, "federation")])
        outputs["federation"] = build_federation(cfg, storage.general_class_name, outputs.get("monitoring"), fed_opts)
    return outputs
