#!/bin/sh
# Failover drill (on-demand Job, redis image): sh /scripts/failover-drill.sh
# 1. checks the deployment is healthy (refuses to drill otherwise);
# 2. writes continuously (one key per write, each acknowledged or refused,
#    timed) to the shard under test;
# 3. fails that shard's master over: gracefully (CLUSTER FAILOVER on its
#    replica; in Sentinel mode the pause-and-hand-over of the data node's
#    preStop script), or in hard mode by killing it (SHUTDOWN NOSAVE; the
#    kubelet restarts the container);
# 4. keeps writing, then checks every acknowledged key is present, waits
#    until the deployment is healthy again, moves the master role back to
#    the original node (cluster), deletes the drill keys and prints a report.
# Exit 0 when the report says PASS.
#
# Environment:
#   MODE            cluster | sentinel                                 (required)
#   DEPLOYMENT      name in the report                                 (required)
#   REDISCLI_AUTH   the password                                       (required)
#   DRILL_MODE      graceful | hard (default graceful)
#   CLUSTER_NODES   cluster: space-separated node hosts
#   SHARD           cluster: which master, by slot order (default 0)
#   SENTINEL_HOSTS, MASTER_SET, WRITE_HOST, WRITE_PORT   sentinel: the
#                   Sentinels and the client write endpoint (HAProxy)
#   HANDOVER_SCRIPT sentinel graceful: path of sentinel-redis-prestop.sh
#   WARMUP_SECONDS (3), AFTER_SECONDS (5), FAILOVER_TIMEOUT (60), HEAL_TIMEOUT (300)
set -eu
SCRIPT_NAME=failover-drill
. "$(dirname "$0")/ops-lib.sh"

require_env MODE DEPLOYMENT REDISCLI_AUTH
DRILL_MODE="${DRILL_MODE:-graceful}"
SHARD="${SHARD:-0}"
WARMUP_SECONDS="${WARMUP_SECONDS:-3}"
AFTER_SECONDS="${AFTER_SECONDS:-5}"
FAILOVER_TIMEOUT="${FAILOVER_TIMEOUT:-60}"
HEAL_TIMEOUT="${HEAL_TIMEOUT:-300}"
case "$DRILL_MODE" in graceful | hard) ;; *) die "DRILL_MODE must be graceful or hard, got '$DRILL_MODE'" ;; esac
work="$(mktemp -d)"
stop_file="$work/stop"
wlog="$work/writes"
run_id="$(date +%s)"
trap '[ -d "$work" ] && touch "$stop_file"' EXIT

role_of() { info_field "$1" replication role; }

# Every node: state ok, nobody flagged failing, and the same roles as the others.
cluster_healthy() {
    _first=""
    for n in $CLUSTER_NODES; do
        [ "$(cli "$n" -- cluster info | awk -F: '$1 == "cluster_state" { print $2 }')" = "ok" ] || return 1
        _view=$(cli "$n" -- cluster nodes)
        printf '%s\n' "$_view" | grep -q 'fail' && return 1
        _roles=$(printf '%s\n' "$_view" | awk '{ print $1, ($3 ~ /master/ ? "master" : "replica"), $4 }' | sort)
        [ -n "$_first" ] || _first=$_roles
        [ "$_roles" = "$_first" ] || return 1
    done
    return 0
}

sentinel_healthy() {
    m=$(sentinel_master)
    [ -n "$m" ] || return 1
    set -- $m
    info=$(cli "$1" "$2" -- info replication)
    printf '%s\n' "$info" | grep -q '^role:master' || return 1
    n=$(printf '%s\n' "$info" | awk -F: '$1 == "connected_slaves" { print $2 }')
    [ "${n:-0}" -ge "${REPLICAS:-1}" ] || return 1
    ! printf '%s\n' "$info" | grep '^slave[0-9]' | grep -qv 'state=online'
}

healthy() { if [ "$MODE" = cluster ]; then cluster_healthy; else sentinel_healthy; fi; }

wait_healthy() {
    _deadline=$(($(now_s) + HEAL_TIMEOUT))
    until healthy; do
        [ "$(now_s)" -lt "$_deadline" ] || return 1
        sleep 1
    done
}

