"""What AWS accepts for a gp3 volume (EBS CreateVolume), checked per claim.

gp3 gives 3000 IOPS and 125 MiB/s at any size (the baseline, included in the
price). Above the baseline: at most 500 IOPS per GiB of volume size, 3000 to
80000 IOPS, throughput at most 0.25 MiB/s per IOPS and at most 2000 MiB/s.
The EBS CSI driver passes a StorageClass's ``iops``/``throughput`` to every
volume of the class unchanged, so a class tuned for a large Redis volume
cannot serve a 2Gi Alertmanager volume: CreateVolume fails, the claim stays
Pending and ``pulumi up`` waits until it times out.
"""

from __future__ import annotations

import math

GIB = 2**30
BASELINE_IOPS = 3000
BASELINE_THROUGHPUT = 125
MAX_IOPS = 80000
MAX_THROUGHPUT = 2000
IOPS_PER_GIB = 500
MIN_SIZE, MAX_SIZE = 1 * GIB, 64 * 1024 * GIB


def gp3_problem(size_bytes: int, iops: int, throughput: int) -> str | None:
    """Why AWS would refuse a gp3 volume of this size with these settings, or None."""
    gib = size_bytes / GIB
    if size_bytes > MAX_SIZE:
        return f"gp3 volumes hold at most 64 TiB, asked {gib:.0f} GiB; split the data over more shards"
    if not BASELINE_IOPS <= iops <= MAX_IOPS:
        return f"gp3 IOPS must be {BASELINE_IOPS}-{MAX_IOPS}, got {iops}"
    if iops > BASELINE_IOPS and iops > IOPS_PER_GIB * gib:
        need = math.ceil(iops / IOPS_PER_GIB)
        return (f"{iops} IOPS need a volume of at least {need}Gi on gp3 (at most {IOPS_PER_GIB} IOPS per GiB "
                f"above the {BASELINE_IOPS} baseline); raise the size or lower storage.iops")
    if not BASELINE_THROUGHPUT <= throughput <= MAX_THROUGHPUT:
        return f"gp3 throughput must be {BASELINE_THROUGHPUT}-{MAX_THROUGHPUT} MiB/s, got {throughput}"
    if throughput > BASELINE_THROUGHPUT and throughput > iops / 4:
        return f"{throughput} MiB/s needs at least {throughput * 4} IOPS on gp3 (0.25 MiB/s per IOPS); lower storage.throughput"
    return None
