"""The backup IAM policies the program generates, enforced by moto's IAM
evaluation on real boto3 calls: a deployment's roles reach only its own
prefix, and the data pods' uploader may write but never read or delete.

moto evaluates identity policies attached to an IAM user with access keys;
each generated role policy is attached to a user of its own here (trust
policies and IRSA are the unit tests' business)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from components.operations.bucket import access_policy, deployment_prefix

BUCKET = "acme-backups"
ARN = f"arn:aws:s3:::{BUCKET}"
REGION = "us-east-1"
ROLES = {  # user -> (deployment, write_only)
    "shop-ops": ("shop", False),
    "shop-data": ("shop", True),
}
# create_bucket, 2 x (create_user, put_user_policy, create_access_key), 2 seed objects
SETUP_ACTIONS = 1 + 3 * len(ROLES) + 2


def _denied(call) -> bool:
    try:
        call()
    except ClientError as err:
        return err.response["Error"]["Code"] in ("AccessDenied", "403")
    return False


def run_with_iam(check) -> None:
    """Set up the bucket and one user per generated policy, then run
    ``check(clients)`` with IAM enforced (moto enforces only inside the
    decorated call, after SETUP_ACTIONS unauthenticated requests)."""

    @set_initial_no_auth_action_count(SETUP_ACTIONS)
    def scenario():
        admin = dict(region_name=REGION, aws_access_key_id="admin", aws_secret_access_key="admin")
        s3 = boto3.client("s3", **admin)
        s3.create_bucket(Bucket=BUCKET)
        iam = boto3.client("iam", **admin)
        out = {}
        for user, (dep, write_only) in ROLES.items():
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="backup",
                                PolicyDocument=access_policy(ARN, deployment_prefix("redis", dep), None, write_only))
            key = iam.create_access_key(UserName=user)["AccessKey"]
            out[user] = boto3.client("s3", region_name=REGION, aws_access_key_id=key["AccessKeyId"],
                                     aws_secret_access_key=key["SecretAccessKey"])
        s3.put_object(Bucket=BUCKET, Key="redis/shop/2024-01-01/1/manifest.json", Body=b"{}")
        s3.put_object(Bucket=BUCKET, Key="redis/shopfront/2024-01-01/1/manifest.json", Body=b"{}")
        # Enforcement is on from here: the made-up admin keys are refused.
        with pytest.raises(ClientError, match="InvalidAccessKeyId"):
            s3.get_object(Bucket=BUCKET, Key="redis/shop/2024-01-01/1/manifest.json")
        check(out)

    with mock_aws():
        scenario()


def test_ops_role_reads_and_writes_its_own_prefix_only():
    run_with_iam(_ops_checks)


def _ops_checks(clients):
    ops = clients["shop-ops"]
    ops.put_object(Bucket=BUCKET, Key="redis/shop/2024-01-02/2/shard-0.rdb", Body=b"rdb")
    assert ops.get_object(Bucket=BUCKET, Key="redis/shop/2024-01-01/1/manifest.json")["Body"].read() == b"{}"
    # A neighbour whose name starts the same is another prefix.
    assert _denied(lambda: ops.get_object(Bucket=BUCKET, Key="redis/shopfront/2024-01-01/1/manifest.json"))
    assert _denied(lambda: ops.put_object(Bucket=BUCKET, Key="redis/shopfront/x", Body=b"x"))
    assert _denied(lambda: ops.put_object(Bucket=BUCKET, Key="redis/other.rdb", Body=b"x"))
    assert _denied(lambda: ops.delete_object(Bucket=BUCKET, Key="redis/shop/2024-01-01/1/manifest.json"))


def test_data_pod_uploader_writes_but_never_reads_or_deletes():
    run_with_iam(_data_checks)


def _data_checks(clients):
    data = clients["shop-data"]
    data.put_object(Bucket=BUCKET, Key="redis/shop/prestop/shop-0/t/appendonly.aof", Body=b"aof")
    assert _denied(lambda: data.get_object(Bucket=BUCKET, Key="redis/shop/2024-01-01/1/manifest.json"))
    assert _denied(lambda: data.delete_object(Bucket=BUCKET, Key="redis/shop/2024-01-01/1/manifest.json"))
    assert _denied(lambda: data.list_objects_v2(Bucket=BUCKET, Prefix="redis/shop/"))
    assert _denied(lambda: data.put_object(Bucket=BUCKET, Key="redis/shopfront/prestop/x", Body=b"x"))


def test_policies_name_only_their_own_prefix():
    for dep in ("shop", "shopfront"):
        for write_only in (False, True):
            doc = json.loads(access_policy(ARN, deployment_prefix("redis", dep), None, write_only))
            objects = {s["Resource"] for s in doc["Statement"] if s["Resource"] != ARN}
            assert objects == {f"{ARN}/redis/{dep}/*"}
