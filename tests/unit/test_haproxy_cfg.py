"""haproxy.cfg renderer (pure, no binaries; tests/integration/sentinel runs it for real)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from components.haproxy.cfg import HAProxySpec, render_haproxy_cfg, warmup_seconds

HOSTS = tuple(f"redis-{i}.redis-headless.ns.svc.cluster.local" for i in range(3))
SENTINELS = tuple(f"sentinel-{i}.sentinel-headless.ns.svc.cluster.local" for i in range(3))
SPEC = HAProxySpec(master_set="main", redis_hosts=HOSTS, sentinel_hosts=SENTINELS)


def _section(text: str, header: str) -> list[str]:
    out, inside = [], False
    for line in text.splitlines():
        if not line.startswith(" "):
            inside = line == header
        elif inside:
            out.append(line.strip())
    assert out, f"no section {header!r}"
    return out


def test_password_only_as_environment_reference():
    text = render_haproxy_cfg(SPEC)
    auths = [ln for ln in text.splitlines() if "AUTH" in ln]
    assert auths and all('"AUTH ${REDIS_PASSWORD}\\r\\n"' in ln for ln in auths)
    custom = render_haproxy_cfg(dataclasses.replace(SPEC, password_env="RP"))
    assert "${RP}" in custom and "REDIS_PASSWORD" not in custom
    # With an ACL user the checks name it: AUTH <user> <password>.
    named = [ln for ln in render_haproxy_cfg(dataclasses.replace(SPEC, user="haproxy")).splitlines() if "AUTH" in ln]
    assert named and all('"AUTH haproxy ${REDIS_PASSWORD}\\r\\n"' in ln for ln in named)


def test_resolvers_follow_kubernetes_dns_and_servers_use_them():
    text = render_haproxy_cfg(SPEC)
    res = _section(text, "resolvers kubernetes")
    assert "parse-resolv-conf" in res
    assert "hold valid 10s" in res
    servers = [ln for ln in text.splitlines() if ln.strip().startswith("server ")]
    assert len(servers) == 3 + 3 + 3 * 3  # masters, replicas, sentinels per node
    assert all("resolvers kubernetes" in ln and "check inter 1000" in ln for ln in servers)
    pinned = render_haproxy_cfg(dataclasses.replace(SPEC, nameservers=("127.0.0.1:5353",)))
    assert "nameserver ns0 127.0.0.1:5353" in pinned and "parse-resolv-conf" not in pinned


def test_write_frontend_needs_role_and_sentinel_majority():
    fe = _section(render_haproxy_cfg(SPEC), "frontend redis_write")
    assert "bind 0.0.0.0:6379" in fe
    for i in range(3):
        assert f"acl sentinels_name_node{i} nbsrv(sentinels_name_{i}) ge 2" in fe
        assert f"use_backend redis_master_{i} if node{i}_says_master sentinels_name_node{i}" in fe
    assert fe[-1] == "default_backend no_master"
    # The warm-up gate is evaluated before any node can be chosen.
    assert fe.index("use_backend no_master if !checks_warm") < fe.index(
        "use_backend redis_master_0 if node0_says_master sentinels_name_node0"
    )


def test_agreement_is_a_majority_of_sentinels():
    five = dataclasses.replace(SPEC, sentinel_hosts=tuple(f"s{i}" for i in range(5)))
    assert five.agreement == 3
    assert "nbsrv(sentinels_name_0) ge 3" in render_haproxy_cfg(five)
    assert dataclasses.replace(five, sentinel_agreement=4).agreement == 4
    with pytest.raises(ValueError):
        dataclasses.replace(five, sentinel_agreement=2)


def test_sentinel_check_matches_the_whole_host_name():
    be = _section(render_haproxy_cfg(SPEC), "backend sentinels_name_1")
    assert 'tcp-check send "SENTINEL get-master-addr-by-name main\\r\\nQUIT\\r\\n"' in be
    assert f'tcp-check expect string "\\r\\n{HOSTS[1]}\\r\\n"' in be
    assert sum(ln.startswith("server sentinel-") for ln in be) == 3


def test_read_frontend_prefers_replicas_then_master():
    text = render_haproxy_cfg(SPEC)
    fe = _section(text, "frontend redis_read")
    assert fe.index("use_backend redis_replicas if replicas_up") < fe.index(
        "use_backend redis_master_0 if node0_says_master sentinels_name_node0"
    )
    be = _section(text, "backend redis_replicas")
    assert be.index("tcp-check expect string role:slave") < be.index("tcp-check expect string master_link_status:up")
    master = _section(text, "backend redis_master_0")
    assert "tcp-check expect string role:master" in master
    assert all("on-marked-down shutdown-sessions" in ln for ln in master if ln.startswith("server "))


def test_stats_and_prometheus_on_their_own_port():
    st = _section(render_haproxy_cfg(dataclasses.replace(SPEC, stats_port=9000)), "frontend stats")
    assert "bind 0.0.0.0:9000" in st
    assert "http-request use-service prometheus-exporter if { path /metrics }" in st
    assert "stats uri /stats" in st


def test_warmup_covers_first_check():
    assert warmup_seconds(SPEC) == 4
    assert warmup_seconds(dataclasses.replace(SPEC, check_interval_ms=5000, check_timeout_ms=3000)) == 9
    assert re.search(r"date,sub\(proc.started_at\) ge 4", render_haproxy_cfg(SPEC))


@pytest.mark.parametrize(
    "change",
    [
        {"redis_hosts": ()},
        {"sentinel_hosts": ()},
        {"redis_hosts": ("a", "a")},
        {"redis_hosts": ("bad host",)},
        {"read_port": 6379},
        {"password_env": "not-env"},
        {"user": "has space"},
        {"master_set": "a b"},
        {"check_interval_ms": 10},
    ],
)
def test_invalid_specs_are_refused(change):
    with pytest.raises(ValueError):
        dataclasses.replace(SPEC, **change)