# -- 1. health and the shard under test ------------------------------------
case "$MODE" in
    cluster)
        require_env CLUSTER_NODES
        healthy || die "the cluster is not healthy; not starting a drill"
        nodes=$(cluster_nodes_from "$CLUSTER_NODES")
        line=$(printf '%s\n' "$nodes" | masters_by_slot | sed -n "$((SHARD + 1))p")
        [ -n "$line" ] || die "there is no shard $SHARD"
        set -- $line
        victim_id=$2 victim=$3 victim_port=$4
        shift 4
        slots="$*"
        replica=$(printf '%s\n' "$nodes" | replicas_list | awk -v m="$victim_id" '$4 == m { print $2; exit }')
        [ -n "$replica" ] || die "master $victim of shard $SHARD has no replica to fail over to"
        # A hash tag whose slot this shard owns: every drill write goes to it.
        tag=""
        t=0
        while [ "$t" -lt 1000 ] && [ -z "$tag" ]; do
            s=$(cli "$victim" -- cluster keyslot "{drill$t}")
            for r in $slots; do
                lo=${r%-*} hi=${r#*-}
                if [ "$s" -ge "$lo" ] && [ "$s" -le "$hi" ]; then tag="drill$t"; fi
            done
            t=$((t + 1))
        done
        [ -n "$tag" ] || die "found no hash tag for the slots of shard $SHARD"
        write_host=$(for n in $CLUSTER_NODES; do [ "$n" != "$victim" ] && echo "$n"; done | head -n 1)
        write_port=$REDIS_PORT
        cflag="-c"
        key_prefix="drill:{$tag}:$run_id"
        ;;
    sentinel)
        require_env SENTINEL_HOSTS MASTER_SET WRITE_HOST
        healthy || die "the master set is not healthy; not starting a drill"
        set -- $(sentinel_master)
        victim=$1 victim_port=$2 slots="all"
        replica="(chosen by the Sentinels)"
        write_host=$WRITE_HOST write_port=${WRITE_PORT:-6379} cflag=""
        key_prefix="drill:$run_id"
        ;;
    *) die "MODE must be cluster or sentinel, got '$MODE'" ;;
esac
log "drill ($DRILL_MODE) on $DEPLOYMENT: master $victim:$victim_port (slots $slots), writes via $write_host:$write_port"

# -- 2. the writer -------------------------------------------------------------
writer() {
    i=0
    wdeadline=$(($(now_s) + FAILOVER_TIMEOUT + HEAL_TIMEOUT + WARMUP_SECONDS + AFTER_SECONDS))
    while [ ! -f "$stop_file" ] && [ "$(now_s)" -lt "$wdeadline" ]; do
        i=$((i + 1))
        t0=$(now_ms)
        r=$(timeout 5 redis-cli $CLI_USER $TLS_ARGS --no-auth-warning $cflag -h "$write_host" -p "$write_port" set "$key_prefix:$i" "$i" EX 86400 2>&1 | tr -d '\r') || true
        t1=$(now_ms)
        if [ "$r" = "OK" ]; then s=OK; else s=ERR; fi
        printf '%s %s %s %s\n' "$i" "$t0" "$t1" "$s" >>"$wlog"
    done
}
: >"$wlog"
writer &
writer_pid=$!
sleep "$WARMUP_SECONDS"

# -- 3. the failover -------------------------------------------------------------
started=$(now_ms)
if [ "$DRILL_MODE" = hard ]; then
    log "killing master $victim (SHUTDOWN NOSAVE)"
    cli "$victim" "$victim_port" -- shutdown nosave >/dev/null || true
elif [ "$MODE" = cluster ]; then
    log "asking replica $replica for CLUSTER FAILOVER"
    [ "$(cli "$replica" -- cluster failover)" = "OK" ] || die "CLUSTER FAILOVER refused by $replica"
else
    require_env HANDOVER_SCRIPT
    log "handing the master role over with $HANDOVER_SCRIPT"
    LOCAL_REDIS_HOST="$victim" REDIS_ANNOUNCE_HOST="$victim" \
        sh "$HANDOVER_SCRIPT" "$FAILOVER_TIMEOUT" || log "the handover script failed; waiting for the Sentinels"
