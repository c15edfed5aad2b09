"""Run the real program under Pulumi's mock runtime and record what it registers.

Used by the offline render and by the unit tests. Each run gets its own event
loop and leaves the global runtime settings as it found them.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.rpc_manager import RPCManager
from pulumi.runtime.stack import run_pulumi_func

from stacks.config import PROJECT


@dataclass
class Recorded:
    typ: str
    name: str
    inputs: dict[str, Any]

    @property
    def is_kubernetes(self) -> bool:
        return self.typ.startswith("kubernetes:")

    @property
    def manifest(self) -> dict[str, Any]:
        """The Kubernetes object as it would be applied."""
        return self.inputs


@dataclass
class Run:
    resources: list[Recorded]
    outputs: dict[str, Any]
    # Every value the mocks generated for a random secret; none may leak.
    generated_secrets: list[str] = field(default_factory=list)
    # What the program logged with pulumi.log.warn, in order.
    warnings: list[str] = field(default_factory=list)

    def kubernetes(self) -> list[dict[str, Any]]:
        return [r.manifest for r in self.resources if r.is_kubernetes]

    def of_type(self, typ: str) -> list[Recorded]:
        return [r for r in self.resources if r.typ == typ]

    def k8s(self, kind: str, name: str | None = None) -> list[dict[str, Any]]:
        return [
            m for m in self.kubernetes()
            if m.get("kind") == kind and (name is None or m.get("metadata", {}).get("name") == name)
        ]


def _fake_outputs(typ: str, name: str, inputs: dict[str, Any], generated: list[str]) -> dict[str, Any]:
    out = dict(inputs)
    if typ == "random:index/randomPassword:RandomPassword":
        # Distinct per run and per resource, so a leak can be searched for.
        value = "mock-" + secrets.token_hex(16)
        generated.append(value)
        out["result"] = value
    elif typ.startswith("aws:iam/role:Role"):
        out["arn"] = f"arn:aws:iam::123456789012:role/{name}"
        out["name"] = name
    elif typ.startswith("aws:s3/bucket"):
        bucket = inputs.get("bucket") or name
        out["bucket"] = bucket
        out["arn"] = f"arn:aws:s3:::{bucket}"
    return out


_SECRET_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270"


def plain(value: Any) -> Any:
    """Inputs as the API server would see them: secret wrappers removed, the
    protobuf doubles that stand for integers turned back into ints, keys sorted
    so that a render is byte-for-byte repeatable."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) == _SECRET_SIG_VALUE:
            return plain(value.get("value"))
        return {k: plain(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


STACK_REFERENCE = "pulumi:pulumi:StackReference"


class _Recorder(logging.Handler):
    def __init__(self, warnings: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.lines = warnings

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            self.lines.append(record.getMessage())


class RecordingMocks(pulumi.runtime.Mocks):
    """``stack_outputs`` maps a referenced stack's name (``org/project/stack``)
    to the outputs its StackReference reads; an unknown stack has none."""

    def __init__(self, stack_outputs: dict[str, dict[str, Any]] | None = None) -> None:
        self.resources: list[Recorded] = []
        self.generated_secrets: list[str] = []
        self.stack_outputs = dict(stack_outputs or {})
        self.warnings: list[str] = []
        # The mock engine logs through this; a logger of its own, so nothing
        # reaches the root logger's handlers and every run records only its lines.
        self.logger = logging.getLogger(f"{__name__}.run{id(self)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)
        self.logger.handlers = [_Recorder(self.warnings)]

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = plain(dict(args.inputs))
        self.resources.append(Recorded(args.typ, args.name, inputs))
        if args.typ == STACK_REFERENCE:
            stack = inputs.get("name", args.name)
            return stack, {"name": stack, "outputs": self.stack_outputs.get(stack, {}), "secretOutputNames": []}
        return f"{args.name}-id", _fake_outputs(args.typ, args.name, inputs, self.generated_secrets)

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


SECRET_OUTPUT = "[secret]"


async def _resolve(value: Any) -> Any:
    """Plain values of stack outputs; a Pulumi secret shows as SECRET_OUTPUT."""
    if isinstance(value, pulumi.Output):
        if await value.is_secret():
            return SECRET_OUTPUT
        return await _resolve(await value.future())
    if isinstance(value, dict):
        return {k: await _resolve(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [await _resolve(v) for v in value]
    return value


def _run(
    program: Callable[[], dict[str, Any]], config: dict[str, str], secret_keys: set[str], stack: str, mocks: RecordingMocks
) -> Run:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    outputs: dict[str, Any] = {}
    # The runtime's pending-output set and RPC manager are plain attributes
    # shared by every context; a failed run would leave tasks of its closed
    # loop in them for the next run to await.
    pulumi_settings.SETTINGS.outputs = set()
    pulumi_settings.SETTINGS.rpc_manager = RPCManager()
    try:
        pulumi.runtime.set_all_config(config, sorted(secret_keys))
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, logger=mocks.logger)

        async def body() -> None:
            raw = program()
            outputs.update(await _resolve(raw or {}))

        loop.run_until_complete(run_pulumi_func(body))
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    return Run(mocks.resources, outputs, mocks.generated_secrets, mocks.warnings)


def run_program(
    program: Callable[[], dict[str, Any]],
    config: dict[str, str],
    secret_keys: set[str] | None = None,
    stack: str = "test",
    mocks: RecordingMocks | None = None,
) -> Run:
    """Run ``program`` (which returns its outputs) with ``config`` (``project:key`` -> str).

    The runtime keeps its settings, config and root resource in context
    variables; running in a copied context leaves the caller's untouched.
    """
    return contextvars.copy_context().run(
        _run, program, config, set(secret_keys or ()), stack, mocks or RecordingMocks()
    )
