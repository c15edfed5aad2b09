#!/bin/sh
# Reloads a renewed certificate into the running redis-server, no restart:
# started in the background by the data pods' start scripts (TLS on only)
# just before they exec redis-server; lives as long as that redis does.
#
# cert-manager renews the Certificate into its Secret; the kubelet swaps the
# mounted files (the Secret is mounted as a directory, never with subPath).
# Redis reads its certificate files only at start and on CONFIG SET of a
# tls-* file option (Redis 7 re-reads the files even when the path is the
# same), so every TLS_RELOAD_INTERVAL_SECONDS this compares a checksum of the
# three files and, when it changed, sets the same paths again. A failed
# reload (a key that does not match its certificate yet) is logged and
# retried at the next round; the old certificate keeps serving meanwhile.
#
# Sentinel (TLS_RELOAD_MODE=restart) cannot reload: it has no CONFIG SET
# and SENTINEL CONFIG SET refuses the tls-* options (Redis 7.0 and 7.2). It
# is stopped instead (SIGTERM to REDIS_PID, the container's PID 1), and the
# kubelet starts it again with the new files. Every Sentinel sees the renewed
# Secret at about the same time, so each waits TLS_RESTART_STAGGER_SECONDS
# times its ordinal (from POD_NAME) first: one Sentinel at a time is away,
# the others keep their majority. The old certificate stays valid for
# renewBefore (30 days), far longer than the stagger.
#
# Environment: REDIS_USER and REDISCLI_AUTH (the ACL user it logs in as,
# admin, and its password, as the start scripts have them), REDIS_CERT_FILE, REDIS_KEY_FILE, REDIS_CA_FILE,
# REDIS_PID (stop when it is gone); optional REDIS_HOST (127.0.0.1),
# REDIS_PORT (6379), TLS_RELOAD_INTERVAL_SECONDS (60), TLS_RELOAD_MODE
# (config-set or restart), POD_NAME and TLS_RESTART_STAGGER_SECONDS (120)
# for restart.
# shellcheck disable=SC2086
set -u

log() { printf '%s redis-tls-reload: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }

HOST="${REDIS_HOST:-127.0.0.1}"
PORT="${REDIS_PORT:-6379}"
INTERVAL="${TLS_RELOAD_INTERVAL_SECONDS:-60}"
MODE="${TLS_RELOAD_MODE:-config-set}"
STAGGER="${TLS_RESTART_STAGGER_SECONDS:-120}"
export REDISCLI_AUTH="${REDISCLI_AUTH:-}"
CLI_USER="${REDIS_USER:+--user $REDIS_USER}"

files_sum() { cat "$REDIS_CERT_FILE" "$REDIS_KEY_FILE" "$REDIS_CA_FILE" 2>/dev/null | md5sum; }
redis_alive() { kill -0 "$REDIS_PID" 2>/dev/null; }

reload() {
    timeout 10 redis-cli $CLI_USER --tls --cacert "$REDIS_CA_FILE" -h "$HOST" -p "$PORT" config set \
        tls-cert-file "$REDIS_CERT_FILE" tls-key-file "$REDIS_KEY_FILE" tls-ca-cert-file "$REDIS_CA_FILE" 2>&1 | tr -d '\r'
}

loaded="$(files_sum)"
log "watching $REDIS_CERT_FILE, $REDIS_KEY_FILE, $REDIS_CA_FILE every ${INTERVAL}s"
# Bounded by redis's life: the loop ends within one interval of redis exiting.
while redis_alive; do
    sleep "$INTERVAL"
    now="$(files_sum)"
    [ "$now" != "$loaded" ] || continue
    if [ "$MODE" = restart ]; then
        ordinal="${POD_NAME##*-}"
        case "$ordinal" in '' | *[!0-9]*) ordinal=0 ;; esac
        delay=$((ordinal * STAGGER))
        log "certificate files changed; this process cannot reload them: restarting it in ${delay}s (ordinal $ordinal x ${STAGGER}s)"
        sleep "$delay"
        redis_alive || break
        log "stopping pid $REDIS_PID so it starts again with the renewed certificate"
        kill -TERM "$REDIS_PID" 2>/dev/null
        break
    fi
    answer="$(reload)"
    if [ "$answer" = "OK" ]; then
        loaded="$now"
        log "certificate files changed: reloaded into redis (CONFIG SET), no restart"
    else
        log "certificate files changed but redis refused them (${answer:-no answer}); retrying in ${INTERVAL}s"
    fi
done
log "redis (pid $REDIS_PID) is gone; stopping"
