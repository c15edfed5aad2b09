"""A local Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver (RBAC on,
a bearer token for the test user) and kube-controller-manager, built from
their Go modules by scripts/e2e-tools.sh.

There is no kubelet and no scheduler: objects are stored, validated and
admitted for real, and controllers act (a StatefulSet makes its Pods and
PVCs, garbage collection follows owner references), but no Pod ever runs.
"""

from __future__ import annotations

import os
import secrets
import socket
import ssl
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.e2e.certs import make_pki
from tests.integration.procs import ProcGroup, wait_for

ROOT = Path(__file__).resolve().parents[2]
TOOLS_SCRIPT = ROOT / "scripts" / "e2e-tools.sh"
# The kubeconfig carries every context name the committed stack files use
# (`kubernetes:context`), all pointing at this one API server.
CONTEXTS = ("dev-onprem", "eks-prod", "e2e")
TEST_USER = "redis-platform-e2e"


def tools_bin() -> Path:
    """The folder holding the binaries; fails (never skips) when one is missing.

    E2E_BIN_DIR points at other builds of the same programs (release downloads
    on a machine with internet); by default, scripts/e2e-tools.sh's cache.
    """
    if os.environ.get("E2E_BIN_DIR"):
        folder = Path(os.environ["E2E_BIN_DIR"])
    else:
        out = subprocess.run(["bash", str(TOOLS_SCRIPT), "--bin-dir"], check=True, capture_output=True, text=True)
        folder = Path(out.stdout.strip())
    for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl", "promtool", "pulumi-stackfile"):
        if not (folder / name).is_file():
            raise AssertionError(f"{folder / name} is missing: run scripts/e2e-tools.sh (make e2e does)")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class ControlPlane:
    workdir: Path
    bin: Path
    procs: ProcGroup = field(default_factory=ProcGroup)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    api_port: int = 0

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    def start(self) -> None:
        pki = make_pki(self.workdir / "pki")
        self.ca = pki["ca"]
        etcd_port, peer_port = free_port(), free_port()
        self.api_port = free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        peer_url = f"http://127.0.0.1:{peer_port}"
        logs = self.workdir / "logs"
        self.procs.start(
            [
                str(self.bin / "etcd"), "--name", "e2e", "--data-dir", str(self.workdir / "etcd"),
                "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                "--initial-cluster", f"e2e={peer_url}", "--listen-metrics-urls", "",
                # A throwaway store: durability is not under test here, speed is.
                "--unsafe-no-fsync",
            ],
            logs / "etcd.log",
        )
        wait_for(lambda: _http_ok(f"{etcd_url}/health"), timeout=30, what="etcd health")

        kcm_token = secrets.token_hex(16)
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(
            f'{self.token},{TEST_USER},1000,"system:masters"\n'
            f"{kcm_token},system:kube-controller-manager,1001\n"
        )
        tokens.chmod(0o600)
        self.procs.start(
            [
                str(self.bin / "kube-apiserver"),
                "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.api_port}",
                f"--etcd-servers={etcd_url}",
                f"--tls-cert-file={pki['server_cert']}", f"--tls-private-key-file={pki['server_key']}",
                f"--client-ca-file={pki['ca']}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki['sa_pub']}",
                f"--service-account-signing-key-file={pki['sa_key']}",
                # Only a configuration value: no Service address is ever reached.
                "--service-cluster-ip-range=10.96.0.0/16",
                # node-exporter and cAdvisor need host namespaces, as on a real cluster.
                "--allow-privileged=true",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                "--profiling=false",
            ],
            logs / "kube-apiserver.log",
        )
        wait_for(self._ready, timeout=90, interval=0.5, what="kube-apiserver /readyz")
        self._write_kubeconfig()
        kcm_kubeconfig = self.workdir / "kcm.kubeconfig"
        kcm_kubeconfig.write_text(yaml.safe_dump(self._kubeconfig_doc(kcm_token, "system:kube-controller-manager")))
        self.procs.start(
            [
                str(self.bin / "kube-controller-manager"),
                f"--kubeconfig={kcm_kubeconfig}",
                "--leader-elect=false",
                "--secure-port=0",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={pki['sa_key']}",
                f"--root-ca-file={pki['ca']}",
                "--controllers=*",
            ],
            logs / "kube-controller-manager.log",
        )

    def stop(self) -> None:
        self.procs.stop_all()

    def _ready(self) -> bool:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        req = urllib.request.Request(f"{self.server}/readyz", headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, context=ctx, timeout=2) as resp:  # noqa: S310 - loopback only
            return resp.status == 200

    def _kubeconfig_doc(self, token: str, user: str) -> dict:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": {"server": self.server, "certificate-authority": str(self.ca)}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": name, "context": {"cluster": "e2e", "user": user}} for name in CONTEXTS],
            "current-context": CONTEXTS[-1],
        }

    def _write_kubeconfig(self) -> None:
        self.kubeconfig.write_text(yaml.safe_dump(self._kubeconfig_doc(self.token, TEST_USER)))
        self.kubeconfig.chmod(0o600)


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback only
        return resp.status == 200
