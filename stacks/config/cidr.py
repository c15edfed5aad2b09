"""CIDR ranges as Go's ``net.ParseCIDR`` reads them, which is what the
Kubernetes API server and cloud load balancers apply to
``loadBalancerSourceRanges``.

Go refuses what Python's ``ipaddress`` would quietly accept: a bare address
without ``/bits``, a netmask such as ``/255.0.0.0``, IPv4 octets with leading
zeros, an IPv6 zone (``%eth0``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator

_BITS = re.compile(r"^[0-9]+$")
HINT = "(examples: 10.0.0.0/8, 203.0.113.7/32, 2001:db8::/32)"


def check_cidr(value: str) -> str:
    address, slash, bits = value.partition("/")
    if not slash:
        raise ValueError(f"{value!r} is not a CIDR range: it needs /<prefix length> {HINT}")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{value!r} is not a CIDR range: {address!r} is not an IP address {HINT}") from None
    if "%" in address:
        raise ValueError(f"{value!r}: an IPv6 zone is not allowed in a CIDR range {HINT}")
    if not _BITS.match(bits) or int(bits) > ip.max_prefixlen:
        raise ValueError(f"{value!r}: the prefix length must be a number from 0 to {ip.max_prefixlen} {HINT}")
    return value


Cidr = Annotated[str, AfterValidator(check_cidr)]
