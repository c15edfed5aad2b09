"""Backup resources of the real stacks and of small configs: the AWS bucket
and IRSA role, the S3-compatible store, the backup CronJob, the preStop
upload sidecar, and config validation."""

from __future__ import annotations

import json

import pytest

from components.operations import scripts
from stacks.config import ConfigError, load_stack_config
from tests.unit.conftest import BASE_CONFIG, run_with

S3 = {"kind": "s3", "endpoint": "http://minio:9000", "bucketName": "redis-backups", "credentialsSecret": "s3-keys"}
CLUSTER = {"name": "sessions", "team": "web", "mode": "cluster", "size": "small"}
SENTINEL = {"name": "cache", "team": "web", "mode": "sentinel", "size": "small"}


def env_of(container: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def cronjob_pod(run, name: str) -> dict:
    (cj,) = run.k8s("CronJob", name)
    return cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_prod_bucket_is_versioned_encrypted_private_and_expiring(prod_run):
    (bucket,) = prod_run.of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["bucket"] == "acme-redis-backups-prod-apne2"
    (versioning,) = prod_run.of_type("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    (sse,) = prod_run.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    (block,) = prod_run.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    (life,) = prod_run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    (rule,) = life.inputs["rules"]
    assert rule["status"] == "Enabled" and rule["filter"]["prefix"] == "redis/"
    assert rule["expiration"]["days"] == 35 and rule["noncurrentVersionExpiration"]["noncurrentDays"] == 7


def test_prod_irsa_roles_one_per_deployment_and_service_account(prod_run):
    issuer = "oidc.eks.ap-northeast-2.amazonaws.com/id/5C1D2E3F4A5B6C7D8E9F0A1B2C3D4E5F"
    roles = {r.name: r for r in prod_run.of_type("aws:iam/role:Role") if r.name.startswith("backup-")}
    policies = {r.name: json.loads(r.inputs["policy"]) for r in prod_run.of_type("aws:iam/rolePolicy:RolePolicy")}
    assert set(roles) == {f"backup-{d}-{k}-role" for d in ("orders", "quotes-cache") for k in ("ops", "data")}
    for dep in ("orders", "quotes-cache"):
        for kind, sa in (("ops", f"{dep}-ops"), ("data", dep)):
            (stmt,) = json.loads(roles[f"backup-{dep}-{kind}-role"].inputs["assumeRolePolicy"])["Statement"]
            assert stmt["Condition"]["StringEquals"][f"{issuer}:sub"] == f"system:serviceaccount:redis:{sa}"
            (obj,) = prod_run.k8s("ServiceAccount", sa)
            assert obj["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(f"backup-{dep}-{kind}-role")
            stmts = policies[f"backup-{dep}-{kind}-access"]["Statement"]
            actions = {a for st in stmts for a in st["Action"]}
            assert not any("Delete" in a for a in actions)
            resources = {st["Resource"] for st in stmts if any(a.startswith("s3:") for a in st["Action"])}
            assert resources <= {f"arn:aws:s3:::acme-redis-backups-prod-apne2/redis/{dep}/*", "arn:aws:s3:::acme-redis-backups-prod-apne2"}
        data_actions = {a for st in policies[f"backup-{dep}-data-access"]["Statement"] for a in st["Action"]}
        assert data_actions == {"s3:PutObject", "s3:AbortMultipartUpload"}, "the preStop uploader writes, never reads"
    pod = cronjob_pod(prod_run, "orders-backup")
    assert "AWS_ACCESS_KEY_ID" not in env_of(pod["containers"][0]), "IRSA, not keys, on EKS"


def test_prod_bucket_refuses_plain_http(prod_run):
    (policy,) = prod_run.of_type("aws:s3/bucketPolicy:BucketPolicy")
    (stmt,) = json.loads(policy.inputs["policy"])["Statement"]
    assert stmt["Effect"] == "Deny" and stmt["Action"] == "s3:*" and stmt["Principal"] == "*"
    assert stmt["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(stmt["Resource"]) == {"arn:aws:s3:::acme-redis-backups-prod-apne2", "arn:aws:s3:::acme-redis-backups-prod-apne2/*"}


def test_kms_key_from_config_encrypts_and_is_required():
    key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    run = run_with(BASE_CONFIG | {"deployments": [CLUSTER], "backup": {
        "kind": "aws", "bucketName": "acme-backups", "region": "eu-west-1", "kmsKeyId": key,
        "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"}})
    (sse,) = run.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
    (policy,) = run.of_type("aws:s3/bucketPolicy:BucketPolicy")
    other = next(s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Sid"] == "DenyOtherEncryption")
    assert other["Condition"] == {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    for role_policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        kms = [s for s in json.loads(role_policy.inputs["policy"])["Statement"] if s["Resource"] == key]
        assert kms and set(kms[0]["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}


def test_dev_backup_uses_the_on_prem_endpoint_and_its_secret(dev_run):
    assert not [r for r in dev_run.resources if r.typ.startswith("aws:")]
    (cj,) = dev_run.k8s("CronJob", "sessions-backup")
    assert cj["spec"]["schedule"] == "0 3 * * *" and cj["spec"]["suspend"] is False
    assert cj["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (snapshot,) = pod["initContainers"]
    (upload,) = pod["containers"]
    assert snapshot["image"].startswith("redis:") and snapshot["command"][-1].endswith(scripts.SNAPSHOT)
    assert upload["image"].startswith("amazon/aws-cli:") and upload["command"][-1].endswith(scripts.UPLOAD)
    env = env_of(upload)
    assert env["S3_ENDPOINT"] == "http://minio.storage.svc.cluster.local:9000" and env["BUCKET"] == "redis-backups-dev"
    assert env["AWS_SECRET_ACCESS_KEY"] == {"secretKeyRef": {"name": "s3-backup-credentials", "key": "secretAccessKey", "optional": True}}
    snap_env = env_of(snapshot)
    assert snap_env["MODE"] == "cluster" and len(snap_env["CLUSTER_NODES"].split()) == 6
    # The snapshot logs in as the backup ACL user, with that user's Secret.
    assert snap_env["REDIS_USER"] == "backup"
    assert snap_env["REDISCLI_AUTH"] == {"secretKeyRef": {"name": "sessions-acl-backup", "key": "password"}}
    # Restore, drill and migration run as admin.
    for name in ("sessions-restore", "sessions-failover-drill"):
        (job,) = dev_run.k8s("CronJob", name)
        spec = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        envs = [env_of(c) for c in spec.get("initContainers", []) + spec["containers"] if "REDISCLI_AUTH" in env_of(c)]
        assert envs and all(e["REDIS_USER"] == "admin" for e in envs), name
        assert all(e["REDISCLI_AUTH"] == {"secretKeyRef": {"name": "sessions-acl-admin", "key": "password"}} for e in envs)
    (cm,) = dev_run.k8s("ConfigMap", "sessions-ops")
    assert cm["data"] == scripts.ops_scripts()


def test_schedule_override_and_opt_out_per_deployment():
    run = run_with(BASE_CONFIG | {"backup": S3, "deployments": [
        CLUSTER | {"backup": {"schedule": "15 */6 * * *"}}, SENTINEL | {"backup": {"enabled": False}}]})
    (cj,) = run.k8s("CronJob", "sessions-backup")
    assert cj["spec"]["schedule"] == "15 */6 * * *"
    assert run.k8s("CronJob", "cache-backup") == [] and run.k8s("CronJob", "cache-restore") == []
    assert run.k8s("CronJob", "cache-failover-drill"), "the drill does not need backups"
    (sts,) = run.k8s("StatefulSet", "cache")
    assert [c["name"] for c in sts["spec"]["template"]["spec"]["containers"]] == ["redis", "exporter"]


def test_sentinel_pods_hand_over_then_upload_within_the_grace_period():
    run = run_with(BASE_CONFIG | {"backup": S3, "deployments": [SENTINEL]})
    (sts,) = run.k8s("StatefulSet", "cache")
    pod = sts["spec"]["template"]["spec"]
    redis, _, agent = pod["containers"]
    chain = redis["lifecycle"]["preStop"]["exec"]["command"][2]
    assert chain.index("sentinel-redis-prestop.sh") < chain.index("touch /handoff/handover-done")
    budget = int(agent["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert budget == 50 + 60 and pod["terminationGracePeriodSeconds"] == 60 + budget
    assert {"name": "data", "mountPath": "/data", "readOnly": True} in agent["volumeMounts"]
    assert env_of(agent)["HANDOVER_WAIT"] == "50"
    assert "livenessProbe" in redis and agent["securityContext"]["runAsNonRoot"] is True


def test_cluster_pods_hand_over_then_upload_on_stop():
    run = run_with(BASE_CONFIG | {"backup": S3, "deployments": [CLUSTER]})
    (sts,) = run.k8s("StatefulSet", "sessions")
    pod = sts["spec"]["template"]["spec"]
    agent = pod["containers"][2]
    wait = int(env_of(agent)["HANDOVER_WAIT"])
    assert wait > 30  # longer than the handover's own bound
    assert pod["terminationGracePeriodSeconds"] == 60 + wait + 60
    chain = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][-1]
    assert chain.index("cluster-prestop.sh") < chain.index("touch ")


@pytest.mark.parametrize("backup, message", [
    (S3 | {"schedule": "every day"}, "is not a cron schedule"),
    (S3 | {"bucketName": "Bad_Bucket"}, "is not a valid bucket name"),
    (S3 | {"endpoint": "minio:9000"}, "is not an http(s) URL"),
    (S3 | {"prefix": "/redis"}, "no leading, trailing or doubled"),
    ({"kind": "aws", "bucketName": "b-1", "region": "r", "oidcProviderArn": "nope"}, "is not an IAM OIDC provider ARN"),
])
def test_bad_backup_config_is_one_clear_error(backup, message):
    with pytest.raises(ConfigError, match="backup") as err:
        load_stack_config(BASE_CONFIG | {"backup": backup})
    assert message in str(err.value)


def test_no_backup_section_means_no_backup_objects():
    run = run_with(BASE_CONFIG | {"deployments": [CLUSTER]})
    assert run.k8s("CronJob", "sessions-backup") == []
    assert [c["name"] for c in run.k8s("StatefulSet", "sessions")[0]["spec"]["template"]["spec"]["containers"]] == ["redis", "exporter"]


def test_s3_keys_from_config_become_the_secret_in_each_namespace():
    run = run_with(BASE_CONFIG | {
        "deployments": [CLUSTER, SENTINEL | {"namespace": "other"}],
        "backup": S3 | {"accessKeyId": "AKIAEXAMPLE", "secretAccessKey": "very-secret-key"},
    })
    secrets = [s for s in run.k8s("Secret") if s["metadata"]["name"] == "s3-keys"]
    assert sorted(s["metadata"]["namespace"] for s in secrets) == ["other", "redis"]
    for s in secrets:
        assert set(s["stringData"]) == {"accessKeyId", "secretAccessKey"}
    for res in run.resources:
        if res.is_kubernetes and res.manifest.get("kind") != "Secret":
            assert "very-secret-key" not in json.dumps(res.manifest)


def test_a_missing_backup_secret_never_blocks_redis():
    run = run_with(BASE_CONFIG | {"deployments": [CLUSTER], "backup": S3})
    assert not [s for s in run.k8s("Secret") if s["metadata"]["name"] == "s3-keys"]
    (sts,) = run.k8s("StatefulSet", "sessions")
    for c in sts["spec"]["template"]["spec"]["containers"]:
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] == "s3-keys":
                assert ref["optional"] is True, (c["name"], e["name"])
    agent = next(c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "backup-agent")
    assert env_of(agent)["CREDENTIALS_SECRET"] == "s3-keys"


def test_backup_keys_come_together():
    with pytest.raises(ConfigError, match="accessKeyId and secretAccessKey together"):
        load_stack_config(BASE_CONFIG | {"backup": S3 | {"accessKeyId": "AKIA"}})


def test_backup_run_reports_its_outcome_to_the_stack_pushgateway(prod_run):
    pod = cronjob_pod(prod_run, "orders-backup")
    upload = next(c for c in pod["containers"] if c["name"] == "upload")
    env = env_of(upload)
    assert env["PUSHGATEWAY_URL"] == "http://pushgateway.monitoring.svc:9091"
    assert env["DEPLOYMENT"] == "orders" and env["TEAM"]
    (cj,) = prod_run.k8s("CronJob", "orders-backup")
    assert cj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["redis-platform/metrics-pusher"] == "true"
    assert scripts.METRICS in scripts.ops_scripts()
    assert f'sh "$(dirname "$0")/{scripts.METRICS}"' in scripts.script_path(scripts.UPLOAD).read_text()
    (policy,) = prod_run.k8s("NetworkPolicy", "orders-ops-metrics-push")
    (egress,) = policy["spec"]["egress"]
    assert egress["ports"] == [{"protocol": "TCP", "port": 9091}]
    assert egress["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}


def test_no_report_without_a_pushgateway():
    run = run_with(BASE_CONFIG | {
        "deployments": [{"name": "shop", "team": "web", "mode": "cluster", "size": "small"}],
        "monitoring": {"pushgateway": {"enabled": False}},
        "backup": {"kind": "s3", "endpoint": "http://minio.storage.svc:9000", "bucketName": "shop-backups",
                   "credentialsSecret": "s3-creds"},
    })
    pod = cronjob_pod(run, "shop-backup")
    upload = next(c for c in pod["containers"] if c["name"] == "upload")
    assert "PUSHGATEWAY_URL" not in env_of(upload)
    assert not run.k8s("NetworkPolicy", "shop-ops-metrics-push")
