"""cluster-start.sh on its own, under dash and under busybox sh.

redis-server is replaced by a stub that records its arguments, so these
tests look only at what the script writes before it execs. Names resolve
through a private hosts file with DNS switched off (a mount namespace), so
an unknown name fails at once instead of waiting for a resolver.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from components.redis.cluster_scripts import START_SCRIPT, cluster_scripts
from tests.integration.cluster.harness import BUSYBOX_APPLETS
from tests.integration.procs import require

pytestmark = pytest.mark.integration

PASSWORD = 'p"w\\x y'
# Two users as users.acl renders them (rules from the ConfigMap, no password).
USERS_ACL = "# header\nuser app on ~app:* -@all +get\nuser replication on -@all +psync +replconf +ping\n"
SHELLS = {"dash": ["dash"], "busybox": ["busybox", "sh"]}
DOMAIN = "h.ns.svc.cluster.local"


@pytest.fixture(params=sorted(SHELLS))
def pod(request, tmp_path: Path):
    shell = request.param
    require(SHELLS[shell][0])
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if shell == "busybox":
        for applet in BUSYBOX_APPLETS:
            (bin_dir / applet).symlink_to(require("busybox"))
    stub = bin_dir / "redis-server"
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$STUB_OUT"\n')
    stub.chmod(0o755)
    (tmp_path / "hosts").write_text(
        f"127.0.0.1 localhost\n127.0.0.21 rc-1.{DOMAIN}\n127.0.0.22 rc-2.{DOMAIN}\n127.0.0.24 rc-4.{DOMAIN}\n"
    )
    (tmp_path / "nsswitch.conf").write_text("hosts: files\n")
    (tmp_path / "redis.conf").write_text("port 6379\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "users.acl").write_text(USERS_ACL)
    (tmp_path / "acl").mkdir()
    (tmp_path / "acl" / "app").write_text("app-pw")
    (tmp_path / "acl" / "replication").write_text(PASSWORD)
    # Every script, as in the pod's mount: the start script sources acl-lib.sh beside it.
    for name, text in cluster_scripts().items():
        (tmp_path / name).write_text(text)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "USERS_ACL": str(tmp_path / "users.acl"),
        "ACL_DIR": str(tmp_path / "acl"),
        "POD_NAME": "rc-0",
        "HEADLESS_SERVICE": "h",
        "NAMESPACE": "ns",
        "POD_IP": "127.0.0.20",
        "REDIS_CONF": str(tmp_path / "redis.conf"),
        "RUNTIME_CONF": str(tmp_path / "run" / "runtime.conf"),
        "DATA_DIR": str(tmp_path / "data"),
        "RESOLVE_TIMEOUT_SECONDS": "1",
        "STUB_OUT": str(tmp_path / "exec-args"),
    }
    return tmp_path, SHELLS[shell], env


def run(pod) -> subprocess.CompletedProcess:
    root, shell, env = pod
    wrapper = 'mount --bind "$0/hosts" /etc/hosts && mount --bind "$0/nsswitch.conf" /etc/nsswitch.conf && exec "$@"'
    argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", wrapper, str(root),
            *shell, str(root / START_SCRIPT)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)


def test_syntax_is_accepted_by_the_shell(pod):
    _, shell, _ = pod
    for text in cluster_scripts().values():
        subprocess.run([*shell, "-n"], input=text, text=True, check=True, timeout=10)


def test_writes_private_runtime_conf_then_execs_redis(pod):
    root, _, _ = pod
    result = run(pod)
    assert result.returncode == 0, result.stdout + result.stderr
    runtime = root / "run" / "runtime.conf"
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o600
    lines = runtime.read_text().splitlines()[1:]
    assert lines == [
        'user app on ~app:* -@all +get ">app-pw"',
        'user replication on -@all +psync +replconf +ping ">p\\"w\\\\x y"',
        "masteruser replication",
        'masterauth "p\\"w\\\\x y"',
        f"cluster-announce-hostname rc-0.{DOMAIN}",
    ]
    assert (root / "exec-args").read_text().split() == [str(root / "redis.conf")]
    assert PASSWORD not in result.stdout + result.stderr
    assert "no " in result.stdout and "nodes.conf yet" in result.stdout


@pytest.mark.parametrize("user", ["app", "replication"])
def test_refuses_to_start_without_a_password(pod, user):
    root, shell, env = pod
    # An empty file would have become `>` (an empty password): refused too.
    (root / "acl" / user).write_text("")
    result = run((root, shell, env))
    assert result.returncode != 0
    assert f"no password for ACL user {user}" in result.stdout
    assert not (root / "exec-args").exists() and not (root / "run").exists()


def test_refuses_to_start_without_the_users_file(pod):
    root, shell, env = pod
    (root / "users.acl").unlink()
    result = run((root, shell, env))
    assert result.returncode != 0 and "users file" in result.stdout
    assert not (root / "exec-args").exists()


def test_rewrites_stale_addresses_from_hostnames(pod):
    root, _, _ = pod
    stale = [
        f"a0 10.0.0.1:6379@16379,rc-0.{DOMAIN} myself,master - 0 0 1 connected 0-5460",
        f"a1 10.0.0.2:6379@16379,rc-1.{DOMAIN} master - 0 1700000000000 2 connected 5461-10922 [5461->-a0]",
        f"a2 10.0.0.3:6379@16379,rc-2.{DOMAIN},shard-id=abc slave a1 0 1700000000000 2 connected",
        f"a3 10.0.0.4:6379@16379,rc-3.{DOMAIN} slave a0 0 1700000000000 1 connected",
        "a5 10.0.0.5:6379@16379 master,fail - 0 1700000000000 3 connected 10923-16383",
        f"a4 fd00::9:6379@16379,rc-4.{DOMAIN} slave a5 0 1700000000000 3 connected",
        "vars currentEpoch 3 lastVoteEpoch 0",
    ]
    (root / "data" / "nodes.conf").write_text("\n".join(stale) + "\n")
    result = run(pod)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "data" / "nodes.conf").read_text().splitlines() == [
        f"a0 127.0.0.20:6379@16379,rc-0.{DOMAIN} myself,master - 0 0 1 connected 0-5460",
        f"a1 127.0.0.21:6379@16379,rc-1.{DOMAIN} master - 0 1700000000000 2 connected 5461-10922 [5461->-a0]",
        f"a2 127.0.0.22:6379@16379,rc-2.{DOMAIN},shard-id=abc slave a1 0 1700000000000 2 connected",
        stale[3],  # not in DNS: keeps its address; its own first PING updates it later
        stale[4],  # no hostname recorded: nothing to resolve
        f"a4 127.0.0.24:6379@16379,rc-4.{DOMAIN} slave a5 0 1700000000000 3 connected",
        stale[6],
    ]
    assert f"could not resolve rc-3.{DOMAIN}" in result.stdout
    assert "a1 rc-1." in result.stdout and "10.0.0.2 -> 127.0.0.21" in result.stdout
    assert sorted(p.name for p in (root / "data").iterdir()) == ["nodes.conf"]


def test_leaves_a_current_nodes_conf_alone(pod):
    root, _, _ = pod
    current = (
        f"a0 127.0.0.20:6379@16379,rc-0.{DOMAIN} myself,master - 0 0 1 connected 0-16383\n"
        f"a1 127.0.0.21:6379@16379,rc-1.{DOMAIN} slave a0 0 1700000000000 1 connected\n"
        "vars currentEpoch 1 lastVoteEpoch 0\n"
    )
    nodes = root / "data" / "nodes.conf"
    nodes.write_text(current)
    inode = nodes.stat().st_ino
    result = run(pod)
    assert result.returncode == 0, result.stdout + result.stderr
    assert nodes.read_text() == current and nodes.stat().st_ino == inode
    assert "left unchanged" in result.stdout
