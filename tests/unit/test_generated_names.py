"""The names predicted from config (stacks/config/names.py) cover every
object a deployment really creates, for every shape of deployment, so the
collision check cannot miss one."""

from __future__ import annotations

import pytest

from stacks.config import load_stack_config
from stacks.config.names import NAMESPACE_OBJECTS, deployment_objects, matches
from tests.unit.conftest import BASE_CONFIG, run_with

S3 = {"kind": "s3", "endpoint": "http://minio:9000", "bucketName": "backups", "credentialsSecret": "s3-creds"}
MOVE = {"nodeSelector": {"pool": "new"}, "step": "replicas"}
SHAPES = {
    "cluster": {"mode": "cluster"},
    "sentinel": {"mode": "sentinel"},
    "cluster-migrating": {"mode": "cluster", "generation": 1, "migration": MOVE},
    "sentinel-migrating": {"mode": "sentinel", "migration": MOVE},
    "cluster-no-backup": {"mode": "cluster", "backup": {"enabled": False}},
    "sentinel-tls": {"mode": "sentinel", "tls": {"enabled": True, "issuer": {"name": "ca"}}},
}


@pytest.mark.parametrize("shape", SHAPES)
def test_every_object_of_a_deployment_is_predicted(shape):
    values = BASE_CONFIG | {"redisNamespace": "team-a", "backup": S3, "monitoring": {"enabled": False},
                            "deployments": [{"name": "orders", "team": "web", "size": "small"} | SHAPES[shape]]}
    cfg = load_stack_config(values)
    predicted = list(deployment_objects(cfg.deployments[0]))
    run = run_with(values)
    made = [(m["kind"], m["metadata"]["name"]) for m in run.kubernetes()
            if m["metadata"].get("namespace") == "team-a"]
    assert made
    # The namespace's own objects cannot collide with a deployment's: only their names hold a dot.
    assert not any("." in p for _, p in predicted) and all("." in n for _, n in NAMESPACE_OBJECTS)
    missing = [(kind, name) for kind, name in made
               if not any(k == kind and matches(p, name) for k, p in predicted + list(NAMESPACE_OBJECTS))]
    assert not missing, f"objects the collision check does not know about: {missing}"