fi

new_master=""
deadline=$(($(now_s) + FAILOVER_TIMEOUT))
while [ -z "$new_master" ] && [ "$(now_s)" -lt "$deadline" ]; do
    if [ "$MODE" = cluster ]; then
        new_master=$(cluster_nodes_from "$write_host" | masters_by_slot | awk -v s="${slots%%-*}" -v v="$victim" '$1 == s && $3 != v { print $3 }')
    else
        m=$(sentinel_master)
        [ -n "$m" ] && [ "${m% *}" != "$victim" ] && new_master=${m% *}
    fi
    [ -n "$new_master" ] || sleep 0.2
done
failover_ms=$(($(now_ms) - started))
[ -n "$new_master" ] || log "no new master within ${FAILOVER_TIMEOUT}s"
log "new master: ${new_master:-none} after ${failover_ms} ms"
sleep "$AFTER_SECONDS"
touch "$stop_file"
wait "$writer_pid" || true

# -- 4. healthy again, the original layout back, every acknowledged write there --
heal_start=$(now_s)
healthy_end=yes
wait_healthy || healthy_end=no
if [ "$MODE" = cluster ] && [ "$healthy_end" = yes ] && [ "$(role_of "$victim")" = "slave" ]; then
    log "moving the master role back to $victim"
    cli "$victim" -- cluster failover >/dev/null || true
    deadline=$(($(now_s) + FAILOVER_TIMEOUT))
    until [ "$(role_of "$victim")" = "master" ] || [ "$(now_s)" -ge "$deadline" ]; do sleep 0.2; done
    wait_healthy || healthy_end=no
fi
heal_s=$(($(now_s) - heal_start))

awk -v p="$key_prefix" '$4 == "OK" { print "GET " p ":" $1 }' "$wlog" |
    redis-cli $CLI_USER $TLS_ARGS --no-auth-warning $cflag -h "$write_host" -p "$write_port" 2>/dev/null | tr -d '\r' |
    grep -v '^-> Redirected' >"$work/values" || true
lost=$(awk '$4 == "OK" { print $1 }' "$wlog" | paste -d ' ' - "$work/values" | awk '$1 != $2 { n++ } END { print n + 0 }')
awk -v p="$key_prefix" '{ print "DEL " p ":" $1 }' "$wlog" |
    redis-cli $CLI_USER $TLS_ARGS --no-auth-warning $cflag -h "$write_host" -p "$write_port" >/dev/null 2>&1 || log "could not delete the drill keys (they expire in a day)"

stats=$(awk '
    { n++; lat = $3 - $2; if (lat > maxlat) maxlat = lat }
    $4 == "OK" { ok++; if (inrun) { w = $2 - runstart; total += w; if (w > longest) longest = w; inrun = 0 } }
    $4 == "ERR" { err++; if (!inrun) { inrun = 1; runstart = $2 } }
    END { if (inrun) { w = $3 - runstart; total += w; if (w > longest) longest = w }
          printf "%d %d %d %d %d %d\n", n, ok, err, longest, total, maxlat }' "$wlog")
set -- $stats
result=PASS
[ "$healthy_end" = yes ] || result=FAIL
[ -n "$new_master" ] || result=FAIL
if [ "$DRILL_MODE" = graceful ] && [ "$lost" -gt 0 ]; then result=FAIL; fi
[ "$2" -gt 0 ] || result=FAIL

cat <<REPORT
failover drill report
  deployment:                 $DEPLOYMENT ($MODE)
  drill:                      $DRILL_MODE
  shard:                      $victim:$victim_port (slots $slots)
  new master:                 ${new_master:-none} (failover took $failover_ms ms)
  writes attempted:           $1
  writes acknowledged:        $2
  writes refused:             $3
  writes refused for:         $4 ms (longest stretch; $5 ms in all)
  slowest write:              $6 ms
  acknowledged writes lost:   $lost
  healthy again after:        ${heal_s} s (healthy: $healthy_end)
  result:                     $result
REPORT
rm -rf "$work"
[ "$result" = PASS ]
