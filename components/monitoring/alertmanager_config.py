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
    # A Slack webhook posts to one channel; a team with its own channel has
    # its own webhook Secret. None: the default webhook file.
    api_url_file: str | None = None


@dataclass(frozen=True)
class AlertmanagerSpec:
    default_channel: str = "#redis-platform"
    critical_channel: str = "#redis-platform-critical"
    api_url_file: str = DEFAULT_WEBHOOK_FILE
    critical_api_url_file: str | None = None
    teams: tuple[TeamRoute, ...] = ()
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


def build_alertmanager_config(spec: AlertmanagerSpec) -> dict:
    teams = [t.team for t in spec.teams]
    if len(teams) != len(set(teams)):
        raise ValueError(f"duplicate team routes: {teams}")
    receivers = [
        _slack("platform", spec.default_channel, spec.api_url_file),
        _slack("platform-critical", spec.critical_channel, spec.critical_api_url_file or spec.api_url_file),
    ]
    routes = []
    for t in spec.teams:
        name = f"team-{t.team}"
        receivers.append(_slack(name, t.channel, t.api_url_file or spec.api_url_file))
        routes.append(
            {
                "receiver": name,
                "matchers": [f'{L.TEAM}="{t.team}"'],
                # Critical team alerts also reach the platform's on-call channel.
                "continue": True,
                "routes": [{"receiver": name, "matchers": ['severity="critical"'],
                            "repeat_interval": spec.critical_repeat_interval}],
            }
        )
    routes.append(
        {"receiver": "platform-critical", "matchers": ['severity="critical"'],
         "repeat_interval": spec.critical_repeat_interval}
    )
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
        "inhibit_rules": [
            {
                # The critical form of an alert makes its warning form noise.
                "source_matchers": ['severity="critical"'],
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
        ],
        "receivers": receivers,
    }


def render_alertmanager_config(spec: AlertmanagerSpec) -> str:
    return yaml.safe_dump(build_alertmanager_config(spec), sort_keys=False, width=1000)
