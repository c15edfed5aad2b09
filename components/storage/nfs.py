"""nfs-subdir-external-provisioner and its StorageClass (seed 000).

Redis upstream does not support NFS for its data files: fsync on NFS does not
give the durability AOF relies on, and a stale lock or a server hiccup stalls
the event loop. This option is for labs and dev clusters; the StorageClass
carries an annotation saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.common.k8s import labels, metadata, resources, selector_labels
from components.common.network_policy import api_server_egress, namespace_baseline, policy_spec

PROVISIONER = "k8s-sigs.io/nfs-subdir-external-provisioner"
NFS_RISK = (
    "Redis upstream does not support NFS for persistence (fsync/locking semantics); "
    "use for dev and labs only."
)


@dataclass(frozen=True)
class NfsProvisionerArgs:
    namespace: str
    server: str
    path: str
    storage_class_name: str
    image: str
    reclaim_policy: str
    archive_on_delete: bool
    mount_options: tuple[str, ...]
    default_class: bool


class NfsProvisioner(pulumi.ComponentResource):
    storage_class_name: pulumi.Output[str]

    def __init__(self, name: str, args: NfsProvisionerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("redis-platform:storage:NfsProvisioner", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        app = "nfs-subdir-external-provisioner"
        lbl = labels(app, name, "provisioner")
        ns = k8s.core.v1.Namespace(
            f"{name}-ns", metadata=metadata(args.namespace, None, lbl), opts=child
        )
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        # Default-deny with DNS, and the provisioner's one need: the API server
        # (PVs, PVCs, events, leader election). The export itself is mounted
        # by the kubelet on the node, outside any pod's NetworkPolicy.
        policies = namespace_baseline() | {
            app: policy_spec(selector_labels(app, name, "provisioner"), [], [api_server_egress()])
        }
        for policy, spec in policies.items():
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy}", metadata=metadata(policy, args.namespace, lbl), spec=spec, opts=in_ns
            )
        sa_name = app
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=metadata(sa_name, args.namespace, lbl), opts=in_ns)
        cluster_role = k8s.rbac.v1.ClusterRole(
            f"{name}-runner",
            metadata=metadata(f"{args.namespace}-{app}-runner", None, lbl),
            rules=[
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["persistentvolumes"], "verbs": ["get", "list", "watch", "create", "delete"]},
                {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "list", "watch", "update"]},
                {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "update", "patch"]},
            ],
            opts=child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-runner",
            metadata=metadata(f"{args.namespace}-{app}-runner", None, lbl),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role.metadata["name"]},
            subjects=[{"kind": "ServiceAccount", "name": sa_name, "namespace": args.namespace}],
            opts=child,
        )
        # Leader election only needs leases in its own namespace.
        role = k8s.rbac.v1.Role(
            f"{name}-leader",
            metadata=metadata(f"{app}-leader-election", args.namespace, lbl),
            rules=[
                {"apiGroups": [""], "resources": ["endpoints"], "verbs": ["get", "list", "watch", "create", "update", "patch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "list", "watch", "create", "update", "patch"]},
            ],
            opts=in_ns,
        )
        k8s.rbac.v1.RoleBinding(
            f"{name}-leader",
            metadata=metadata(f"{app}-leader-election", args.namespace, lbl),
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role.metadata["name"]},
            subjects=[{"kind": "ServiceAccount", "name": sa_name, "namespace": args.namespace}],
            opts=in_ns,
        )
        sel = selector_labels(app, name, "provisioner")
        k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(app, args.namespace, lbl),
            spec={
                "replicas": 1,
                # Two provisioners must never run against one export at once.
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": sel},
                "template": {
                    "metadata": {"labels": lbl},
                    "spec": {
                        "serviceAccountName": sa_name,
                        # It creates PersistentVolumes and watches claims through the API.
                        "automountServiceAccountToken": True,
                        "containers": [
                            {
                                "name": "provisioner",
                                "image": args.image,
                                "env": [
                                    {"name": "PROVISIONER_NAME", "value": PROVISIONER},
                                    {"name": "NFS_SERVER", "value": args.server},
                                    {"name": "NFS_PATH", "value": args.path},
                                ],
                                "volumeMounts": [{"name": "nfs-root", "mountPath": "/persistentvolumes"}],
                                "resources": resources("50m", "64Mi", "200m", "128Mi"),
                                # No probes: the image is distroless (no shell) and serves
                                # no health endpoint; a crash is restarted by the kubelet.
                                # It creates and chowns directories on the export,
                                # which no_root_squash exports expect root to do.
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"], "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"]},
                                    "seccompProfile": {"type": "RuntimeDefault"},
                                },
                            }
                        ],
                        "volumes": [{"name": "nfs-root", "nfs": {"server": args.server, "path": args.path}}],
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[sa]),
        )
        sc_annotations = {"redis-platform/warning": NFS_RISK}
        if args.default_class:
            sc_annotations["storageclass.kubernetes.io/is-default-class"] = "true"
        sc = k8s.storage.v1.StorageClass(
            f"{name}-class",
            metadata=metadata(args.storage_class_name, None, lbl, sc_annotations),
            provisioner=PROVISIONER,
            reclaim_policy=args.reclaim_policy,
            volume_binding_mode="Immediate",
            allow_volume_expansion=False,
            mount_options=list(args.mount_options),
            parameters={
                "archiveOnDelete": "true" if args.archive_on_delete else "false",
                "pathPattern": "${.PVC.namespace}/${.PVC.name}",
            },
            opts=child,
        )
        self.storage_class_name = sc.metadata["name"]
        self.register_outputs({"storage_class_name": self.storage_class_name})
