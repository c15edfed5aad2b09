"""One-line configuration errors that name the key path."""

from __future__ import annotations

from pydantic import ValidationError


class ConfigError(Exception):
    """A bad stack config; ``str()`` is the single line shown to the user."""


def _path(project: str, loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "tagged-union[")) or part in {"nfs", "ebs", "existing", "aws", "s3", "none"}:
            # pydantic adds union branch names to the location; users never wrote them
            continue
        else:
            out += f".{part}" if out else part
    return f"{project}:{out}" if out else project


def from_validation_error(project: str, err: ValidationError) -> ConfigError:
    """Turn pydantic's report into one line: the first problem, plus how many more."""
    problems = err.errors(include_url=False)
    first = problems[0]
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; see the config reference in README.md)"
    elif first["type"] == "missing":
        msg = "required key is missing"
    msg = msg.removeprefix("Value error, ")
    path = _path(project, first["loc"])
    if msg.startswith("[") and ": " in msg:
        # A list validator names the element it found wrong.
        suffix, msg = msg.split(": ", 1)
        path += suffix
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    return ConfigError(f"config error: {path}: {msg}{more}")


PROJECT = "redis-platform"


def config_error(path: str, message: str) -> ConfigError:
    """A problem found after the per-field pass, at ``path`` (``a.b[i].c``)."""
    return ConfigError(f"config error: {PROJECT}:{path}: {message}")


def config_warning(path: str, message: str) -> str:
    """A line for what is legal but likely wrong."""
    return f"config warning: {PROJECT}:{path}: {message}"
