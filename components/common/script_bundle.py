"""Pod scripts shipped as real .sh files in a package and mounted together
at ``SCRIPTS_DIR`` (the scripts source their libraries from their own
directory): the ConfigMap data, where the tests find a script, and the
container command that runs one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from components.common.redis_contract import SCRIPTS_DIR


@dataclass(frozen=True)
class ScriptBundle:
    directory: Path
    names: tuple[str, ...]
    # Names the bundle in the error for an unknown script.
    kind: str

    def path(self, name: str) -> Path:
        """Where ``name`` lives in its package (tests run it from there)."""
        if name not in self.names:
            raise KeyError(f"unknown {self.kind} script {name!r}")
        return self.directory / name

    def text(self, name: str) -> str:
        return self.path(name).read_text(encoding="utf-8")

    def data(self) -> dict[str, str]:
        """ConfigMap data: every script by file name."""
        return {name: self.text(name) for name in self.names}

    def command(self, name: str, *args: str) -> list[str]:
        """Container command running script ``name`` from the scripts mount."""
        self.path(name)
        return ["sh", f"{SCRIPTS_DIR}/{name}", *args]
