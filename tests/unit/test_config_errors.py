"""Every bad config stops the program with one line naming the key; nothing is registered."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from stacks.config import ConfigError, load_stack_config
from stacks.harness import RecordingMocks, run_program
from stacks.program import main as program_main
from tests.unit.conftest import BASE_CONFIG, ROOT, to_runtime

CLUSTER = {"name": "sessions", "team": "web", "mode": "cluster", "size": "small"}


def with_(**changes):
    cfg = copy.deepcopy(BASE_CONFIG)
    cfg.update(changes)
    return cfg


BAD = [
    pytest.param(with_(enviroment="dev"), "redis-platform:enviroment", "unknown key", id="unknown-top-key"),
    pytest.param(with_(deployments=[{**CLUSTER, "sise": "small"}]), "redis-platform:deployments[0].sise", "unknown key", id="unknown-nested-key"),
    pytest.param(with_(deployments=[{**CLUSTER, "cluster": {"shards": "three"}}]), "deployments[0].cluster.shards", "integer", id="wrong-type"),
    pytest.param(with_(deployments=[{**CLUSTER, "cluster": {"shards": 2}}]), "deployments[0].cluster.shards", "greater than or equal to 3", id="too-few-shards"),
    pytest.param(with_(deployments=[{**CLUSTER, "cluster": {"replicasPerShard": -1}}]), "deployments[0].cluster.replicasPerShard", "greater than or equal to 0", id="negative-replicas"),
    pytest.param(with_(deployments=[{k: v for k, v in CLUSTER.items() if k != "size"} | {"resources": {"cpu": "500m", "memory": "0Gi"}}]), "deployments[0].resources.memory", "greater than zero", id="zero-memory"),
    pytest.param(with_(deployments=[{k: v for k, v in CLUSTER.items() if k != "size"} | {"resources": {"cpu": "500m", "memory": "12XB"}}]), "deployments[0].resources.memory", "not a memory quantity", id="bad-memory-string"),
    pytest.param(with_(deployments=[{k: v for k, v in CLUSTER.items() if k != "size"} | {"resources": {"cpu": "-1", "memory": "1Gi"}}]), "deployments[0].resources.cpu", "not a CPU quantity", id="negative-cpu"),
    pytest.param(with_(deployments=[{**CLUSTER, "persistence": {"size": "-5Gi"}}]), "deployments[0].persistence.size", "not a memory quantity", id="negative-volume"),
    pytest.param(with_(storage={"kind": "nfs", "path": "/export"}), "redis-platform:storage.server", "required key is missing", id="nfs-without-server"),
    pytest.param(with_(storage={"kind": "nfs", "server": "10.0.0.1", "path": "export"}), "redis-platform:storage.path", "absolute", id="nfs-relative-path"),
    pytest.param(with_(storage={"kind": "ebs", "eksClusterName": "prod"}), "redis-platform:storage.oidcProviderArn", "required key is missing", id="ebs-without-oidc"),
    pytest.param(with_(storage={"kind": "ebs", "eksClusterName": "p", "oidcProviderArn": "arn:aws:iam::1:role/x"}), "redis-platform:storage.oidcProviderArn", "not an IAM OIDC provider ARN", id="ebs-bad-arn"),
    pytest.param(with_(storage={"kind": "ceph"}), "redis-platform:storage", "kind", id="unknown-storage-kind"),
    pytest.param(with_(deployments=[CLUSTER, {**CLUSTER, "mode": "sentinel"}]), "redis-platform:deployments[1].name", "already the name of deployments[0]", id="duplicate-names"),
    pytest.param(with_(deployments=[{**CLUSTER, "name": "Sessions_1"}]), "deployments[0].name", "DNS-1123", id="name-not-dns-label"),
    pytest.param(with_(deployments=[{**CLUSTER, "name": "a" * 31}]), "deployments[0].name", "longer than 30", id="name-too-long"),
    pytest.param(with_(deployments=[{k: v for k, v in CLUSTER.items() if k != "size"}]), "redis-platform:deployments[0]", "set either size", id="no-size"),
    pytest.param(with_(deployments=[{**CLUSTER, "size": "huge"}]), "deployments[0].size", "small", id="unknown-preset"),
    pytest.param(with_(deployments=[{**CLUSTER, "mode": "sentinel", "sentinel": {"sentinels": 4}}]), "deployments[0].sentinel", "odd", id="even-sentinels"),
    pytest.param(with_(deployments=[{**CLUSTER, "haproxy": {"serviceType": "LoadBalancer"}}]), "deployments[0].haproxy", "loadBalancerSourceRanges", id="open-loadbalancer"),
    pytest.param(with_(deployments=[{**CLUSTER, "minReplicasToWrite": 2}]), "redis-platform:deployments[0]", "every write would be refused", id="min-replicas-above-replicas"),
    pytest.param(with_(kubernetesVersion="1.12"), "redis-platform:kubernetesVersion", "not a supported", id="old-k8s"),
    pytest.param(with_(monitoring={"prometheus": {"retention": "15 days"}}), "monitoring.prometheus.retention", "Prometheus duration", id="bad-duration"),
    pytest.param({"clusterName": "x", "storage": {"kind": "existing", "storageClassName": "s"}}, "redis-platform:environment", "required key is missing", id="missing-environment"),
]


@pytest.mark.parametrize("values, key, words", BAD)
def test_bad_config_names_the_key(values, key, words):
    with pytest.raises(ConfigError) as err:
        load_stack_config(values)
    message = str(err.value)
    assert "\n" not in message
    assert key in message, message
    assert words in message, message


@pytest.mark.parametrize("values, key, words", BAD[:6])
def test_bad_config_registers_nothing(values, key, words):
    import pulumi

    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as err:
        run_program(program_main, to_runtime(values), mocks=mocks)
    assert key in str(err.value)
    assert mocks.resources == []


def test_secret_config_value_is_not_echoed():
    cfg = with_(monitoring={"alertmanager": {"slackWebhookUrl": "https://hooks.slack.com/services/T0/B0/sekrit", "bogus": 1}})
    with pytest.raises(ConfigError) as err:
        load_stack_config(cfg)
    assert "sekrit" not in str(err.value)


def test_render_cli_exits_nonzero_with_one_line(tmp_path):
    stack_file = tmp_path / "Pulumi.bad.yaml"
    stack_file.write_text(
        "config:\n  redis-platform:environment: dev\n  redis-platform:clusterName: c\n"
        "  redis-platform:storage:\n    kind: nfs\n    path: /x\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "stacks.render", "bad", "--out", str(tmp_path / "out"), "--stack-file", str(stack_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == ["config error: redis-platform:storage.server: required key is missing"]
    assert not (tmp_path / "out").exists()


def test_a_failed_run_leaves_nothing_for_the_next():
    import pulumi

    bad = with_(deployments=[{**CLUSTER, "size": "huge"}])
    for _ in range(2):
        with pytest.raises(pulumi.RunError):
            run_program(program_main, to_runtime(bad))
        good = run_program(program_main, to_runtime(with_(deployments=[CLUSTER])))
        assert good.k8s("StatefulSet", "sessions")
