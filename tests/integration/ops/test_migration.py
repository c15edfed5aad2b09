"""Node-group migration of a live 3-shard cluster with the migration Job's
script: new pods (another StatefulSet, as on the new node group) join as
replicas, take over as masters, and the old pods are retired. Every key is
still there and every master is a new pod at the end."""

from __future__ import annotations

import time

import pytest

from components.operations.scripts import MIGRATE
from components.redis.cluster_scripts import ClusterTopology, pod_hostname
from tests.integration.cluster.harness import AUTH_ENV, ClusterHarness, masters, missing, replicas_of, write
from tests.integration.ops.helpers import run_ops

pytestmark = pytest.mark.integration

# This module's addresses: 127.0.0.186 - 127.0.0.197.
ADDRS = [f"127.0.0.{i}" for i in range(186, 198)]
NEW = 100  # ordinals of the new StatefulSet's pods in the harness


class TwoGroups(ClusterHarness):
    """Pods of the old StatefulSet (ordinals 0..) and of the new one (ordinals
    100..), both governed by the deployment's one headless Service."""

    def __init__(self, root, group, old: ClusterTopology, new: ClusterTopology, addresses: list[str] = ADDRS, **kw):
        super().__init__(root, group, old, addresses=list(addresses), **kw)
        self.old_topo, self.new_topo = old, new

    def topo_of(self, ordinal: int) -> ClusterTopology:
        return self.new_topo if ordinal >= NEW else self.old_topo

    def hostname(self, ordinal: int) -> str:
        return pod_hostname(self.topo_of(ordinal), ordinal)

    def start(self, ordinal: int, wait: bool = True):
        self.topology = self.topo_of(ordinal)
        try:
            return super().start(ordinal, wait)
        finally:
            self.topology = self.old_topo


def test_migration_to_a_new_node_group(tmp_path, procs):
    old = ClusterTopology(statefulset_name="sessions", headless_service="sessions-headless", namespace="redis",
                          shards=3, replicas_per_shard=1)
    new = ClusterTopology(statefulset_name="sessions-g1", headless_service="sessions-headless", namespace="redis",
                          shards=3, replicas_per_shard=1)
    h = TwoGroups(tmp_path, procs, old, new)
    old_pods, new_pods = list(range(6)), list(range(NEW, NEW + 6))
    for i in old_pods:
        h.start(i)
    assert h.bootstrap(old).returncode == 0
    h.wait_healthy(old_pods, 60)
    items = {f"cart:{i}": f"items-{i}" for i in range(5000)}
    write(h, items)
    for i in new_pods:
        h.start(i)

    env = {"OLD_NODES": " ".join(h.hostname(i) for i in old_pods), "NEW_NODES": " ".join(h.hostname(i) for i in new_pods),
           **AUTH_ENV, "PATH": h.path, "WAIT_TIMEOUT": "60"}
    timings = {}
    for step in ("replicas", "promote", "retire"):
        started = time.monotonic()
        out = run_ops(MIGRATE, env | {"STEP": step}, wrap=h.in_dns_namespace)
        timings[step] = time.monotonic() - started
        assert out.returncode == 0, step
        if step == "replicas":
            h.wait_healthy(old_pods + new_pods, 30)
            view = h.view(0)
            for mid in masters(view):
                assert sum(r["hostname"].startswith("sessions-g1-") for r in replicas_of(view, mid)) == 2
        if step == "promote":
            assert missing(h, items) == []
    # Running a step again changes nothing.
    assert run_ops(MIGRATE, env | {"STEP": "retire"}, wrap=h.in_dns_namespace).returncode == 0

    # The old StatefulSet is deleted by the last `pulumi up`.
    h.stop(old_pods)
    h.wait_healthy(new_pods, 30)
    view = h.view(NEW)
    assert len(masters(view)) == 3 and len(view) == 6
    assert all(m["hostname"].startswith("sessions-g1-") for m in masters(view).values())
    assert all(len(replicas_of(view, mid)) == 1 for mid in masters(view))
    assert missing(h, items) == []
    print("migration steps took " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
