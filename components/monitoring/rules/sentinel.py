"""Sentinel alerts, from redis_exporter scraping a Sentinel (its
``redis_sentinel_*`` series; one exporter per Sentinel pod).

Each Sentinel reports its own view; the alerts take the best view of a
deployment, so one partitioned Sentinel does not page while the others can
still fail over (RedisDown and PrometheusTargetDown name that one).
"""

from __future__ import annotations

from components.monitoring.labels import DEPLOYMENT, TEAM
from components.monitoring.rules.model import COUNT, Alert, RuleGroup, RulesSpec

BY = f"by ({DEPLOYMENT}, {TEAM}, master_name)"
DEP = "master set {{ $labels.master_name }} of deployment {{ $labels.deployment }} (team {{ $labels.team }})"


def groups(spec: RulesSpec) -> tuple[RuleGroup, ...]:
    # SENTINEL CKQUORUM per Sentinel; its message label changes with the text.
    quorum = f"max {BY} (redis_sentinel_master_ckquorum_status)"
    # Distinct master addresses any Sentinel reported in the window.
    addresses = (f"count {BY} (count by ({DEPLOYMENT}, {TEAM}, master_name, master_address) "
                 f"(max_over_time(redis_sentinel_master_sentinels[{spec.sentinel_failover_window}])))")
    return (
        RuleGroup(
            "sentinel-alerts",
            (
                Alert("RedisSentinelQuorumLost", f"{quorum} == 0", "1m", "critical",
                      "Sentinels cannot fail over {{ $labels.deployment }}",
                      f"No Sentinel of {DEP} reaches quorum and a majority (SENTINEL CKQUORUM); if the master "
                      "fails now, nothing promotes a replica."),
                Alert("RedisSentinelMasterDown", f'max {BY} (redis_sentinel_master_status{{master_status!="ok"}}) == 1',
                      "1m", "critical", "Sentinels see the master of {{ $labels.deployment }} down",
                      f"A Sentinel of {DEP} has flagged the master down for a minute and no failover has replaced "
                      "it; writes fail."),
                # A failover is over in seconds; knowing it happened explains
                # the blip clients saw and prompts a look at the old master.
                Alert("RedisSentinelFailover", f"{addresses} > 1", "0m", "info",
                      "Sentinel failover in {{ $labels.deployment }}",
                      f"{DEP} had {COUNT} different masters in the last "
                      f"{spec.sentinel_failover_window}."),
                Alert("RedisSentinelTilt", "redis_sentinel_tilt == 1", "5m", "warning",
                      "Sentinel {{ $labels.pod }} is in TILT mode",
                      "Sentinel {{ $labels.pod }} of deployment {{ $labels.deployment }} saw its clock jump or "
                      "stall and stopped acting for 30s at a time; it cannot vote in a failover."),
            ),
        ),
    )
