"""Warnings: what is legal but likely wrong. One ``config warning: ...``
line each; the program still runs. Printed by the offline render and the
real program alike (``stacks.config.check``)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

from stacks.config.backup import NoBackup
from stacks.config.errors import PROJECT, config_warning
from stacks.config.images import exact_version, floats, image_fields, image_name

if TYPE_CHECKING:
    from stacks.config.model import StackConfig

# Settings only one mode reads.
_MODE_ONLY = {"cluster": ("sentinel", "haproxy"), "sentinel": ("cluster",)}


def _ignored_by_mode(cfg: "StackConfig") -> Iterator[str]:
    for i, dep in enumerate(cfg.deployments):
        for key in _MODE_ONLY[dep.mode]:
            if key in dep.model_fields_set:
                yield config_warning(f"deployments[{i}].{key}", f"is ignored: the deployment's mode is {dep.mode}")


def _unknown_teams(cfg: "StackConfig") -> Iterator[str]:
    teams = {d.team for d in cfg.deployments}
    for i, route in enumerate(cfg.monitoring.alertmanager.team_routes):
        if route.team not in teams:
            yield config_warning(
                f"monitoring.alertmanager.teamRoutes[{i}].team",
                f"no deployment has team {route.team!r} (teams: {', '.join(sorted(teams)) or 'none'}); the route never matches",
            )


def _ranges_without_load_balancer(cfg: "StackConfig") -> Iterator[str]:
    sections = [(f"deployments[{i}].haproxy", d.haproxy) for i, d in enumerate(cfg.deployments) if d.mode == "sentinel"]
    if cfg.monitoring.enabled:
        sections += [("monitoring.prometheus", cfg.monitoring.prometheus), ("monitoring.grafana", cfg.monitoring.grafana)]
    if cfg.federation.enabled:
        sections.append(("federation", cfg.federation))
        if cfg.federation.grafana.enabled:
            sections.append(("federation.grafana", cfg.federation.grafana))
    for path, section in sections:
        if section.load_balancer_source_ranges and section.service_type != "LoadBalancer":
            yield config_warning(f"{path}.loadBalancerSourceRanges",
                                 f"is ignored: serviceType is {section.service_type}, not LoadBalancer")


def _alert_delivery(cfg: "StackConfig", secret_keys: Collection[str]) -> Iterator[str]:
    if not cfg.monitoring.enabled:
        return
    am = cfg.monitoring.alertmanager
    if am.slack_webhook_url is None:
        yield config_warning("monitoring.alertmanager.slackWebhookUrl",
                             "is not set: alerts are routed but not delivered anywhere")
    elif f"{PROJECT}:monitoring" not in secret_keys:
        yield config_warning(
            "monitoring.alertmanager.slackWebhookUrl",
            "is in plain text in the stack file; anyone who can read the repository can post to the channel "
            "(pulumi config set --secret --path monitoring.alertmanager.slackWebhookUrl ...)",
        )


def _backup_settings_without_backup(cfg: "StackConfig") -> Iterator[str]:
    if isinstance(cfg.backup, NoBackup) or not cfg.backup.enabled:
        for i, dep in enumerate(cfg.deployments):
            if dep.backup.schedule is not None:
                yield config_warning(f"deployments[{i}].backup.schedule", "is ignored: the stack has no backup (backup.kind none or disabled)")
        if "backup" in cfg.monitoring.model_fields_set and cfg.monitoring.backup.enabled:
            yield config_warning("monitoring.backup", "is ignored: the stack has no backup store (backup.kind none or disabled)")


def _floating_images(cfg: "StackConfig") -> Iterator[str]:
    for key, ref in image_fields(cfg):
        if floats(ref):
            yield config_warning(key, f"{ref!r} is a floating tag (no exact X.Y.Z version, no digest): the image can "
                                      "change under the same config; pin a patch version or a digest (@sha256:...)")


# Redis releases with redis/redis#12564: a master keeps, in memory only, a
# mark "this slot's owner no longer claims it" that nothing clears; after a
# resharding, a failover to such a node can leave a slot no master serves and
# drop its keys on the new master. Fixed in 7.2.4.
_SLOT_CLAIM_BUG = ((7, 0, 13), (7, 0, 15)), ((7, 2, 0), (7, 2, 3))


def _redis_with_slot_claim_bug(cfg: "StackConfig") -> Iterator[str]:
    for i, dep in enumerate(cfg.deployments):
        version = exact_version(dep.image)
        if dep.mode != "cluster" or image_name(dep.image) != "redis" or version is None:
            continue
        if any(low <= version <= high for low, high in _SLOT_CLAIM_BUG):
            yield config_warning(
                f"deployments[{i}].image",
                f"{dep.image!r} is a Redis release with redis/redis#12564 (7.0.13-7.0.15, 7.2.0-7.2.3): after a "
                "resharding, a failover can leave a slot no master serves and drop its keys on the new master; "
                "the scripts work around it (docs/operations.md, \"A slot no master serves\"); use 7.2.4 or later",
            )


def config_warnings(cfg: "StackConfig", secret_keys: Collection[str]) -> list[str]:
    out: list[str] = []
    for rule in (_ignored_by_mode, _unknown_teams, _ranges_without_load_balancer, _backup_settings_without_backup,
                 _floating_images, _redis_with_slot_claim_bug):
        out += rule(cfg)
    out += _alert_delivery(cfg, secret_keys)
    return out
