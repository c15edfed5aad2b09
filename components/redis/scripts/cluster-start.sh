#!/bin/sh
# Entrypoint of every Redis Cluster pod: sh /scripts/cluster-start.sh
#
# 1. Writes the runtime include (ACL users with their passwords, the
#    replication login, announced hostname) into the in-memory run dir, mode
#    0600, so no secret is ever in the ConfigMap: each line of USERS_ACL
#    (rules, no password) gets the password of its user from ACL_DIR/<user>.
# 2. Repairs nodes.conf before redis reads it. After a full restart every pod
#    has a new IP and nodes.conf still points at the old ones: no node can
#    reach any other and the cluster never heals. Every peer line carries the
#    peer's stable DNS name (cluster-announce-hostname), so we resolve it and
#    write the current IP; our own line gets POD_IP.
# 3. A pod whose volume came back empty (no nodes.conf), or whose repair was
#    interrupted, starts cluster-repair.sh in the background: it rejoins
#    the cluster once redis answers (see that script).
# 4. exec redis-server, so redis is PID 1 and gets the pod's signals.
#
# Environment (pod conventions, see components/redis/cluster_scripts.py):
#   USERS_ACL           default /usr/local/etc/redis/users.acl; `user <name> on <rules>` lines
#   ACL_DIR             default /run/secrets/redis-acl; one password file per user
#                       (the replication user's is also masterauth)
#   POD_NAME            required; downward API metadata.name
#   HEADLESS_SERVICE    required; the StatefulSet's governing Service
#   NAMESPACE           required; downward API metadata.namespace
#   CLUSTER_DOMAIN      default cluster.local
#   POD_IP              downward API status.podIP; default: hostname -i
#   REDIS_CONF          default /usr/local/etc/redis/redis.conf
#   RUNTIME_CONF        default /run/redis/runtime.conf
#   DATA_DIR            default /data (nodes.conf lives here)
#   RESOLVE_TIMEOUT_SECONDS  how long to wait for peers' names, default 20
#   REDIS_TLS           "yes": start redis-tls-reload.sh (renewed certificates
#                       reloaded without a restart); with REDIS_CERT_FILE,
#                       REDIS_KEY_FILE, REDIS_CA_FILE
#
# Names are resolved with getent: glibc's in Debian-based images, musl-utils'
# in Alpine ones (part of the alpine base image, so in redis:*-alpine).
# Lists of host names are split on spaces on purpose; set -f keeps a name
# from ever being taken as a file pattern.
# shellcheck disable=SC2086,SC2116
set -eu
set -f

log() { printf '%s cluster-start: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() { log "ERROR: $*"; exit 1; }
# A pod of an earlier release mounts only the keys it listed, and runs this
# text if its container restarts before the roll reaches it.
[ -r "$(dirname "$0")/acl-lib.sh" ] || die "acl-lib.sh is not mounted here: this pod still has the template of an earlier release; the rolling update replaces it"
. "$(dirname "$0")/acl-lib.sh"

REDIS_CONF="${REDIS_CONF:-/usr/local/etc/redis/redis.conf}"
RUNTIME_CONF="${RUNTIME_CONF:-/run/redis/runtime.conf}"
DATA_DIR="${DATA_DIR:-/data}"
CLUSTER_DOMAIN="${CLUSTER_DOMAIN:-cluster.local}"
RESOLVE_TIMEOUT_SECONDS="${RESOLVE_TIMEOUT_SECONDS:-20}"
NODES_CONF="$DATA_DIR/nodes.conf"
USERS_ACL="${USERS_ACL:-/usr/local/etc/redis/users.acl}"
ACL_DIR="${ACL_DIR:-/run/secrets/redis-acl}"

[ -f "$USERS_ACL" ] || die "the ACL users file $USERS_ACL is missing"
[ -n "${POD_NAME:-}" ] || die "POD_NAME is not set (downward API metadata.name)"
[ -n "${HEADLESS_SERVICE:-}" ] || die "HEADLESS_SERVICE is not set"
[ -n "${NAMESPACE:-}" ] || die "NAMESPACE is not set (downward API metadata.namespace)"
[ -f "$REDIS_CONF" ] || die "redis.conf not found at $REDIS_CONF"
if [ -z "${POD_IP:-}" ]; then
    POD_IP="$(hostname -i | awk '{print $1}')"
    log "POD_IP not set; using $POD_IP from hostname -i"
fi
ANNOUNCE_HOSTNAME="$POD_NAME.$HEADLESS_SERVICE.$NAMESPACE.svc.$CLUSTER_DOMAIN"

write_runtime_conf() {
    run_dir="$(dirname "$RUNTIME_CONF")"
    mkdir -p "$run_dir"
    old_umask="$(umask)"
    umask 077
    tmp="$RUNTIME_CONF.tmp.$$"
    repl_pw="$(acl_quoted_password replication)"
    users="$(acl_user_lines "$USERS_ACL")"
    {
        printf '# Written at start by cluster-start.sh; per pod, not in the ConfigMap.\n'
        printf '%s\n' "$users"
        printf 'masteruser replication\n'
        printf 'masterauth %s\n' "$repl_pw"
        printf 'cluster-announce-hostname %s\n' "$ANNOUNCE_HOSTNAME"
    } >"$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$RUNTIME_CONF"
    umask "$old_umask"
    log "wrote $RUNTIME_CONF (mode 0600): ACL users $(acl_user_names "$USERS_ACL" | tr '\n' ' ')announcing hostname $ANNOUNCE_HOSTNAME"
}

# First address of $1 in POD_IP's family, or nothing.
resolve() {
    case "$POD_IP" in *:*) fam=6 ;; *) fam=4 ;; esac
    { getent "ahostsv$fam" "$1" 2>/dev/null || getent hosts "$1" 2>/dev/null || true; } |
        awk -v fam="$fam" '(fam == 6) == ($1 ~ /:/) { print $1; exit }'
}

