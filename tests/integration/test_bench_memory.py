"""The memory section's peak measurement sees a real fork: while an AOF
rewrite runs under a writer, the peak it reports is above the steady state,
the fork child was seen, and its private pages agree with what Redis itself
reports; with no fork the same sampler reports no child and no extra.
Without this, a broken /proc reading would report every fraction as safe."""

from __future__ import annotations

import time

import pytest

from bench import memory
from tests.integration.procs import ProcGroup

pytestmark = pytest.mark.integration

# Outside the bench's own addresses (127.0.0.241-242), so both can run at once.
IP = "127.0.0.243"
SCALE, FRACTION, RATE = 16, 0.7, 2_000


@pytest.fixture
def node(tmp_path):
    group = ProcGroup()
    try:
        n = memory.start_node(group, tmp_path, "small", SCALE, FRACTION, ip=IP)
        memory.quiet_forks(n.client)
        yield n, group, tmp_path
    finally:
        group.stop_all()


def test_peak_sees_the_rewrite_fork(node):
    n, group, root = node
    values = memory.incompressible_values()
    maxmemory = int(n.client.config_get("maxmemory")["maxmemory"])
    keys = memory.fill(n.client, int(maxmemory * 0.95), 0, values)
    assert keys > 100_000, "filled to near maxmemory"
    writer = memory.Writer(memory.redis.Redis(host=IP, username="app", password=n.password, socket_timeout=30), RATE, keys, values)
    writer.start()
    try:
        idle = memory.Sampler(n.pid)
        idle.start()
        time.sleep(1.0)
        quiet = idle.stop()
        event = memory.run_event(n, "aofrewrite", group, root)
    finally:
        writer.stop()
    assert writer.errors == 0
    # Control: no fork, so no child and nothing beyond the server's own RSS.
    assert not quiet.children_seen and quiet.child_private_peak_kib == 0
    assert quiet.samples > 10
    # The fork: its child was sampled, owned private pages, and the peak is
    # above the steady state by at least those pages.
    assert event["children_seen"] >= 1, event
    assert event["sampled_child_private_mib"] > 1, event
    assert event["peak_mib"] > event["steady_mib"] + 1, event
    # Redis measures its child's copy-on-write itself; the sampled pages are
    # of the same order (sampling misses at most the last 10 ms).
    assert event["redis_cow_mib"] > 0, event
    assert event["sampled_child_private_mib"] >= event["redis_cow_mib"] * 0.5, event
