"""Policies on what leaves the cluster or sits in plain text: Services, ConfigMaps."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs

from .k8s import CONFIG_MAP_TYPE, SERVICE_TYPE, describe, get, items, mapping
from .mandatory import resource_policy

_OPEN_RANGES = {"0.0.0.0/0", "::/0"}
# Key names that say "this is a credential"; a ConfigMap is readable by anyone
# who can read the namespace and is shown in full in diffs and `kubectl describe`.
SECRET_KEY_NAME = re.compile(
    r"passw(or)?d|passwd|secret|token|api[-_]?key|credential|private[-_]?key|\.key$|auth[-_]?pass", re.IGNORECASE
)
# Lines of redis.conf / sentinel.conf that would carry a password literally.
# A value starting with $ is a shell variable in a script, filled in at start.
_CONF_SECRET_LINE = re.compile(r"^\s*(requirepass|masterauth|sentinel\s+auth-pass\s+\S+)\s+(?P<value>\S+)", re.MULTILINE)
_SLACK_WEBHOOK = re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9]")


def validate_load_balancer_ranges(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != SERVICE_TYPE or get(args.props, "spec", "type") != "LoadBalancer":
        return
    what = describe(args.props, args.name)
    ranges = [str(r) for r in items(get(args.props, "spec", "loadBalancerSourceRanges"))]
    if not ranges:
        report_violation(
            f"{what}: type LoadBalancer without spec.loadBalancerSourceRanges is reachable from anywhere", None
        )
    elif _OPEN_RANGES & set(ranges):
        report_violation(f"{what}: loadBalancerSourceRanges {ranges} include the whole internet", None)


def config_map_problems(data: Mapping) -> list[str]:
    problems = []
    for key, value in data.items():
        if SECRET_KEY_NAME.search(str(key)):
            problems.append(f"key '{key}' is named like a credential")
        if not isinstance(value, str):
            continue
        for match in _CONF_SECRET_LINE.finditer(value):
            if not match.group("value").lstrip("\"'").startswith("$"):
                problems.append(f"key '{key}' sets {match.group(1).split()[0]} to a literal value")
        if _SLACK_WEBHOOK.search(value):
            problems.append(f"key '{key}' holds a Slack webhook URL (the URL is the credential)")
    return problems


def validate_no_secrets_in_config_maps(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != CONFIG_MAP_TYPE:
        return
    what = describe(args.props, args.name)
    data = {**mapping(get(args.props, "data")), **mapping(get(args.props, "binaryData"))}
    for problem in config_map_problems(data):
        report_violation(f"{what}: {problem}; put it in a Secret and pass it by env var or mounted file", None)


load_balancer_ranges = resource_policy(
    "load-balancer-source-ranges",
    "A Service of type LoadBalancer restricts loadBalancerSourceRanges (and not to 0.0.0.0/0).",
    validate_load_balancer_ranges,
)
no_secrets_in_config_maps = resource_policy(
    "no-secrets-in-configmaps",
    "ConfigMaps hold no credential: no key named like one, no literal requirepass/masterauth/auth-pass.",
    validate_no_secrets_in_config_maps,
)
