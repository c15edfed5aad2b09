"""Container image references: every ``*image`` key of the stack config.

Accepted: ``[registry[:port]/]name:tag``, ``name@sha256:<64 hex>`` and
``name:tag@sha256:<64 hex>`` (the tag is then a note for people; the kubelet
pulls by digest). Refused, naming the key: anything the container runtime
could not parse, a digest that is not sha256 with 64 lowercase hex digits,
and an image without a digest whose tag is missing or ``latest`` (the same
config would deploy whatever was pushed last, and nodes that cached an older
``latest`` keep running it). A tag without an exact ``X.Y.Z`` version and no
digest (``redis:7.2-alpine``) is legal but floats: a ``config warning``
(``floating_images``). The production choice is a digest (docs/security.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel

# The grammar of github.com/distribution/reference (without IPv6 hosts).
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# An exact release: major.minor.patch somewhere in the tag (v1.62.0, 7.2.11-alpine).
_EXACT = re.compile(r"(?<![0-9.])v?[0-9]+\.[0-9]+\.[0-9]+(?![0-9])")
_FORMS = "[registry/]name:tag, name@sha256:<64 hex> or name:tag@sha256:<64 hex>"


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest); raises ValueError when ``ref`` is no image reference."""
    rest, at, digest_text = ref.partition("@")
    digest = digest_text if at else None
    tag = None
    # A ':' after the last '/' starts the tag; one before it is a registry port.
    if ":" in rest.rsplit("/", 1)[-1]:
        rest, tag = rest.rsplit(":", 1)
    if digest is not None and not _DIGEST.match(digest):
        raise ValueError(f"{ref!r} has a malformed digest {digest!r}: expected sha256: and 64 lowercase hex digits")
    if not _NAME.match(rest) or len(rest) > 255 or (tag is not None and not _TAG.match(tag)):
        raise ValueError(f"{ref!r} is not an image reference ({_FORMS})")
    return rest, tag, digest


def check_image(ref: str) -> str:
    _, tag, digest = split_image(ref)
    if digest is None and tag in (None, "latest"):
        what = "has no tag (the runtime pulls :latest)" if tag is None else "uses the tag latest"
        raise ValueError(f"{ref!r} {what}: the same config would deploy whatever was pushed last; "
                         "pin an exact version tag or a digest (@sha256:...)")
    return ref


def floats(ref: str) -> bool:
    """True when the image can change under the same config: no digest and a
    tag without an exact version."""
    _, tag, digest = split_image(ref)
    return digest is None and not _EXACT.search(tag or "")


def exact_version(ref: str) -> tuple[int, int, int] | None:
    """The X.Y.Z release a tag names (``7.0.15`` of ``redis:7.0.15-alpine``);
    None without one."""
    _, tag, _ = split_image(ref)
    found = _EXACT.search(tag or "")
    if found is None:
        return None
    major, minor, patch = found.group(0).lstrip("v").split(".")
    return int(major), int(minor), int(patch)


def image_name(ref: str) -> str:
    """The repository's last path component (``redis`` of ``docker.io/library/redis:7``)."""
    return split_image(ref)[0].rsplit("/", 1)[-1]


ImageRef = Annotated[str, AfterValidator(check_image)]


def image_fields(model: BaseModel, path: str = "") -> Iterator[tuple[str, str]]:
    """(key path as written in the stack file, value) of every ``*image`` field
    set in ``model`` and the models it holds."""
    for name, field in type(model).model_fields.items():
        key = f"{path}.{field.alias or name}" if path else (field.alias or name)
        yield from _values(key, name, getattr(model, name))


def _values(key: str, name: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, BaseModel):
        yield from image_fields(value, key)
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from _values(f"{key}[{i}]", name, item)
    elif isinstance(value, str) and name.endswith("image"):
        yield key, value
