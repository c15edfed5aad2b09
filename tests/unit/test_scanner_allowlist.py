"""What a Kubernetes security scanner would flag in the rendered pods, and
the design keeps on purpose: each finding must be in ALLOWED with a reason
(the same reason is a comment next to the setting in the code), so a new
host mount, privileged container, root process or low UID cannot creep in
without someone writing down why. An entry nothing renders any more fails
too: the list stays the truth.

Findings are keyed by the pod's app.kubernetes.io/name and the container (or
``pod`` for pod-level settings), so they hold for any deployment name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.bad_config_cases import GOOD, S3, apply
from tests.unit.conftest import run_stack_file, run_with

# Scanners (trivy KSV020/KSV021, checkov CKV_K8S_40) flag a UID or GID at or below this.
LOW_ID = 10000

NODE = "node-exporter reports the node itself: its processes, network interfaces, CPU, memory and filesystems"
CADVISOR = "cAdvisor reads every container's cgroups, the runtime's state and /dev/kmsg (OOM events) on the node"
NFS = "the NFS provisioner creates and chowns each volume's directory on a no_root_squash export, as root"
ALLOWED: dict[tuple[str, str, str], str] = {
    ("node-exporter", "pod", "hostNetwork"): NODE,
    ("node-exporter", "pod", "hostPID"): NODE,
    ("node-exporter", "pod", "hostPath /proc"): NODE + " (read-only)",
    ("node-exporter", "pod", "hostPath /sys"): NODE + " (read-only)",
    ("node-exporter", "pod", "hostPath /"): NODE + " (read-only)",
    ("node-exporter", "node-exporter", "hostPort 9100"): "on the host network the port is the host's; the node-exporter Service's endpoints name it",
    ("cadvisor", "pod", "hostPath /"): CADVISOR + " (read-only)",
    ("cadvisor", "pod", "hostPath /var/run"): CADVISOR + " (read-only)",
    ("cadvisor", "pod", "hostPath /sys"): CADVISOR + " (read-only)",
    ("cadvisor", "pod", "hostPath /var/lib/containerd"): CADVISOR + " (read-only)",
    ("cadvisor", "pod", "hostPath /var/lib/docker"): CADVISOR + " (read-only)",
    ("cadvisor", "pod", "hostPath /dev/disk"): CADVISOR + " (read-only)",
    ("cadvisor", "cadvisor", "privileged"): CADVISOR + "; that takes a privileged container",
    ("cadvisor", "cadvisor", "allowPrivilegeEscalation not false"): "implied by privileged",
    ("cadvisor", "cadvisor", "capabilities not dropped"): "implied by privileged",
    ("cadvisor", "cadvisor", "runAsNonRoot not true"): CADVISOR + ", as root",
    ("cadvisor", "cadvisor", "seccompProfile not RuntimeDefault"): "a privileged container runs unconfined whatever its profile",
    ("nfs-subdir-external-provisioner", "provisioner", "runAsNonRoot not true"): NFS,
    ("nfs-subdir-external-provisioner", "provisioner", "capabilities add CHOWN,DAC_OVERRIDE,FOWNER"): NFS,
    ("nfs-subdir-external-provisioner", "pod", "automountServiceAccountToken"):
        "it creates PersistentVolumes and watches claims through the API",
    ("prometheus", "pod", "automountServiceAccountToken"):
        "Kubernetes service discovery (list/watch pods, endpoints, services, nodes) needs an API token",
    ("kube-state-metrics", "pod", "automountServiceAccountToken"):
        "it lists and watches the API objects it reports on",
    ("redis", "*", f"runAsUser 999 <= {LOW_ID}"):
        "the official redis image's own redis user, which owns /data; the Jobs' aws-cli and kubectl containers "
        "share the pod's uid to read and write the same files",
    ("redis", "*", f"runAsGroup 999 <= {LOW_ID}"): "the official redis image's own redis group (as above)",
    ("grafana", "*", f"runAsUser 472 <= {LOW_ID}"): "the official grafana image's own user, which owns /var/lib/grafana",
    ("grafana", "*", f"runAsGroup 472 <= {LOW_ID}"): "the official grafana image's own group",
    ("haproxy", "haproxy", f"runAsUser 99 <= {LOW_ID}"): "the official haproxy image's own haproxy user",
    ("haproxy", "haproxy", f"runAsGroup 99 <= {LOW_ID}"): "the official haproxy image's own haproxy group",
    ("redis", "pod", "hostNetwork"):
        "only with deployments[].hostNetwork (a deliberate choice for network latency; the platform policy pack "
        "wants the redis-platform/allow-host-network annotation on such pods)",
}


def _pods(run) -> Iterator[tuple[str, dict]]:
    for obj in run.kubernetes():
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            continue
        template = spec.get("jobTemplate", {}).get("spec", spec).get("template")
        if isinstance(template, dict) and "spec" in template:
            yield template["metadata"]["labels"]["app.kubernetes.io/name"], template["spec"]


def _container_findings(pod: dict, c: dict) -> Iterator[str]:
    psc, sc = pod.get("securityContext", {}), c.get("securityContext", {})
    if sc.get("privileged"):
        yield "privileged"
    if sc.get("allowPrivilegeEscalation") is not False:
        yield "allowPrivilegeEscalation not false"
    if sc.get("readOnlyRootFilesystem") is not True:
        yield "readOnlyRootFilesystem not true"
    if sc.get("capabilities", {}).get("drop") != ["ALL"]:
        yield "capabilities not dropped"
    if sc.get("capabilities", {}).get("add"):
        yield "capabilities add " + ",".join(sorted(sc["capabilities"]["add"]))
    if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is not True:
        yield "runAsNonRoot not true"
    if sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type") not in ("RuntimeDefault", "Localhost"):
        yield "seccompProfile not RuntimeDefault"
    for field in ("runAsUser", "runAsGroup"):
        value = sc.get(field, psc.get(field))
        if value is not None and value <= LOW_ID:
            yield f"{field} {value} <= {LOW_ID}"
    for port in c.get("ports", []):
        if "hostPort" in port:
            yield f"hostPort {port['hostPort']}"


def findings(run) -> set[tuple[str, str, str]]:
    out = set()
    for app, pod in _pods(run):
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key):
                out.add((app, "pod", key))
        if pod.get("automountServiceAccountToken") is not False:
            out.add((app, "pod", "automountServiceAccountToken"))
        out |= {(app, "pod", f"hostPath {v['hostPath']['path']}") for v in pod.get("volumes", []) if "hostPath" in v}
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            out |= {(app, c["name"], f) for f in _container_findings(pod, c)}
    return out


def _allowed(finding: tuple[str, str, str]) -> str | None:
    app, container, what = finding
    return ALLOWED.get(finding) or ALLOWED.get((app, "*", what))


@pytest.fixture(scope="module")
def every_finding() -> set[tuple[str, str, str]]:
    """The committed stacks, and a stack with the options that add host
    access: a hostNetwork deployment, S3 backups, federation."""
    extra = run_with(apply(GOOD, {"deployments[1].hostNetwork": True, "backup": S3,
                                  "federation": {"enabled": True, "lower": [{"name": "self", "url": "http://p:9090"}]}}))
    return findings(run_stack_file("dev")) | findings(run_stack_file("prod")) | findings(extra)


def test_every_flagged_setting_has_a_reason(every_finding):
    unexplained = sorted(f for f in every_finding if not _allowed(f))
    assert unexplained == [], "add a reason to ALLOWED (and a comment next to the setting in the code)"
    assert all(len(reason) > 20 for reason in ALLOWED.values())


def test_no_reason_outlives_its_setting(every_finding):
    used = {f for f in every_finding if f in ALLOWED} | {(a, "*", w) for a, _, w in every_finding if (a, "*", w) in ALLOWED}
    assert sorted(set(ALLOWED) - used) == []


def test_the_scan_sees_what_it_claims():
    """The finder itself: a pod with each flagged setting yields each finding."""
    pod = {"hostNetwork": True, "hostPID": True, "hostIPC": True, "volumes": [{"name": "h", "hostPath": {"path": "/etc"}}],
           "securityContext": {"runAsUser": 0},
           "containers": [{"name": "c", "ports": [{"containerPort": 1, "hostPort": 1}],
                           "securityContext": {"privileged": True, "capabilities": {"add": ["NET_ADMIN"]}}}]}

    class Run:
        def kubernetes(self):
            return [{"spec": {"template": {"metadata": {"labels": {"app.kubernetes.io/name": "x"}}, "spec": pod}}}]

    assert {w for _, _, w in findings(Run())} == {
        "hostNetwork", "hostPID", "hostIPC", "automountServiceAccountToken", "hostPath /etc", "privileged",
        "allowPrivilegeEscalation not false", "readOnlyRootFilesystem not true", "capabilities not dropped",
        "capabilities add NET_ADMIN", "runAsNonRoot not true", "seccompProfile not RuntimeDefault",
        f"runAsUser 0 <= {LOW_ID}", "hostPort 1"}
