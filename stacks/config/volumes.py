"""Every PersistentVolumeClaim the stack makes, and the StorageClass each
uses, so storage rules can be checked per claim before anything runs.

Classes by use: Redis data goes on the tuned class (``storage.storageClassName``
with the configured IOPS and throughput); monitoring volumes (Prometheus,
Alertmanager, Grafana, the global Prometheus) go on the general class, which
on EBS is gp3 at its baseline and so valid at any size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from stacks.config.quantities import memory_bytes
from stacks.config.storage import EbsStorage

if TYPE_CHECKING:
    from stacks.config.model import StackConfig

Use = Literal["data", "general"]


@dataclass(frozen=True)
class Claim:
    path: str  # the config key that sets its size
    size: str
    use: Use
    # A class named on the claim itself (deployments[].persistence.storageClassName).
    storage_class_name: str | None = None

    @property
    def size_bytes(self) -> int:
        return memory_bytes(self.size)


def claims(cfg: "StackConfig") -> list[Claim]:
    out = [
        Claim(f"deployments[{i}].persistence.size", dep.persistence.size, "data", dep.persistence.storage_class_name)
        for i, dep in enumerate(cfg.deployments)
        if dep.persistence.enabled
    ]
    m = cfg.monitoring
    if m.enabled:
        out += [
            Claim("monitoring.prometheus.storageSize", m.prometheus.storage_size, "general"),
            Claim("monitoring.alertmanager.storageSize", m.alertmanager.storage_size, "general"),
            Claim("monitoring.grafana.storageSize", m.grafana.storage_size, "general"),
        ]
    f = cfg.federation
    if f.enabled:
        out.append(Claim("federation.storageSize", f.storage_size, "general"))
        if f.grafana.enabled:
            out.append(Claim("federation.grafana.storageSize", f.grafana.storage_size, "general"))
    return out


def class_for(cfg: "StackConfig", use: Use) -> str:
    """The StorageClass the composition gives claims of ``use``."""
    storage = cfg.storage
    if isinstance(storage, EbsStorage) and use == "general":
        return storage.baseline_storage_class_name
    return storage.storage_class_name
