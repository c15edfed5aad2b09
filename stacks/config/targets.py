"""Scrape targets: ``host:port`` as Prometheus puts it in ``__address__``.

Prometheus refuses a target containing ``/`` when it loads the config and
fails every scrape of a target whose port is not a number in 1-65535; a
scheme or path belongs in ``scheme`` and ``metricsPath``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator

# RFC 1123 host names (letters, digits, '-', '.', and '_' which DNS SRV-style names use).
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$")
HINT = "(host[:port], e.g. app.web.svc:8000 or 10.0.0.5:9100; the scheme and path have their own keys)"


def split_target(value: str) -> tuple[str, int | None]:
    if "/" in value:
        raise ValueError(f"{value!r} is not host[:port]: a scheme or path does not belong in a target {HINT}")
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep:
            raise ValueError(f"{value!r}: unclosed '[' {HINT}")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{value!r}: {host!r} is not an IPv6 address {HINT}") from None
        if rest and not rest.startswith(":"):
            raise ValueError(f"{value!r} is not host:port {HINT}")
        port = rest[1:] if rest else None
    else:
        if value.count(":") > 1:
            raise ValueError(f"{value!r}: an IPv6 address needs brackets, e.g. [2001:db8::1]:9100 {HINT}")
        host, sep, port_text = value.partition(":")
        port = port_text if sep else None
        if not _HOST.match(host):
            raise ValueError(f"{value!r}: {host!r} is not a host name or IP address {HINT}")
    if port is None:
        return host, None
    if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r}: the port must be a number from 1 to 65535 {HINT}")
    return host, int(port)


def _check(value: str) -> str:
    split_target(value)
    return value


Target = Annotated[str, AfterValidator(_check)]
