"""Image references: exact defaults, digests accepted and carried into the
pods unchanged, floating tags warned about, every ``*image`` key validated."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from stacks.config.check import check_config
from stacks.config.images import check_image, floats, image_fields, split_image
from stacks.config.model import StackConfig
from tests.unit.bad_config_cases import FED, GOOD, S3, apply
from stacks.harness import run_program
from stacks.program import main as program_main
from tests.unit.conftest import run_stack_file, to_runtime

DIGEST = "sha256:" + "0123456789abcdef" * 4
W = "config warning: redis-platform:"


def _models(model: type[BaseModel], seen: set) -> list[type[BaseModel]]:
    """Every model class reachable from ``model`` through its field types."""
    if model in seen:
        return []
    seen.add(model)
    out = [model]
    for field in model.model_fields.values():
        for arg in _types(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out += _models(arg, seen)
    return out


def _types(annotation) -> list:
    args = getattr(annotation, "__args__", None)
    if not args:
        return [annotation]
    return [t for a in args for t in _types(a)]


def test_every_image_key_is_validated():
    """A new ``*image`` field that is a plain str would let `latest` through."""
    fields = [(m.__name__, n, f) for m in _models(StackConfig, set()) for n, f in m.model_fields.items()
              if n.endswith("image")]
    assert len(fields) >= 12, fields
    for model, name, field in fields:
        assert any(getattr(v, "func", None) is check_image for v in field.metadata), f"{model}.{name} is not an ImageRef"


def test_every_default_is_an_exact_version():
    cfg = check_config(to_runtime(apply(GOOD, {"backup": S3, "federation": FED | {"grafana": {"enabled": True}},
                                               "storage": {"kind": "nfs", "server": "10.0.0.2", "path": "/x"}})),
                       {"redis-platform:monitoring"}).config
    images = dict(image_fields(cfg))
    assert {"deployments[0].image", "deployments[1].haproxy.image", "monitoring.prometheus.image",
            "backup.awsCliImage", "storage.provisionerImage", "federation.grafana.image"} <= set(images)
    assert [(k, v) for k, v in images.items() if floats(v)] == []
    assert images["deployments[0].image"] == "redis:7.2.11-alpine"


@pytest.mark.parametrize("rendered", ["dev", "prod"])
def test_committed_stacks_render_only_exact_images(rendered):
    run = run_stack_file(rendered)
    pods = [o["spec"].get("jobTemplate", {}).get("spec", o["spec"]).get("template", {}).get("spec", {})
            for o in run.kubernetes() if isinstance(o.get("spec"), dict)]
    images = {c["image"] for p in pods for c in p.get("containers", []) + p.get("initContainers", [])}
    assert len(images) >= 8, images
    assert [i for i in images if floats(i)] == []


def test_digests_accepted_and_rendered_as_written():
    redis = f"redis:7.2.11-alpine@{DIGEST}"
    exporter = f"registry.example.com:5000/mirror/redis_exporter@{DIGEST}"
    run = run_program(program_main, to_runtime(apply(GOOD, {"deployments[0].image": redis,
                                                            "deployments[0].exporterImage": exporter})),
                      {"redis-platform:monitoring"})
    (sts,) = run.k8s("StatefulSet", "sessions")
    containers = {c["name"]: c["image"] for c in sts["spec"]["template"]["spec"]["containers"]}
    assert containers["redis"] == redis and containers["exporter"] == exporter
    assert run.warnings == []


@pytest.mark.parametrize("ref, parts", [
    ("redis:7.2.11-alpine", ("redis", "7.2.11-alpine", None)),
    (f"redis@{DIGEST}", ("redis", None, DIGEST)),
    (f"redis:7.2@{DIGEST}", ("redis", "7.2", DIGEST)),
    ("localhost:5000/team/redis:7.2.11", ("localhost:5000/team/redis", "7.2.11", None)),
    ("registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
     ("registry.k8s.io/kube-state-metrics/kube-state-metrics", "v2.13.0", None)),
])
def test_reference_grammar(ref, parts):
    assert split_image(ref) == parts and check_image(ref) == ref


@pytest.mark.parametrize("ref, floating", [
    ("redis:7.2-alpine", True), ("haproxy:2.8", True), ("redis:7-alpine", True), ("redis:alpine", True),
    ("redis:7.2.11-alpine", False), ("prom/prometheus:v2.54.1", False), (f"redis:latest@{DIGEST}", False),
    (f"redis:7.2@{DIGEST}", False), ("redis:17.2.11.3", False),
])
def test_floating_tags(ref, floating):
    assert floats(ref) is floating


def test_floating_tag_is_one_warning_naming_the_key():
    warnings = check_config(to_runtime(apply(GOOD, {"deployments[1].haproxy": {"image": "haproxy:2.8-alpine"}})),
                            {"redis-platform:monitoring"}).warnings
    assert warnings == (f"{W}deployments[1].haproxy.image: 'haproxy:2.8-alpine' is a floating tag (no exact X.Y.Z "
                        "version, no digest): the image can change under the same config; pin a patch version or a "
                        "digest (@sha256:...)",)


@pytest.mark.parametrize("image, warned", [
    ("redis:7.0.12-alpine", False), ("redis:7.0.13-alpine", True), ("redis:7.0.15", True), ("redis:7.2.0-alpine", True),
    ("redis:7.2.3", True), ("redis:7.2.4-alpine", False), ("redis:7.2.11-alpine", False),
    ("registry.example.com/mirror/redis:7.2.1", True), ("valkey/valkey:7.2.3", False),
    (f"redis:7.2@{DIGEST}", False),
])
def test_redis_releases_with_the_slot_claim_bug_are_one_warning(image, warned):
    warnings = check_config(to_runtime(apply(GOOD, {"deployments[0].image": image})), {"redis-platform:monitoring"}).warnings
    expected = (f"{W}deployments[0].image: {image!r} is a Redis release with redis/redis#12564 (7.0.13-7.0.15, "
                "7.2.0-7.2.3): after a resharding, a failover can leave a slot no master serves and drop its keys on "
                "the new master; the scripts work around it (docs/operations.md, \"A slot no master serves\"); use "
                "7.2.4 or later")
    assert (expected in warnings) is warned
