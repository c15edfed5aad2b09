"""The pre-roll Job: what runs before a data StatefulSet changes.

Kubernetes rolls a StatefulSet from the highest ordinal down. If every
shard's master sits on the shard's lowest-ordinal pod (Sentinel mode: the
master on pod 0), every replica restarts on the new template before its
master, and the master's preStop hands over to a replica that already runs
the new version: no replica still on the old version ever syncs from a
master on the new one (an older Redis cannot load a newer one's RDB, which a
second replica would need after the handover). The Job puts the masters
there (cluster-preroll.sh / sentinel-preroll.sh) and, in cluster mode, first
drains the shards a lower ``cluster.shards`` removes (cluster-bootstrap.sh,
shrink_cluster), so one ``pulumi up`` orders drain -> scale-down.

The Job is named ``<statefulset>-preroll-<hash>``; the hash covers the pod
template the StatefulSet will apply, the replica count, the Job's own
environment (the topology) and its scripts. The StatefulSet depends on it
and pulumi-kubernetes awaits a Job until it completes (a failed Job fails the
``up`` at once, before the StatefulSet is touched), so a change that rolls
the pods or changes the topology runs the Job first; anything else keeps the
finished Job and runs nothing. First create: the pods do not exist yet, the
script says so and exits 0.

Least privilege: no service-account token, the admin ACL user's password by
``secretKeyRef``, the CA alone with TLS, egress to the deployment's Redis
(and Sentinel) ports only. Its pods carry the deployment's peer label (the
deployment name, which never changes), which the data pods' and Sentinels'
policies already admit on their peer ports.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import container_security_context, labels, metadata, pod_security_context, resources, secret_env, selector_labels
from components.common.network_policy import peer_egress, policy_spec
from components.common.redis_contract import REDIS_UID, REDISCLI_AUTH_ENV, SCRIPTS_DIR, peer_selector
from components.common.tls import tls_env, tls_mount, tls_volume
from components.redis.pod import plain_env

APP = "redis"
COMPONENT = "preroll"
_JOB_NAME_MAX = 63
# Bound of the whole Job: a drain of many gigabytes takes a while; each
# wait inside the scripts has its own, much shorter, bound.
DEADLINE_SECONDS = 3600


@dataclass(frozen=True)
class PreRollArgs:
    """What a mode hands its data StatefulSets' pre-roll Jobs."""

    deployment: str
    namespace: str
    team: dict[str, str]
    image: str
    config_map: str
    # ConfigMap keys mounted at SCRIPTS_DIR; the first is the script run.
    scripts: tuple[str, ...]
    script_texts: tuple[str, ...]
    admin_secret: str
    # Egress: (pod selector, ports) of each peer group the script talks to.
    peers: tuple[tuple[dict[str, str], tuple[int, ...]], ...]
    tls_secret: str | None = None
    depends_on: tuple[Any, ...] = field(default=())


