"""Shared pieces of the config models."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class StrictModel(BaseModel):
    """Unknown keys are errors; YAML keys are camelCase like every Pulumi config."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )


def dns_label(max_len: int):
    def check(value: str) -> str:
        if len(value) > max_len:
            raise ValueError(f"{value!r} is longer than {max_len} characters")
        if not _DNS_LABEL.match(value):
            raise ValueError(
                f"{value!r} is not a valid DNS-1123 label (lowercase letters, digits and '-', "
                "starting and ending with a letter or digit)"
            )
        return value

    return AfterValidator(check)


# Namespaces and most names: a DNS-1123 label.
DnsLabel = Annotated[str, dns_label(63)]
# Deployment names get suffixes (-headless, -sentinel, -haproxy-read, pod ordinals)
# and end up in StatefulSet pod hostnames, which must stay within 63 characters.
DeploymentName = Annotated[str, dns_label(30)]
