"""Shared by the ops integration tests: moto's S3 server, the AWS CLI the
pods use (Debian's awscli, v2 like the amazon/aws-cli image), and running
the ops scripts under dash with busybox's tools first on PATH."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import boto3

from components.operations.scripts import script_path
from tests.integration.procs import ProcGroup, port_open, require, wait_for

AWS_CLI = "/usr/bin/aws"
MOTO_PORT = 5000
BUCKET = "redis-backups-test"


def start_moto(procs: ProcGroup, root: Path, host: str) -> str:
    """moto's S3 server on ``host``; returns its endpoint URL with the bucket made."""
    server = str(Path(os.sys.executable).with_name("moto_server"))
    procs.start([server, "-H", host, "-p", str(MOTO_PORT)], root / "moto.log")
    wait_for(lambda: port_open(host, MOTO_PORT), 20, what="moto S3 server")
    endpoint = f"http://{host}:{MOTO_PORT}"
    s3_client(endpoint).create_bucket(Bucket=BUCKET)
    return endpoint


def s3_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def s3_env(endpoint: str, root: Path, prefix: str = "backups") -> dict[str, str]:
    """What the Secret / IRSA and the component give the aws-cli containers."""
    if not Path(AWS_CLI).exists():
        raise AssertionError("Debian's awscli (aws-cli v2, like the pods' amazon/aws-cli image) is not installed")
    return {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(root / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "no-aws-credentials"),
        "AWS_CLI": AWS_CLI,
        "BUCKET": BUCKET,
        "PREFIX": prefix,
        "S3_ENDPOINT": endpoint,
    }


def run_ops(name: str, env: dict[str, str], wrap=None, timeout: float = 150) -> subprocess.CompletedProcess:
    """Run one ops script under dash, as a pod would run it under busybox sh;
    ``wrap`` puts it in a harness's DNS namespace."""
    require("dash")
    argv = ["dash", str(script_path(name))]
    if wrap is not None:
        argv = wrap(argv)
    started = time.monotonic()
    out = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)
    print(f"--- {name} rc={out.returncode} ({time.monotonic() - started:.1f}s) ---\n{out.stdout}{out.stderr}")
    return out
