"""HAProxy follows a pod to its new address through DNS (its resolvers section).

The pods get stable names, as in Kubernetes: Redis and the Sentinels resolve
them through a hosts file in a private mount namespace (libc), HAProxy only
through a real DNS server on loopback (dnslib), as it would through the
cluster DNS. A replica then comes back on a new address: HAProxy's read port
must reach it there, which it can only do by re-resolving its name.
"""

from __future__ import annotations

import signal
from dataclasses import replace
from pathlib import Path

import pytest
from dnslib import QTYPE, RR, A
from dnslib.server import BaseResolver, DNSServer

from components.haproxy.cfg import render_haproxy_cfg
from components.redis.sentinel_conf import SentinelConfSpec, render_sentinel_conf
from tests.integration.procs import ProcGroup, wait_for
from tests.integration.sentinel.harness import FAILOVER, NODES, READ_PORT, MasterSet, Topology, haproxy_spec

pytestmark = pytest.mark.integration

# This module's addresses: 127.0.1.53 (DNS), 127.0.1.60-127.0.1.70 (pods).
DNS = ("127.0.1.53", 5353)
DOMAIN = "redis-dns.svc.cluster.local"
NAMES = tuple(f"node-{i}.{DOMAIN}" for i in range(NODES))
FIRST_ADDRESS = {name: f"127.0.1.{60 + i}" for i, name in enumerate(NAMES)}
NEW_ADDRESS = "127.0.1.70"


class Zone(BaseResolver):
    """Answers A queries from a table the test edits, like the cluster DNS."""

    def __init__(self, table: dict[str, str]):
        self.table = table

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        if name not in self.table:
            reply.header.rcode = 3  # NXDOMAIN
        elif request.q.qtype == QTYPE.A:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(self.table[name]), ttl=1))
        return reply


class NamespacedGroup(ProcGroup):
    """Starts every process with ``hosts`` as its /etc/hosts (libc resolution)."""

    def __init__(self, hosts: Path):
        super().__init__()
        self.hosts = hosts

    def start(self, argv, log, **kw):
        wrapper = 'mount --bind "$0" /etc/hosts && exec "$@"'
        return super().start(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", wrapper,
                              str(self.hosts), *argv], log, **kw)


class NamedMasterSet(MasterSet):
    """The harness's master set, with pod names instead of addresses."""

    def __init__(self, procs: ProcGroup, root: Path, topo: Topology, table: dict[str, str], plain: ProcGroup):
        super().__init__(procs, root, topo)
        self.table, self.plain = table, plain
        spec = replace(haproxy_spec(topo), redis_hosts=NAMES, nameservers=(f"{DNS[0]}:{DNS[1]}",))
        self.haproxy_cfg = render_haproxy_cfg(spec)

    def name_of(self, ip: str) -> str:
        return next(n for n, a in self.table.items() if a == ip)

    def node_env(self, ip: str) -> dict[str, str]:
        return super().node_env(ip) | {"REDIS_ANNOUNCE_HOST": self.name_of(ip), "REDIS_HOSTS": " ".join(NAMES)}

    def sentinel_env(self, ip: str) -> dict[str, str]:
        return super().sentinel_env(ip) | {"REDIS_HOSTS": " ".join(NAMES)}

    def sentinel_conf(self, ip: str) -> str:
        return render_sentinel_conf(SentinelConfSpec(
            master_host=NAMES[0], failover=FAILOVER, bind=ip, work_dir=str(self.root / f"sentinel-{ip}" / "work"),
        ))

    def start_haproxy(self):
        # Outside the namespace: HAProxy can learn the names only from DNS.
        procs, self.procs = self.procs, self.plain
        try:
            return super().start_haproxy()
        finally:
            self.procs = procs


def write_hosts(path: Path, table: dict[str, str]) -> None:
    lines = ["127.0.0.1 localhost"] + [f"{ip} {name}" for name, ip in table.items()]
    with open(path, "r+" if path.exists() else "w") as fh:  # same inode: bind mounts see it
        fh.truncate(0)
        fh.write("\n".join(lines) + "\n")


def test_haproxy_follows_a_replica_to_its_new_address(tmp_path):
    table = dict(FIRST_ADDRESS)
    hosts = tmp_path / "hosts"
    write_hosts(hosts, table)
    dns = DNSServer(Zone(table), address=DNS[0], port=DNS[1])
    dns.start_thread()
    named, plain = NamespacedGroup(hosts), ProcGroup()
    # Redis on the pods' first addresses (127.0.1.60-62), the Sentinels and HAProxy after them.
    topo = Topology(subnet="127.0.1", first=60)
    assert topo.redis == tuple(FIRST_ADDRESS.values())
    try:
        ms = NamedMasterSet(named, tmp_path, topo, table, plain)
        ms.start_all()
        moved_name, other_ip = NAMES[2], table[NAMES[1]]
        wait_for(lambda: ms.via(READ_PORT) in {table[NAMES[1]], table[NAMES[2]]}, 20, what="read port reaches a replica")

        # The replica's pod is rescheduled: its old address is gone, DNS
        # publishes the new one, and it starts again with its data.
        old_ip = table[moved_name]
        ms.nodes[old_ip].stop(sig=signal.SIGTERM)
        table[moved_name] = NEW_ADDRESS
        write_hosts(hosts, table)
        (tmp_path / NEW_ADDRESS).symlink_to(tmp_path / old_ip)
        ms.start_node(NEW_ADDRESS)
        wait_for(lambda: ms.role(NEW_ADDRESS) == "slave" and
                 ms.client(NEW_ADDRESS).info("replication").get("master_link_status") == "up",
                 30, what="moved replica in sync again")
        # Only the moved replica is left to serve reads: if HAProxy still held
        # its old address, reads would fall back to the master.
        ms.nodes[other_ip].stop(sig=signal.SIGTERM)
        wait_for(lambda: ms.via(READ_PORT) == NEW_ADDRESS, 40, interval=0.5,
                 what="HAProxy's read port reaching the moved replica at its new address")
        assert ms.role(table[NAMES[0]]) == "master"
    finally:
        plain.stop_all()
        named.stop_all()
        dns.stop()
