"""Child of section 5: ``python -m bench.render_child N`` renders a stack with
N Redis deployments under the mock runtime, as ``python -m stacks.render`` does,
and prints what it registered as one JSON object."""

from __future__ import annotations

import json
import sys

from stacks.harness import run_program
from stacks.program import main as program_main


def stack_values(deployments: int) -> dict:
    """A valid stack config with ``deployments`` size-small deployments, alternating modes."""
    return {
        "environment": "bench",
        "clusterName": "bench",
        "storage": {"kind": "existing", "storageClassName": "standard"},
        "deployments": [
            {"name": f"team{i:02d}-redis", "team": f"team{i:02d}", "mode": ("cluster", "sentinel")[i % 2], "size": "small"}
            for i in range(deployments)
        ],
    }


def runtime_config(values: dict) -> dict[str, str]:
    """As the engine passes config: ``project:key`` -> string, objects as JSON."""
    return {f"redis-platform:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def main(argv: list[str]) -> int:
    n = int(argv[0])
    run = run_program(program_main, runtime_config(stack_values(n)))
    print(json.dumps({"deployments": n, "resources": len(run.resources), "kubernetes_objects": len(run.kubernetes())}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