# Peer hostnames recorded in nodes.conf (field 2 is ip:port@cport,hostname[,aux=...]).
peer_hostnames() {
    awk '$1 != "vars" && $3 !~ /(^|,)myself(,|$)/ {
        n = split($2, part, ","); if (n >= 2 && part[2] != "") print part[2]
    }' "$NODES_CONF" | sort -u
}

fix_nodes_conf() {
    if [ ! -s "$NODES_CONF" ]; then
        log "no $NODES_CONF yet: this node has never joined a cluster"
        return 0
    fi
    command -v getent >/dev/null 2>&1 || die "getent not found; cannot resolve peer hostnames"
    map="$DATA_DIR/.nodes-conf-ips.$$"
    : >"$map"
    pending="$(peer_hostnames)"
    deadline=$(($(date +%s) + RESOLVE_TIMEOUT_SECONDS))
    # Peers that start at the same time may not be in DNS yet; retry until the
    # deadline, then keep their old address: when they come up they resolve
    # us and their first PING tells us their new address.
    while [ -n "$pending" ]; do
        still=""
        for host in $pending; do
            ip="$(resolve "$host")"
            if [ -n "$ip" ]; then
                printf '%s %s\n' "$host" "$ip" >>"$map"
            else
                still="$still $host"
            fi
        done
        pending="$(echo $still)"
        [ -n "$pending" ] || break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            log "could not resolve $pending within ${RESOLVE_TIMEOUT_SECONDS}s; keeping their old addresses"
            break
        fi
        sleep 1
    done
    tmp="$NODES_CONF.tmp.$$"
    awk -v self_ip="$POD_IP" -v mapfile="$map" '
        BEGIN { while ((getline line < mapfile) > 0) { split(line, kv, " "); ip[kv[1]] = kv[2] } }
        $1 == "vars" { print; next }
        {
            n = split($2, part, ",")
            at = index(part[1], "@"); addr = substr(part[1], 1, at - 1); bus = substr(part[1], at)
            colon = 0
            for (i = length(addr); i > 0; i--) if (substr(addr, i, 1) == ":") { colon = i; break }
            old = substr(addr, 1, colon - 1); port = substr(addr, colon)
            if ($3 ~ /(^|,)myself(,|$)/) new = self_ip
            else if (n >= 2 && (part[2] in ip)) new = ip[part[2]]
            else new = old
            if (new != old) {
                printf "%s %s: %s -> %s\n", $1, (n >= 2 && part[2] != "" ? part[2] : "(no hostname)"), old, new > "/dev/stderr"
                part[1] = new port bus
                $2 = part[1]
                for (i = 2; i <= n; i++) $2 = $2 "," part[i]
            }
            print
        }' "$NODES_CONF" >"$tmp" 2>"$map.changes"
    while IFS= read -r change; do log "nodes.conf: node $change"; done <"$map.changes"
    if [ -s "$map.changes" ]; then
        mv -f "$tmp" "$NODES_CONF"
        log "rewrote $NODES_CONF with current addresses"
    else
        rm -f "$tmp"
        log "$NODES_CONF addresses are current; left unchanged"
    fi
    rm -f "$map" "$map.changes"
}

acl_check_passwords "$USERS_ACL" replication
write_runtime_conf
if [ ! -s "$NODES_CONF" ] || [ -f "$DATA_DIR/.repair-pending" ]; then
    log "starting cluster-repair.sh in the background: it rejoins this node if the cluster lost it"
    REDIS_PID=$$ POD_IP="$POD_IP" sh "$(dirname "$0")/cluster-repair.sh" &
fi
fix_nodes_conf
if [ "${REDIS_TLS:-}" = yes ]; then
    log "TLS on: starting redis-tls-reload.sh in the background: it reloads a renewed certificate without a restart"
    REDIS_PID=$$ REDIS_HOST="$POD_IP" sh "$(dirname "$0")/redis-tls-reload.sh" &
fi
log "starting redis-server $REDIS_CONF"
exec redis-server "$REDIS_CONF"
