"""EBS gp3 through the aws-ebs-csi-driver EKS add-on, with IRSA (seed 003).

EBS volumes are zonal: the StorageClasses wait for the first consumer so the
volume is created in the zone the scheduler picked for the pod, instead of a
random zone that would strand the pod.

Two classes, by use: the tuned one passes its IOPS and throughput to every
volume (Redis data), the baseline one passes none, so AWS gives its gp3
baseline, valid at any size (monitoring volumes of a few GiB, where the tuned
IOPS would exceed 500 per GiB and CreateVolume would fail).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.common.iam import OidcProvider, aws_tags, service_account_subject
from components.common.k8s import labels, metadata

CSI_DRIVER = "ebs.csi.aws.com"
ADDON_NAME = "aws-ebs-csi-driver"
# The add-on's controller runs under this ServiceAccount; IRSA trusts exactly it.
CONTROLLER_SA = service_account_subject("kube-system", "ebs-csi-controller-sa")


@dataclass(frozen=True)
class EbsCsiStorageArgs:
    eks_cluster_name: str
    oidc: OidcProvider
    storage_class_name: str
    baseline_class_name: str
    iops: int
    throughput: int
    fs_type: str
    reclaim_policy: str
    default_class: bool
    addon_version: str | None = None
    kms_key_id: str | None = None


class EbsCsiStorage(pulumi.ComponentResource):
    storage_class_name: pulumi.Output[str]
    baseline_class_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EbsCsiStorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("redis-platform:storage:EbsCsiStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-ebs-csi-role",
            assume_role_policy=args.oidc.trust_policy(CONTROLLER_SA),
            description=f"IRSA role of the EBS CSI controller on {args.eks_cluster_name}",
            tags=aws_tags({"eks-cluster": args.eks_cluster_name}),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-ebs-csi-policy",
            role=role.name,
            policy_arn=f"arn:{args.oidc.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
            opts=child,
        )
        addon = aws.eks.Addon(
            f"{name}-ebs-csi-addon",
            cluster_name=args.eks_cluster_name,
            addon_name=ADDON_NAME,
            addon_version=args.addon_version,
            service_account_role_arn=role.arn,
            # Keep settings an operator changed by hand on the add-on.
            resolve_conflicts_on_update="PRESERVE",
            tags=aws_tags(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment]),
        )
        base = {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": args.fs_type}
        if args.kms_key_id:
            base["kmsKeyId"] = args.kms_key_id
        tuned = base | {"iops": str(args.iops), "throughput": str(args.throughput)}
        sc_annotations = {}
        if args.default_class:
            sc_annotations["storageclass.kubernetes.io/is-default-class"] = "true"

        def storage_class(resource_name: str, class_name: str, parameters: dict, annotations: dict | None):
            return k8s.storage.v1.StorageClass(
                resource_name,
                metadata=metadata(class_name, None, labels("ebs-gp3", name, "storage"), annotations),
                provisioner=CSI_DRIVER,
                parameters=parameters,
                reclaim_policy=args.reclaim_policy,
                volume_binding_mode="WaitForFirstConsumer",
                allow_volume_expansion=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[addon]),
            )

        sc = storage_class(f"{name}-class", args.storage_class_name, tuned, sc_annotations or None)
        baseline = storage_class(f"{name}-baseline-class", args.baseline_class_name, base, None)
        self.storage_class_name = sc.metadata["name"]
        self.baseline_class_name = baseline.metadata["name"]
        self.role_arn = role.arn
        self.register_outputs({"storage_class_name": self.storage_class_name,
                               "baseline_class_name": self.baseline_class_name, "role_arn": self.role_arn})
