"""ACL users of one Redis deployment: who connects for which job, with which
commands. Shared by the data pods (which load the users), the bootstrap Job,
the ops Jobs and the exporter (which log in as one of them).

Pure: no Pulumi import. The rules are not secret and are rendered into the
deployment's ConfigMap (``users.acl``) without passwords; each user's
password lives in its own Secret and reaches the start script as a mounted
file, which joins the two into the in-memory runtime include (mode 0600).

The ``default`` user is switched off in redis.conf itself (``DEFAULT_USER_OFF``;
on a Sentinel, by its start script) and has no password at all (``resetpass``: not even ``nopass``), so a
client that sends no user name, or ``AUTH <password>`` alone, is refused.
``resetpass`` also matters for protected mode: Redis refuses every
non-loopback connection while the default user is ``nopass``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

# User names. The name of each role is also the file name of its password
# in ACL_DIR and the suffix of its Secret.
APP = "app"
ADMIN = "admin"
REPLICATION = "replication"
EXPORTER = "exporter"
BACKUP = "backup"
SENTINEL = "sentinel"
HAPROXY = "haproxy"
CLUSTER_ROLES = (APP, ADMIN, REPLICATION, EXPORTER, BACKUP)
# A Sentinel set's data nodes also admit the Sentinels and HAProxy's checks.
SENTINEL_DATA_ROLES = CLUSTER_ROLES + (SENTINEL, HAPROXY)
# Who logs in to a Sentinel: peers, scripts and ops (admin), Sentinel-aware
# clients (app), HAProxy's master check, the backup's master lookup, and an
# exporter pointed at the Sentinel (the Sentinel alert rules read its
# redis_sentinel_* series; the Sentinel pods do not run one themselves).
SENTINEL_ROLES = (APP, ADMIN, SENTINEL, HAPROXY, BACKUP, EXPORTER)

# Where the data pods mount every user's password, one file per user.
ACL_DIR = "/run/secrets/redis-acl"
# Environment the scripts read to pick their user; redis-cli reads the
# password from REDISCLI_AUTH (components/common/redis_contract.py).
USER_ENV = "REDIS_USER"
# Key of the user name in each user's Secret (the password is under "password").
USERNAME_KEY = "username"
# Key, in the exporter user's Secret, of the JSON file redis_exporter's
# --redis.password-file reads: {"<redis URI>": "<password>"}.
EXPORTER_PASSWORD_FILE_KEY = "password-file.json"
# redis-cli arguments naming the user, for probe commands run by `sh -c`:
# nothing when REDIS_USER is unset (then redis-cli is the default user).
CLI_USER_ARGS = "${REDIS_USER:+--user $REDIS_USER}"

DEFAULT_USER_OFF = "user default off resetpass resetkeys resetchannels -@all"

# The team's default: every data command, nothing that reads or changes the
# server (CONFIG, FLUSHALL, KEYS, SHUTDOWN, REPLICAOF, DEBUG, MONITOR, ...).
APP_DEFAULT_COMMANDS = "+@all -@dangerous -@admin"

# Each internal user gets what its job sends and nothing else. Command lists
# come from the scripts and programs that use them; the integration tests
# (tests/integration/acl) run each job as its user and check what is refused.
_INTERNAL: dict[str, str] = {
    # Replicas run PSYNC/REPLCONF and PING their master (masteruser).
    REPLICATION: "resetkeys resetchannels -@all +psync +replconf +ping",
    # redis_exporter: INFO, CONFIG GET (maxmemory, ...), the cluster view,
    # slowlog and latency; SELECT/DBSIZE for the keyspace series.
    EXPORTER: (
        "resetkeys resetchannels -@all +ping +info +config|get +cluster|info +cluster|nodes +slowlog|get "
        "+slowlog|len +latency|latest +latency|histogram +select +dbsize +client|setname +client|list +memory|stats"
    ),
    # backup-snapshot.sh: the cluster's layout, then `redis-cli --rdb`, which
    # asks the master for an RDB over the replication protocol (REPLCONF, SYNC).
    BACKUP: "resetkeys resetchannels -@all +ping +info +cluster|info +cluster|nodes +replconf +sync +psync",
    # Bootstrap, repair, preStop, restore, drill, migration and the probes:
    # cluster membership and slots, failover, replication and keys (slot
    # moves run MIGRATE; a restore writes keys; the hard failover drill
    # kills a master with SHUTDOWN NOSAVE). Never FLUSHALL/FLUSHDB, DEBUG,
    # MODULE or MONITOR: no job needs them.
    ADMIN: "~* &* +@all -flushall -flushdb -debug -module -monitor",
    # A Sentinel watching a data node: the commands Redis's Sentinel docs
    # list (hello messages on __sentinel__:hello, SLAVEOF to reconfigure).
    SENTINEL: (
        "resetkeys resetchannels &* -@all +multi +slaveof +ping +exec +subscribe +config|rewrite +role +publish "
        "+info +client|setname +client|kill +script|kill"
    ),
    # HAProxy's tcp-check: PING, INFO replication, QUIT.
    HAPROXY: "resetkeys resetchannels -@all +ping +info +quit",
}

# The same users on a Sentinel, where only Sentinel's own commands exist.
_ON_SENTINEL: dict[str, str] = {
    APP: (
        "resetchannels &* -@all +ping +hello +client|setname +subscribe +psubscribe +unsubscribe +punsubscribe "
        "+sentinel|get-master-addr-by-name +sentinel|masters +sentinel|master +sentinel|slaves "
        "+sentinel|replicas +sentinel|sentinels"
    ),
    # Scripts and ops: derive the master, probes (CKQUORUM), failover.
    ADMIN: "&* +@all",
    # Peers: Sentinels ask each other whether a master is down.
    SENTINEL: "resetchannels &* -@all +ping +hello +client|setname +sentinel|is-master-down-by-addr +publish +subscribe",
    HAPROXY: "resetchannels -@all +ping +sentinel|get-master-addr-by-name",
    BACKUP: "resetchannels -@all +ping +sentinel|get-master-addr-by-name",
    EXPORTER: "resetchannels -@all +ping +info +client|setname +sentinel|masters +sentinel|sentinels +sentinel|slaves +sentinel|replicas +sentinel|ckquorum",
}


@dataclass(frozen=True)
class AppAcl:
    """The application user's rights, from ``deployments[].acl.app``."""

    commands: str = APP_DEFAULT_COMMANDS
    keys: tuple[str, ...] = ("*",)
    channels: tuple[str, ...] = ("*",)

    def rules(self) -> str:
        keys = " ".join(f"~{k}" for k in self.keys)
        channels = " ".join(f"&{c}" for c in self.channels)
        return " ".join(p for p in ("resetkeys resetchannels", keys, channels, "-@all", self.commands) if p)


