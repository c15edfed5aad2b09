"""Pod scripts of the Sentinel mode, shipped as real .sh files in this package.

Pure: no Pulumi import. ``sentinel_scripts()`` returns the ConfigMap data
(file name -> text) to mount at ``SCRIPTS_DIR`` (the scripts source
``sentinel-lib.sh`` from their own directory, so all files go in one mount,
with defaultMode 0555).

Pod conventions (all paths and names overridable by env, which the tests do):

Data node container, command ``sh /scripts/sentinel-redis-start.sh``:
  REDIS_USER, REDISCLI_AUTH  the admin ACL user and its password (Secret)
  USERS_ACL, ACL_DIR    the users' rules (ConfigMap ``users.acl``) and one
                        password file per user (the users' Secrets)
  MASTER_SET            the Sentinel master set name
  REDIS_ANNOUNCE_HOST   this pod's stable DNS name
                        ($(POD_NAME).<headless svc>.<ns>.svc.<cluster domain>)
  REDIS_HOSTS           space-separated stable DNS names of every data pod
  SENTINEL_HOSTS        space-separated stable DNS names of the Sentinels
  REPL_STATE_FILE       where the pod records its replication id and offset
                        (on the data volume: /data/replication-state)
  REDIS_PORT, SENTINEL_PORT, LOCAL_REDIS_HOST, REDIS_CONF, RUNTIME_CONF,
  SENTINEL_QUERY_TRIES, SENTINEL_QUERY_INTERVAL, SENTINEL_QUERY_TIMEOUT,
  START_WAIT_SECONDS, RECORD_INTERVAL,
  REDIS_SERVER_BIN      optional (see the script header)
Data node preStop: ``sh /scripts/sentinel-redis-prestop.sh <seconds>`` with the
  same env plus optional LOCAL_REDIS_HOST (127.0.0.1).
Sentinel container, command ``sh /scripts/sentinel-start.sh``:
  REDIS_USER, REDISCLI_AUTH (admin), SENTINEL_USERS_ACL (ConfigMap
  ``sentinel-users.acl``), ACL_DIR, SENTINEL_HOSTS, REDIS_HOSTS (to derive the master when the
  pod has no state yet), optional SENTINEL_ANNOUNCE_HOST (its own stable DNS
  name), SENTINEL_CONF_SRC (the ConfigMap file), SENTINEL_WORK_DIR (a medium:
  Memory emptyDir), SENTINEL_BIN, SENTINEL_START_WAIT.
"""

from __future__ import annotations

from pathlib import Path

from components.common.redis_acl import ADMIN, CLI_USER_ARGS, USER_ENV
from components.common.redis_contract import SENTINEL_PORT
from components.common.script_bundle import ScriptBundle
from components.common.tls import CLI_TLS
# Part of this module's contract too: the component reads scripts.USERS_KEY.
from components.redis.shared_scripts import ACL_LIB, PREROLL_LIB, TLS_RELOAD, USERS_ACL_PATH, USERS_KEY

LIB = "sentinel-lib.sh"
SENTINEL_START = "sentinel-start.sh"
REDIS_START = "sentinel-redis-start.sh"
REDIS_PRESTOP = "sentinel-redis-prestop.sh"
SCRIPT_NAMES = (LIB, ACL_LIB, SENTINEL_START, REDIS_START, REDIS_PRESTOP, TLS_RELOAD)
# What each StatefulSet's pods run: its config hash covers only these.
DATA_SCRIPT_NAMES = (LIB, ACL_LIB, REDIS_START, REDIS_PRESTOP, TLS_RELOAD)
SENTINEL_SCRIPT_NAMES = (LIB, ACL_LIB, SENTINEL_START, TLS_RELOAD)
# The pre-roll Job's (components/redis/preroll.py), not mounted in the pods:
# its script, the library, the preStop whose handover it runs and the
# library both modes' pre-roll scripts source for their waits (within,
# preroll-lib.sh).
PREROLL = "sentinel-preroll.sh"
PREROLL_SCRIPT_NAMES = (PREROLL, LIB, REDIS_PRESTOP, PREROLL_LIB)
# The Sentinels' ACL users' rules without passwords, beside sentinel.conf
# (the data nodes' are USERS_KEY, beside redis.conf).
SENTINEL_USERS_KEY = "sentinel-users.acl"

# Ready = master, or a replica whose link is up and whose sync has finished
# (a replica loading a full sync cannot take over, and must not hold the
# rolling update's next step).
READY_CHECK = (
    f'info="$(redis-cli {CLI_USER_ARGS} {CLI_TLS} -h 127.0.0.1 info replication | tr -d "\\r")" && '
    '{ echo "$info" | grep -qx "role:master" || '
    '{ echo "$info" | grep -qx "master_link_status:up" && echo "$info" | grep -qx "master_sync_in_progress:0"; }; }'
)

# A Sentinel is ready when it sees enough peers to authorize a failover.
SENTINEL_READY = f'redis-cli {CLI_USER_ARGS} {CLI_TLS} -h 127.0.0.1 -p {SENTINEL_PORT} sentinel ckquorum "$MASTER_SET" | grep -q "^OK"'

# The ConfigMap holds the pods' scripts and the pre-roll Job's.
_BUNDLE = ScriptBundle(Path(__file__).with_name("scripts"), (*SCRIPT_NAMES, PREROLL, PREROLL_LIB), "sentinel")
script_path = _BUNDLE.path
sentinel_scripts = _BUNDLE.data
pod_command = _BUNDLE.command


def preroll_env(master_set: str, sentinel_hosts: tuple[str, ...], redis_hosts: tuple[str, ...]) -> dict[str, str]:
    """Plain env of the pre-roll Job of the data StatefulSet whose pods are
    ``redis_hosts`` (pod 0 first); REDISCLI_AUTH comes from the admin Secret."""
    return {"MASTER_SET": master_set, "SENTINEL_HOSTS": " ".join(sentinel_hosts),
            "REDIS_HOSTS": " ".join(redis_hosts), USER_ENV: ADMIN}
