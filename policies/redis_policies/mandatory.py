"""The pack's resource policies all refuse a deployment that breaks them:
a warning on a missing limit or an unpinned image is read once and ignored."""

from __future__ import annotations

from collections.abc import Callable

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy


def resource_policy(name: str, description: str, validate: Callable) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(name=name, description=description, validate=validate,
                                    enforcement_level=EnforcementLevel.MANDATORY)