@dataclass(frozen=True)
class AclSpec:
    """Every user of a deployment and their rules (the app user's from config)."""

    app: AppAcl = field(default_factory=AppAcl)
    roles: tuple[str, ...] = CLUSTER_ROLES

    def rules(self, role: str) -> str:
        return self.app.rules() if role == APP else _INTERNAL[role]


def render_sentinel_users(roles: tuple[str, ...] = SENTINEL_ROLES) -> str:
    """sentinel-users.acl: the users of a Sentinel, same format as users.acl."""
    lines = ["# Generated by redis-platform. Passwords are added at start from the users' Secrets."]
    lines += [f"user {role} on {_ON_SENTINEL[role]}" for role in roles]
    return "\n".join(lines) + "\n"


def render_users(spec: AclSpec) -> str:
    """users.acl for the ConfigMap: one ``user <name> on <rules>`` line per
    user, no password. The start script adds each password from its file."""
    lines = ["# Generated by redis-platform. Passwords are added at start from the users' Secrets."]
    lines += [f"user {role} on {spec.rules(role)}" for role in spec.roles]
    return "\n".join(lines) + "\n"


def exporter_password_file(uri: str | tuple[str, ...], password: str) -> str:
    """The file redis_exporter's --redis.password-file reads: a JSON map from
    each scraped URI (exactly as in REDIS_ADDR: the data node's, and in
    Sentinel mode the Sentinel's) to its password."""
    uris = (uri,) if isinstance(uri, str) else uri
    return json.dumps({u: password for u in uris})


def secret_name(deployment: str, role: str) -> str:
    """The app user keeps the deployment's first Secret name (``<name>-auth``,
    what consumers already read); every internal user has its own."""
    return f"{deployment}-auth" if role == APP else f"{deployment}-acl-{role}"
