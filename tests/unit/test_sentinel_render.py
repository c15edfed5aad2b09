"""sentinel.conf renderer and the Sentinel-mode script bundle (pure, no binaries)."""

from __future__ import annotations

import dataclasses

import pytest

from components.redis.sentinel_conf import SentinelConfSpec, SentinelFailover, render_sentinel_conf
from components.redis.sentinel_scripts import (
    REDIS_PRESTOP,
    REDIS_START,
    PREROLL,
    PREROLL_LIB,
    SCRIPT_NAMES,
    SENTINEL_START,
    pod_command,
    sentinel_scripts,
)

SPEC = SentinelConfSpec(master_host="redis-0.redis-headless.ns.svc.cluster.local", failover=SentinelFailover(master_set="main", quorum=2))


def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln and not ln.startswith("#")]


def test_monitor_line_and_failure_detection_settings():
    lines = _lines(render_sentinel_conf(SPEC))
    assert "sentinel monitor main redis-0.redis-headless.ns.svc.cluster.local 6379 2" in lines
    assert "sentinel down-after-milliseconds main 5000" in lines
    assert "sentinel failover-timeout main 60000" in lines
    assert "sentinel parallel-syncs main 1" in lines
    assert "port 26379" in lines


def test_hostname_options_come_before_monitor():
    lines = _lines(render_sentinel_conf(SPEC))
    monitor = next(i for i, ln in enumerate(lines) if ln.startswith("sentinel monitor"))
    assert lines.index("sentinel resolve-hostnames yes") < monitor
    assert lines.index("sentinel announce-hostnames yes") < monitor


def test_no_secret_or_per_pod_line_is_rendered():
    text = render_sentinel_conf(SPEC)
    for word in ("requirepass", "auth-pass", "announce-ip", "masterauth"):
        assert word not in text


def test_spec_values_flow_into_text():
    failover = SentinelFailover(master_set="main", quorum=3, down_after_ms=1500, failover_timeout_ms=9000, parallel_syncs=2)
    spec = dataclasses.replace(SPEC, failover=failover, master_port=6380, port=26380, work_dir="/w")
    lines = _lines(render_sentinel_conf(spec))
    assert "sentinel monitor main redis-0.redis-headless.ns.svc.cluster.local 6380 3" in lines
    assert "sentinel down-after-milliseconds main 1500" in lines
    assert "sentinel failover-timeout main 9000" in lines
    assert "sentinel parallel-syncs main 2" in lines
    assert "port 26380" in lines and "dir /w" in lines


@pytest.mark.parametrize("change", [{"master_host": "-x"}, {"port": 70000}, {"master_port": 0}])
def test_invalid_specs_are_refused(change):
    with pytest.raises(ValueError):
        dataclasses.replace(SPEC, **change)


@pytest.mark.parametrize(
    "change",
    [
        {"master_set": "bad name"},
        {"quorum": 0},
        {"down_after_ms": 10},
        {"failover_timeout_ms": 1000},
        {"parallel_syncs": 0},
    ],
)
def test_invalid_failover_settings_are_refused(change):
    with pytest.raises(ValueError):
        dataclasses.replace(SPEC.failover, **change)


def test_the_stack_config_gives_the_failover_settings_with_the_renderer_defaults():
    from stacks.config.redis import SentinelTopology

    assert SentinelTopology().failover == SentinelFailover()
    # No quorum set: a majority of the Sentinels; set: as given.
    assert SentinelTopology(sentinels=5).failover.quorum == 3
    assert SentinelTopology(sentinels=5, quorum=4, down_after_ms=2000).failover == SentinelFailover(
        quorum=4, down_after_ms=2000)


def test_script_bundle_holds_every_script_as_posix_sh():
    scripts = sentinel_scripts()
    assert set(scripts) == {*SCRIPT_NAMES, PREROLL, PREROLL_LIB}
    assert f'. "$SCRIPTS/{PREROLL_LIB}"' in scripts[PREROLL]
    for name in (SENTINEL_START, REDIS_START, REDIS_PRESTOP, PREROLL):
        assert scripts[name].startswith("#!/bin/sh\n")
        assert "sentinel-lib.sh" in scripts[name]
        assert "bash" not in scripts[name]


def test_pod_command_runs_from_the_scripts_mount():
    assert pod_command(REDIS_PRESTOP, "25") == ["sh", "/scripts/sentinel-redis-prestop.sh", "25"]
    with pytest.raises(KeyError):
        pod_command("nope.sh")