def preroll_job_name(statefulset: str, template: Any, replicas: Any, env: dict[str, str], script_texts: tuple[str, ...]) -> str:
    """``<statefulset>-preroll-<hash>``: the hash changes exactly when the pod
    template, the replica count, the Job's environment or its scripts do."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"template": template, "replicas": replicas, "env": env}, sort_keys=True).encode())
    for text in script_texts:
        digest.update(b"\0" + text.encode())
    suffix = f"-preroll-{digest.hexdigest()[:10]}"
    return statefulset[: _JOB_NAME_MAX - len(suffix)].rstrip("-") + suffix


def job_pod_spec(args: PreRollArgs, env: dict[str, str]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": COMPONENT,
        "image": args.image,
        "command": ["sh", f"{SCRIPTS_DIR}/{args.scripts[0]}"],
        "env": plain_env(env) + [secret_env(REDISCLI_AUTH_ENV, args.admin_secret)],
        "resources": resources("50m", "64Mi", "500m", "128Mi"),
        "volumeMounts": [{"name": "scripts", "mountPath": SCRIPTS_DIR, "readOnly": True}],
        "securityContext": container_security_context(REDIS_UID),
    }
    volumes: list[dict[str, Any]] = [{"name": "scripts", "configMap": {
        "name": args.config_map, "items": [{"key": k, "path": k} for k in args.scripts], "defaultMode": 0o555}}]
    if args.tls_secret is not None:
        # The CA only: the Job verifies the nodes, it never serves.
        container["env"] += tls_env(with_key=False)
        container["volumeMounts"].append(tls_mount())
        volumes.append(tls_volume(args.tls_secret, ca_only=True))
    return {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(REDIS_UID),
        "containers": [container],
        "volumes": volumes,
    }


def preroll_policy(parent: pulumi.Resource, args: PreRollArgs) -> k8s.networking.v1.NetworkPolicy:
    """One per deployment: nothing in; out to the peers' ports only."""
    return k8s.networking.v1.NetworkPolicy(
        f"{args.deployment}-preroll-netpol",
        metadata=metadata(f"{args.deployment}-preroll", args.namespace, labels(APP, args.deployment, COMPONENT, args.team)),
        spec=policy_spec(selector_labels(APP, args.deployment, COMPONENT), [],
                         [peer_egress(sel, ports) for sel, ports in args.peers]),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def preroll_job(parent: pulumi.Resource, args: PreRollArgs, statefulset: str, sts_spec: dict[str, Any],
                env: dict[str, str], policy: pulumi.Resource) -> k8s.batch.v1.Job:
    """The Job that must finish before ``statefulset`` takes ``sts_spec``."""
    # The template may hold values only known later (Outputs): the name waits for them.
    name = pulumi.Output.from_input({"template": sts_spec["template"], "replicas": sts_spec["replicas"]}).apply(
        lambda t: preroll_job_name(statefulset, t["template"], t["replicas"], env, args.script_texts))
    job_labels = labels(APP, args.deployment, COMPONENT, args.team)
    return k8s.batch.v1.Job(
        f"{statefulset}-preroll",
        # A failed pre-roll (a refusal) is run again by the next `up` once
        # the cause is fixed, instead of Pulumi waiting on the failed Job.
        metadata=metadata(name, args.namespace, job_labels, {"pulumi.com/replaceUnready": "true"}),
        spec={
            # One try: a refusal is a decision for a person, not a flake.
            "backoffLimit": 0,
            "activeDeadlineSeconds": DEADLINE_SECONDS,
            "template": {
                # Immutable: no team label (config may change it); the
                # deployment's peer label, which its pods' policies admit.
                "metadata": {"labels": labels(APP, args.deployment, COMPONENT) | peer_selector(args.deployment)},
                "spec": job_pod_spec(args, env),
            },
        },
        opts=pulumi.ResourceOptions(
            parent=parent, depends_on=[*args.depends_on, policy], delete_before_replace=True,
            custom_timeouts=pulumi.CustomTimeouts(create=f"{DEADLINE_SECONDS // 60 + 5}m"),
        ),
    )


class PreRoll:
    """The ``pre_roll`` hook of ``data_statefulsets``: one Job per data
    StatefulSet (``env_for`` gives each its environment), one NetworkPolicy
    per deployment; ``jobs`` lists the Jobs made."""

    def __init__(self, parent: pulumi.Resource, args: PreRollArgs, env_for: Callable[[str], dict[str, str]]):
        self.parent, self.args, self.env_for = parent, args, env_for
        self.policy: pulumi.Resource | None = None
        self.jobs: list[k8s.batch.v1.Job] = []

    def __call__(self, statefulset: str, spec: dict[str, Any]) -> list[Any]:
        if self.policy is None:
            self.policy = preroll_policy(self.parent, self.args)
        job = preroll_job(self.parent, self.args, statefulset, spec, self.env_for(statefulset), self.policy)
        self.jobs.append(job)
        return [job]
