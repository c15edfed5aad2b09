"""Args dataclasses filled from an object holding the same values under the
same names: a config section (stacks/), or a component's own args handed on
to a child's."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def args_from(section: Any, args_type: type[T], **given: Any) -> T:
    """``args_type`` (a dataclass) with every field ``section`` has by the same
    name (a field or a property), and ``given`` for the rest or the renamed.
    A required field neither supplies fails here, as a missing keyword would."""
    names = [f.name for f in dataclasses.fields(args_type) if f.name not in given and hasattr(section, f.name)]
    return args_type(**{name: getattr(section, name) for name in names}, **given)
