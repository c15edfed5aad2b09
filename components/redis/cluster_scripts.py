"""Pod scripts of the Redis Cluster mode and the values the pods hand them.

Pure: no Pulumi import. The scripts are real POSIX sh files in ``scripts/``
(they run under busybox sh in redis:*-alpine and under dash in the tests);
this module only reads them and says which environment they expect, so the
RedisCluster component can build its ConfigMap, StatefulSet and Job from it.

Start script (StatefulSet container command ``START_COMMAND``): writes the
runtime include with the password and ``cluster-announce-hostname``
(``<pod>.<headless service>.<namespace>.svc.<cluster domain>``), rewrites the
addresses in a stale ``nodes.conf`` from the peers' hostnames, then execs
redis-server. Its environment: ``start_env(topology)`` as plain values,
``FIELD_ENV`` from the downward API, ``REDISCLI_AUTH`` from the admin user's
Secret; every user's password as a file in ``ACL_DIR``.

Bootstrap script (Job container command ``BOOTSTRAP_COMMAND``): creates the
cluster (``redis-cli --cluster create --cluster-replicas``), or adds the nodes
a bigger topology brings, in ordinal order: the first ones become the missing
masters (``--cluster add-node``), the rest replicas of the master with fewest
replicas (``--cluster add-node --cluster-slave``), then ``--cluster rebalance
--cluster-use-empty-masters`` gives the new masters slots. A master without
slots left by an interrupted run is reused, not re-added. It waits (bounded by
WAIT_TIMEOUT_SECONDS) for every node to agree after each step, never flushes or
resets a node, and stops with an explanation if a node outside the cluster
holds data or belongs elsewhere. With fewer SHARDS than the cluster has, it
drains the shards on the pods that go (``shrink_cluster``: slots and keys move
to the kept shards, every slot served throughout) and removes those nodes,
or refuses in one line when the kept shards' memory cannot hold the data.
The Job is named by
``bootstrap_job_name``, which changes exactly when the topology or the script
changes: Kubernetes Jobs are immutable and run once, so a new name is what
makes a topology change run the script again, while an unchanged stack keeps
the finished Job and runs nothing. Its environment: ``bootstrap_env`` plus
``REDISCLI_AUTH`` from the admin user's Secret.

The StatefulSet should use ``podManagementPolicy: Parallel`` and a headless
Service with ``publishNotReadyAddresses: true``: after a full restart every
pod must start and resolve its peers before any of them can be ready.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from components.common.redis_acl import ACL_DIR, ADMIN, CLI_USER_ARGS, USER_ENV
from components.common.script_bundle import ScriptBundle
from components.common.redis_contract import DATA_DIR, PASSWORD_ENV, REDIS_PORT, REDISCLI_AUTH_ENV, SCRIPTS_DIR
from components.common.tls import CLI_TLS
from components.redis.conf import CONF_DIR, RUNTIME_CONF
# Part of this module's contract too: the component reads scripts.USERS_KEY.
from components.redis.shared_scripts import ACL_LIB, PREROLL_LIB, TLS_RELOAD, USERS_ACL_PATH, USERS_KEY

START_SCRIPT = "cluster-start.sh"
BOOTSTRAP_SCRIPT = "cluster-bootstrap.sh"
PRESTOP_SCRIPT = "cluster-prestop.sh"
REPAIR_SCRIPT = "cluster-repair.sh"
# Sourced by the bootstrap, the repair and the pre-roll: node table, zones,
# fix_pairing, and the claims check (settle_claims).
LIB_SCRIPT = "cluster-lib.sh"
SCRIPT_NAMES = (START_SCRIPT, BOOTSTRAP_SCRIPT, PRESTOP_SCRIPT, REPAIR_SCRIPT, TLS_RELOAD, LIB_SCRIPT, ACL_LIB)
# What the bootstrap Job mounts: its script and the library it sources.
BOOTSTRAP_SCRIPTS = (BOOTSTRAP_SCRIPT, LIB_SCRIPT)
# The pre-roll Job's (components/redis/preroll.py), not mounted in the pods:
# its script first, then what it sources (the preStop's catch-up test) and
# runs (the bootstrap's drain, with the library the bootstrap sources), and
# the library both modes' pre-roll scripts source for their waits
# (within, preroll-lib.sh).
PREROLL_SCRIPT = "cluster-preroll.sh"
PREROLL_SCRIPT_NAMES = (PREROLL_SCRIPT, PRESTOP_SCRIPT, *BOOTSTRAP_SCRIPTS, PREROLL_LIB)

# Where the StatefulSet mounts the rendered redis.conf (ConfigMap key redis.conf).
REDIS_CONF_PATH = f"{CONF_DIR}/redis.conf"

START_COMMAND = ("sh", f"{SCRIPTS_DIR}/{START_SCRIPT}")
BOOTSTRAP_COMMAND = ("sh", f"{SCRIPTS_DIR}/{BOOTSTRAP_SCRIPT}")
# preStop: hand a master's slots to a replica; 30 s bound fits the 60 s grace period.
PRESTOP_COMMAND = ("sh", f"{SCRIPTS_DIR}/{PRESTOP_SCRIPT}", "30")

# Ready = answers PING, has joined a cluster, that cluster serves all slots,
# and a replica's link is up with its sync finished: the StatefulSet rolls
# the next pod only then, so a rolling update never stops a master whose
# only replica is still loading a full sync.
# With TLS (REDIS_TLS in the env) redis-cli adds --tls --cacert (CLI_TLS).
READY_CHECK = (
    f'redis-cli {CLI_USER_ARGS} {CLI_TLS} -h 127.0.0.1 ping | grep -qx PONG && '
    f'info="$(redis-cli {CLI_USER_ARGS} {CLI_TLS} -h 127.0.0.1 cluster info | tr -d "\\r")" && '
    'echo "$info" | grep -qx "cluster_state:ok" && '
    '[ "$(echo "$info" | sed -n "s/^cluster_known_nodes://p")" -gt 1 ] && '
    f'repl="$(redis-cli {CLI_USER_ARGS} {CLI_TLS} -h 127.0.0.1 info replication | tr -d "\\r")" && '
    '{ echo "$repl" | grep -qx "role:master" || '
    '{ echo "$repl" | grep -qx "master_link_status:up" && echo "$repl" | grep -qx "master_sync_in_progress:0"; }; }'
)

# Start-script variables filled by the downward API (env name -> fieldPath).
FIELD_ENV = {"POD_NAME": "metadata.name", "NAMESPACE": "metadata.namespace", "POD_IP": "status.podIP"}
# The scripts, probes and the bootstrap Job log in as the admin user: REDIS_USER
# names it, REDISCLI_AUTH (from its Secret) is its password. The start script
# itself reads every user's password from the files in ACL_DIR.
SCRIPTS_USER = ADMIN
START_SECRET_ENV = REDISCLI_AUTH_ENV
BOOTSTRAP_SECRET_ENV = REDISCLI_AUTH_ENV

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_JOB_NAME_MAX = 63


@dataclass(frozen=True)
class ClusterTopology:
    """Names and sizes the scripts need; built by the component from stack config."""

    statefulset_name: str
    headless_service: str
    namespace: str
    shards: int = 3
    replicas_per_shard: int = 1
    cluster_domain: str = "cluster.local"
    port: int = REDIS_PORT

    def __post_init__(self) -> None:
        for label, value in (
            ("statefulset_name", self.statefulset_name),
            ("headless_service", self.headless_service),
            ("namespace", self.namespace),
        ):
            if not _DNS_LABEL.match(value) or len(value) > 63:
                raise ValueError(f"{label} {value!r} is not a DNS label (lower-case letters, digits, '-')")
        if self.shards < 3:
            raise ValueError(f"a Redis Cluster needs at least 3 shards, got {self.shards}")
        if self.replicas_per_shard < 0:
            raise ValueError(f"replicas_per_shard must be >= 0, got {self.replicas_per_shard}")

    @property
    def node_count(self) -> int:
        """StatefulSet replicas: every shard's master plus its replicas."""
        return self.shards * (1 + self.replicas_per_shard)


