"""Shared pieces of the config models."""

from __future__ import annotations

import re
from typing import Annotated, Any, Callable

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


def parsed(parse: Callable[[str], Any], refuse: Callable[[Any], bool] | None = None, why: str = "") -> AfterValidator:
    """A string some consumer parses: ``parse`` is that consumer's grammar
    (it raises ValueError on what the consumer refuses); ``refuse`` turns away
    a parsed value the grammar allows but the consumer would misread, saying
    ``why``. The string itself is kept as written."""
    def check(value: str) -> str:
        result = parse(value)
        if refuse is not None and refuse(result):
            raise ValueError(f"{value!r} {why}")
        return value

    return AfterValidator(check)


def matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    """A string ``pattern`` matches; otherwise "<value> is not <what>"."""
    return parsed(pattern.match, lambda found: found is None, f"is not {what}")


# Namespaces and most names: a DNS-1123 label.
DnsLabel = Annotated[str, dns_label(63)]
# Deployment names get suffixes (-headless, -sentinel, -haproxy-read, pod ordinals)
# and end up in StatefulSet pod hostnames, which must stay within 63 characters.
DeploymentName = Annotated[str, dns_label(30)]


_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _label_key(value: str) -> str:
    prefix, _, name = value.rpartition("/")
    if not name or len(name) > 63 or not _LABEL_NAME.match(name):
        raise ValueError(f"{value!r} is not a label key: the name part must be 1-63 letters, digits, '-', '_' or '.', "
                         "starting and ending with a letter or digit")
    if "/" in value and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        raise ValueError(f"{value!r} is not a label key: the prefix before '/' must be a DNS subdomain")
    return value


# A Kubernetes label key: [prefix/]name, as the API server validates it.
LabelKey = Annotated[str, AfterValidator(_label_key)]


def dns_subdomain():
    """A Kubernetes object name (DNS-1123 subdomain): what most resource names may be."""
    def check(value: str) -> str:
        if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
            raise ValueError(f"{value!r} is not a valid object name (lowercase letters, digits, '-' and '.', at most 253)")
        return value

    return AfterValidator(check)
