"""Storage components registered by the real program for each storage choice."""

from __future__ import annotations

import json

from components.storage.nfs import NFS_RISK, PROVISIONER
from tests.unit.conftest import BASE_CONFIG, run_with

OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.ap-northeast-2.amazonaws.com/id/ABCDEF"


def test_nfs_provisioner_mounts_the_export_and_class_names_the_risk():
    run = run_with(BASE_CONFIG | {"storage": {"kind": "nfs", "server": "10.0.0.20", "path": "/storage/redis-vol"}})
    (dep,) = run.k8s("Deployment", "nfs-subdir-external-provisioner")
    pod = dep["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "nfs-root", "nfs": {"server": "10.0.0.20", "path": "/storage/redis-vol"}}]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env == {"PROVISIONER_NAME": PROVISIONER, "NFS_SERVER": "10.0.0.20", "NFS_PATH": "/storage/redis-vol"}
    assert dep["spec"]["strategy"]["type"] == "Recreate"
    (sc,) = run.k8s("StorageClass", "nfs-client")
    assert sc["provisioner"] == PROVISIONER
    assert sc["metadata"]["annotations"]["redis-platform/warning"] == NFS_RISK
    assert "NFS" in NFS_RISK and "not support" in NFS_RISK
    # RBAC: the provisioner can manage PVs and read PVCs, nothing broader.
    (role,) = [r for r in run.k8s("ClusterRole") if "nfs" in r["metadata"]["name"]]
    verbs = {r["resources"][0]: set(r["verbs"]) for r in role["rules"]}
    assert "delete" in verbs["persistentvolumes"] and "delete" not in verbs["persistentvolumeclaims"]
    (binding,) = [b for b in run.k8s("ClusterRoleBinding") if "nfs" in b["metadata"]["name"]]
    assert binding["subjects"][0]["name"] == pod["serviceAccountName"]
    assert run.outputs["storageClassName"] == "nfs-client"


def test_ebs_gp3_class_with_irsa_role_and_addon():
    run = run_with(BASE_CONFIG | {"storage": {"kind": "ebs", "eksClusterName": "prod", "oidcProviderArn": OIDC, "iops": 4000, "throughput": 500}})
    (sc,) = run.k8s("StorageClass", "gp3")
    assert sc["provisioner"] == "ebs.csi.aws.com"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["allowVolumeExpansion"] is True
    assert sc["parameters"] | {} == {
        "type": "gp3", "iops": "4000", "throughput": "500", "encrypted": "true", "csi.storage.k8s.io/fstype": "xfs",
    }
    (role,) = run.of_type("aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (stmt,) = trust["Statement"]
    assert stmt["Principal"] == {"Federated": OIDC}
    assert stmt["Action"] == "sts:AssumeRoleWithWebIdentity"
    issuer = "oidc.eks.ap-northeast-2.amazonaws.com/id/ABCDEF"
    assert stmt["Condition"]["StringEquals"] == {
        f"{issuer}:sub": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
        f"{issuer}:aud": "sts.amazonaws.com",
    }
    (attach,) = run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert attach.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    (addon,) = run.of_type("aws:eks/addon:Addon")
    assert addon.inputs["addonName"] == "aws-ebs-csi-driver"
    assert addon.inputs["clusterName"] == "prod"
    assert addon.inputs["serviceAccountRoleArn"].endswith(role.name)


def test_ebs_throughput_must_fit_iops():
    from stacks.config import ConfigError, load_stack_config
    import pytest

    with pytest.raises(ConfigError, match=r"storage: throughput 1000 MiB/s needs at least 4000 iops"):
        load_stack_config(BASE_CONFIG | {"storage": {"kind": "ebs", "eksClusterName": "p", "oidcProviderArn": OIDC, "throughput": 1000}})


def test_existing_class_creates_no_storage_resources():
    run = run_with(BASE_CONFIG)
    assert run.k8s("StorageClass") == []
    assert not [r for r in run.resources if r.typ.startswith("aws:")]
    assert run.outputs["storageClassName"] == "standard"


def _claims(run):
    """(object, size, class) of every claim the rendered stack makes."""
    out = [(f"PVC {m['metadata']['name']}", m["spec"]["resources"]["requests"]["storage"], m["spec"]["storageClassName"])
           for m in run.k8s("PersistentVolumeClaim")]
    for sts in run.k8s("StatefulSet"):
        for tmpl in sts["spec"].get("volumeClaimTemplates", []):
            out.append((f"StatefulSet {sts['metadata']['name']}", tmpl["spec"]["resources"]["requests"]["storage"],
                        tmpl["spec"]["storageClassName"]))
    return out


def test_every_claim_of_the_prod_stack_is_a_volume_aws_would_create(prod_run):
    from stacks.config.gp3 import BASELINE_IOPS, BASELINE_THROUGHPUT, gp3_problem
    from stacks.config.quantities import memory_bytes

    classes = {sc["metadata"]["name"]: sc["parameters"] for sc in prod_run.k8s("StorageClass")}
    claims = _claims(prod_run)
    assert len(claims) >= 6
    uses = {}
    for owner, size, class_name in claims:
        params = classes[class_name]
        assert params["type"] == "gp3"
        iops, throughput = int(params.get("iops", BASELINE_IOPS)), int(params.get("throughput", BASELINE_THROUGHPUT))
        assert gp3_problem(memory_bytes(size), iops, throughput) is None, (owner, size, class_name)
        uses.setdefault(class_name, set()).add(owner)
    # Redis data on the tuned class, monitoring on the baseline one.
    assert {u for u in uses["gp3"] if not u.startswith("PVC data-")} == {"StatefulSet orders", "StatefulSet quotes-cache"}
    assert {u for u in uses["gp3"] if u.startswith("PVC data-")} == {
        *(f"PVC data-orders-{i}" for i in range(6)), *(f"PVC data-quotes-cache-{i}" for i in range(3))}
    assert {"StatefulSet alertmanager", "StatefulSet prometheus", "PVC grafana-data"} <= uses["gp3-baseline"]
    assert "iops" not in classes["gp3-baseline"] and classes["gp3"]["iops"] == "6000"


def test_the_old_single_class_would_have_been_refused_by_aws():
    """The rule is not vacuous: prod's 6000 IOPS on its 2Gi Alertmanager and
    5Gi Grafana volumes is what AWS refuses."""
    from stacks.config.gp3 import gp3_problem

    assert gp3_problem(2 * 2**30, 6000, 250) and gp3_problem(5 * 2**30, 6000, 250)
    assert gp3_problem(12 * 2**30, 6000, 250) is None
    assert gp3_problem(2 * 2**30, 3000, 125) is None  # the baseline holds at any size


def test_ebs_baseline_class_has_no_iops_and_the_same_safety():
    run = run_with(BASE_CONFIG | {"storage": {"kind": "ebs", "eksClusterName": "prod", "oidcProviderArn": OIDC, "iops": 4000}})
    (base,) = run.k8s("StorageClass", "gp3-baseline")
    assert base["parameters"] == {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "xfs"}
    assert base["volumeBindingMode"] == "WaitForFirstConsumer" and base["reclaimPolicy"] == "Retain"
    assert "annotations" not in base["metadata"] or "storageclass.kubernetes.io/is-default-class" not in base["metadata"]["annotations"]
    claims = {owner: cls for owner, _, cls in _claims(run)}
    assert claims["StatefulSet prometheus"] == "gp3-baseline"
