#!/bin/sh
# Backup CronJob, first step (init container, redis image):
#   sh /scripts/backup-snapshot.sh
# Takes a point-in-time RDB snapshot of every master (redis-cli --rdb asks
# the master for a fresh RDB over the replication protocol, as a replica
# would) into OUT_DIR, checks each file with redis-check-rdb, and writes
# OUT_DIR/manifest.json (deployment, mode, shards with slot ranges and key
# counts, time) and OUT_DIR/backup-path (<deployment>/<YYYY-MM-DD>/<id>),
# which the upload step reads. Shards are snapshotted in parallel, and the
# layout is read again afterwards: a failover or slot move during the backup
# makes it fail (the Job retries) rather than upload a mixed set.
#
# Environment:
#   MODE              cluster | sentinel                     (required)
#   DEPLOYMENT        deployment name                        (required)
#   OUT_DIR           where the files go                     (required)
#   REDISCLI_AUTH     the password                           (required)
#   CLUSTER_NODES     cluster: space-separated node hosts to ask for the layout
#   SENTINEL_HOSTS, MASTER_SET   sentinel: how to find the master
#   REDIS_PORT (6379), SENTINEL_PORT (26379), SNAPSHOT_TIMEOUT (seconds per shard, 3600)
set -eu
SCRIPT_NAME=backup-snapshot
. "$(dirname "$0")/ops-lib.sh"

require_env MODE DEPLOYMENT OUT_DIR REDISCLI_AUTH
SNAPSHOT_TIMEOUT="${SNAPSHOT_TIMEOUT:-3600}"
mkdir -p "$OUT_DIR"
# When the run began, for the duration the upload step reports.
date +%s >"$OUT_DIR/started"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
backup_id="$(date -u +%Y%m%dT%H%M%SZ)"
day="$(date -u +%Y-%m-%d)"
shards="$OUT_DIR/.shards"

layout() {
    case "$MODE" in
        cluster)
            cluster_nodes_from "$CLUSTER_NODES" | masters_by_slot
            ;;
        sentinel)
            m=$(sentinel_master)
            [ -n "$m" ] && printf '0 - %s\n' "$m"
            ;;
    esac
}

case "$MODE" in
    cluster)
        require_env CLUSTER_NODES
        state=""
        for seed in $CLUSTER_NODES; do
            state=$(cli "$seed" -- cluster info | awk -F: '$1 == "cluster_state" { print $2 }')
            [ -z "$state" ] || break
        done
        [ "$state" = "ok" ] || die "cluster state is '${state:-no answer}', not ok; not backing up a broken cluster"
        ;;
    sentinel) require_env SENTINEL_HOSTS MASTER_SET ;;
    *) die "MODE must be cluster or sentinel, got '$MODE'" ;;
esac

before=$(layout) || true
[ -n "$before" ] || die "could not find any master of $DEPLOYMENT"
log "backup $backup_id of $DEPLOYMENT ($MODE): $(printf '%s\n' "$before" | wc -l | tr -d ' ') master(s)"

: >"$shards"
pids=""
i=0
while read -r _first id host port ranges; do
    file="shard-$i.rdb"
    log "shard $i: snapshot of master $host:$port${ranges:+ (slots$ranges)} into $file"
    timeout "$SNAPSHOT_TIMEOUT" redis-cli $CLI_USER $TLS_ARGS --no-auth-warning -h "$host" -p "$port" --rdb "$OUT_DIR/$file" \
        >"$OUT_DIR/.shard-$i.log" 2>&1 &
    pids="$pids $!"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$file" "$id" "$host" "$port" "$ranges" >>"$shards"
    i=$((i + 1))
done <<SHARDS
$before
SHARDS

i=0
for pid in $pids; do
    if ! wait "$pid"; then
        cat "$OUT_DIR/.shard-$i.log" >&2
        die "snapshot of shard $i failed or took longer than ${SNAPSHOT_TIMEOUT}s"
    fi
    i=$((i + 1))
done

after=$(layout) || true
if [ "$(printf '%s\n' "$before" | awk '{ $1 = ""; print }')" != "$(printf '%s\n' "$after" | awk '{ $1 = ""; print }')" ]; then
    die "the masters or their slots changed while the snapshots were taken; not keeping a mixed backup"
fi

# Key count and size of each file; redis-check-rdb also verifies its checksum.
: >"$shards.full"
while IFS="$(printf '\t')" read -r n file id host port ranges; do
    check=$(redis-check-rdb "$OUT_DIR/$file" 2>&1) || { printf '%s\n' "$check" >&2; die "$file is not a valid RDB file"; }
    keys=$(printf '%s\n' "$check" | awk '/keys read/ { print $2 }')
    bytes=$(wc -c <"$OUT_DIR/$file" | tr -d ' ')
    log "shard $n: $file holds ${keys:-0} keys in $bytes bytes (checksum OK)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$file" "$id" "$host" "$port" "${keys:-0}" "$bytes" "$ranges" >>"$shards.full"
done <"$shards"

# manifest.json: values are escaped for JSON; numbers stay numbers.
awk -F '\t' -v dep="$DEPLOYMENT" -v mode="$MODE" -v id="$backup_id" -v created="$created" '
    function js(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
    {
        n = split($8, r, " "); slots = ""
        for (i = 1; i <= n; i++) slots = slots (slots == "" ? "" : ", ") js(r[i])
        total += $6
        shard[NR] = sprintf("    {\"shard\": %d, \"file\": %s, \"nodeId\": %s, \"host\": %s, \"port\": %d, \"keys\": %d, \"bytes\": %d, \"slots\": [%s]}",
            $1, js($2), js($3), js($4), $5, $6, $7, slots)
    }
    END {
        printf "{\n  \"formatVersion\": 1,\n  \"deployment\": %s,\n  \"mode\": %s,\n  \"backupId\": %s,\n  \"createdAt\": %s,\n  \"totalKeys\": %d,\n  \"shards\": [\n", js(dep), js(mode), js(id), js(created), total
        for (i = 1; i <= NR; i++) printf "%s%s\n", shard[i], (i < NR ? "," : "")
        printf "  ]\n}\n"
    }' "$shards.full" >"$OUT_DIR/manifest.json"
printf '%s/%s/%s\n' "$DEPLOYMENT" "$day" "$backup_id" >"$OUT_DIR/backup-path"
i=0
for _ in $pids; do rm -f "$OUT_DIR/.shard-$i.log"; i=$((i + 1)); done
rm -f "$shards" "$shards.full"
log "backup $backup_id ready: $(awk -F: '/"totalKeys"/ { gsub(/[ ,]/, "", $2); print $2 }' "$OUT_DIR/manifest.json") keys in $i file(s) plus manifest.json"