# ConfigMap data: script file name -> text, mounted at ``SCRIPTS_DIR``
# (the pods mount SCRIPT_NAMES, the pre-roll Job PREROLL_SCRIPT_NAMES).
_BUNDLE = ScriptBundle(Path(__file__).parent / "scripts", (*SCRIPT_NAMES, PREROLL_SCRIPT, PREROLL_LIB), "cluster")
cluster_scripts = _BUNDLE.data


def pod_hostname(topology: ClusterTopology, ordinal: int) -> str:
    """Stable DNS name of StatefulSet pod ``ordinal``, as the start script announces it."""
    t = topology
    return f"{t.statefulset_name}-{ordinal}.{t.headless_service}.{t.namespace}.svc.{t.cluster_domain}"


def node_hostnames(topology: ClusterTopology) -> list[str]:
    """Every pod's DNS name in ordinal order, as the bootstrap script builds them."""
    return [pod_hostname(topology, i) for i in range(topology.node_count)]


def start_env(topology: ClusterTopology) -> dict[str, str]:
    """Plain (non-secret) env of the start script; paths default to conf.py's."""
    return {
        "HEADLESS_SERVICE": topology.headless_service,
        "CLUSTER_DOMAIN": topology.cluster_domain,
        "REDIS_CONF": REDIS_CONF_PATH,
        "RUNTIME_CONF": RUNTIME_CONF,
        "DATA_DIR": DATA_DIR,
        "USERS_ACL": USERS_ACL_PATH,
        "ACL_DIR": ACL_DIR,
        USER_ENV: SCRIPTS_USER,
    }


def bootstrap_env(topology: ClusterTopology) -> dict[str, str]:
    """Plain (non-secret) env of the bootstrap Job."""
    return {
        "SHARDS": str(topology.shards),
        "REPLICAS_PER_SHARD": str(topology.replicas_per_shard),
        "STATEFULSET_NAME": topology.statefulset_name,
        "HEADLESS_SERVICE": topology.headless_service,
        "NAMESPACE": topology.namespace,
        "CLUSTER_DOMAIN": topology.cluster_domain,
        "REDIS_PORT": str(topology.port),
        USER_ENV: SCRIPTS_USER,
    }


def preroll_env(topology: ClusterTopology, shrink: bool = True) -> dict[str, str]:
    """Plain env of the pre-roll Job: the bootstrap's (it may run the drain),
    and whether it may drain (not while a node-group migration runs)."""
    return bootstrap_env(topology) | ({} if shrink else {"PREROLL_SHRINK": "no"})


def bootstrap_job_name(topology: ClusterTopology) -> str:
    """``<statefulset>-bootstrap-<hash>``; the hash covers the topology and the scripts the Job runs."""
    digest = hashlib.sha256()
    for key, value in sorted(bootstrap_env(topology).items()):
        digest.update(f"{key}={value}\n".encode())
    for name in BOOTSTRAP_SCRIPTS:
        digest.update(_BUNDLE.text(name).encode())
    suffix = f"-bootstrap-{digest.hexdigest()[:10]}"
    return topology.statefulset_name[: _JOB_NAME_MAX - len(suffix)].rstrip("-") + suffix
