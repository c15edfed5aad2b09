"""alertmanager.yml renderer.

Slack incoming-webhook URLs are secrets: each receiver names a file
(``api_url_file``) that the pod mounts from a Kubernetes Secret, so the URL
never appears in the ConfigMap.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from components.monitoring import labels as L

DEFAULT_WEBHOOK_FILE = f"{L.ALERTMANAGER_SECRETS_DIR}/slack-webhook-url"

_TITLE = '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }})'
_TEXT = (
    "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n"
    "deployment={{ .Labels.deployment }} team={{ .Labels.team }} environment={{ .Labels.environment }}\n{{ end }}"
)


@dataclass(frozen=True)
class TeamRoute:
    """Alerts labelled team=<team> go to the team's Slack channel."""

    team: str
    channel: str
    # A Slack webhook posts to one channel, so a team channel needs the
    # team's own webhook. None: the team's alerts go to the platform's
    # receivers (its channel would never see them anyway).
    api_url_file: str | None = None


@dataclass(frozen=True)
class Pager:
    """Pages for every critical alert, once, beside the Slack receivers."""

    kind: str  # "pagerduty" (Events API v2 routing key) or "opsgenie" (API key)
    key_file: str

    def __post_init__(self) -> None:
        if self.kind not in PAGER_KINDS:
            raise ValueError(f"pager kind {self.kind!r} not in {PAGER_KINDS}")


PAGER_KINDS = ("pagerduty", "opsgenie")


@dataclass(frozen=True)
class AlertmanagerSpec:
    default_channel: str = "#redis-platform"
    critical_channel: str = "#redis-platform-critical"
    api_url_file: str = DEFAULT_WEBHOOK_FILE
    critical_api_url_file: str | None = None
    teams: tuple[TeamRoute, ...] = ()
    pager: Pager | None = None
    group_by: tuple[str, ...] = ("alertname", "environment", L.DEPLOYMENT)
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    critical_repeat_interval: str = "1h"
    resolve_timeout: str = "5m"


def _slack(name: str, channel: str, api_url_file: str) -> dict:
    return {
        "name": name,
        "slack_configs": [
            {
                "api_url_file": api_url_file,
                "channel": channel,
                "send_resolved": True,
                "title": _TITLE,
                "text": _TEXT,
            }
        ],
    }


def _pager(pager: Pager) -> dict:
    if pager.kind == "pagerduty":
        config = {"routing_key_file": pager.key_file, "send_resolved": True,
                  "description": _TITLE, "details": {"summary": "{{ .CommonAnnotations.summary }}"}}
        return {"name": "pager", "pagerduty_configs": [config]}
    return {"name": "pager", "opsgenie_configs": [{"api_key_file": pager.key_file, "send_resolved": True,
                                                   "message": _TITLE, "priority": "P1"}]}


CRITICAL = 'severity="critical"'


def _team_route(spec: AlertmanagerSpec, t: TeamRoute) -> dict:
    if t.api_url_file is None:
        # Same receivers as an unlabelled alert: one notification each, in
        # the platform's channels.
        receiver, critical, cont = "platform", "platform-critical", False
    else:
        # A critical team alert also reaches the platform's critical channel:
        # another webhook, so another channel, never the same one twice.
        receiver = critical = f"team-{t.team}"
        cont = True
    route = {"receiver": receiver, "matchers": [f'{L.TEAM}="{t.team}"'],
             "routes": [{"receiver": critical, "matchers": [CRITICAL], "repeat_interval": spec.critical_repeat_interval}]}
    if cont:
        route["continue"] = True
    return route


def inhibit_rules() -> list[dict]:
    return [
        {
            # The critical form of an alert makes its warning form noise.
            "source_matchers": [CRITICAL],
            "target_matchers": ['severity="warning"'],
            "equal": ["alertname", L.DEPLOYMENT],
        },
        {
            # A deployment whose Redis is down also trips replication,
            # memory and master alerts; only the cause is sent.
            "source_matchers": ['alertname="RedisDown"'],
            "target_matchers": ['alertname=~"RedisReplicationBroken|RedisNoMaster|HAProxyNoMasterReachable"'],
            "equal": [L.DEPLOYMENT],
        },
        {
            # A cluster that is down says it all; each node's slot and
            # replication alerts would repeat it per pod.
            "source_matchers": ['alertname="RedisClusterStateNotOk"'],
            "target_matchers": ['alertname=~"RedisClusterSlotsFailing|RedisClusterSlotsUnassigned|'
                                'RedisReplicationBroken"'],
            "equal": [L.DEPLOYMENT],
        },
        {
            # Sentinels that see the master down explain HAProxy's empty
            # write port and the missing master.
            "source_matchers": ['alertname="RedisSentinelMasterDown"'],
            "target_matchers": ['alertname=~"HAProxyNoMasterReachable|RedisNoMaster|RedisReplicationBroken"'],
            "equal": [L.DEPLOYMENT],
        },
    ]


def build_alertmanager_config(spec: AlertmanagerSpec) -> dict:
    teams = [t.team for t in spec.teams]
    if len(teams) != len(set(teams)):
        raise ValueError(f"duplicate team routes: {teams}")
    receivers = [
        _slack("platform", spec.default_channel, spec.api_url_file),
        _slack("platform-critical", spec.critical_channel, spec.critical_api_url_file or spec.api_url_file),
    ]
    routes = []
    if spec.pager is not None:
        receivers.append(_pager(spec.pager))
        # First and continuing: every critical alert pages once, then is
        # routed to its channel as usual.
        routes.append({"receiver": "pager", "matchers": [CRITICAL], "continue": True,
                       "repeat_interval": spec.critical_repeat_interval})
    for t in spec.teams:
        if t.api_url_file is not None:
            receivers.append(_slack(f"team-{t.team}", t.channel, t.api_url_file))
        routes.append(_team_route(spec, t))
    routes.append({"receiver": "platform-critical", "matchers": [CRITICAL],
                   "repeat_interval": spec.critical_repeat_interval})
    return {
        "global": {"resolve_timeout": spec.resolve_timeout},
        "route": {
            "receiver": "platform",
            "group_by": list(spec.group_by),
            "group_wait": spec.group_wait,
            "group_interval": spec.group_interval,
            "repeat_interval": spec.repeat_interval,
            "routes": routes,
        },
        "inhibit_rules": inhibit_rules(),
        "receivers": receivers,
    }


def render_alertmanager_config(spec: AlertmanagerSpec) -> str:
    return yaml.safe_dump(build_alertmanager_config(spec), sort_keys=False, width=1000)
