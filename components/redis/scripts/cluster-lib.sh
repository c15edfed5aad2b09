#!/bin/sh
# Functions shared by cluster-bootstrap.sh (the Job), cluster-repair.sh
# (a data pod back with an empty volume) and cluster-preroll.sh: the
# cluster's node table, the pods' zones and zone-aware pairing, and the
# check that every master claims the slots it is routed. Sourced, not run:
#   . "$(dirname "$0")/cluster-lib.sh"
# POSIX sh: busybox sh (redis:*-alpine) and Debian's dash; busybox awk.
#
# The sourcing script defines:
#   cli HOST ARGS...  redis-cli as the admin user, each call bounded
#   log MSG           one log line
#   die MSG           stop the script, saying why
#   settle REF HOST...  wait (bounded) until the cluster seen from REF agrees
#                     after a swap; HOST...: the replicas that changed master
# Reads NODE_ZONES ("<pod host name>=<zone> ..."), or, when that is empty,
# the file NODE_ZONES_FILE (the same, one a line: written by cluster-zones.sh
# into the Job's emptyDir and into the ConfigMap <deployment>-zones that the
# data pods mount). Without either, nothing zone-related happens.
# shellcheck shell=sh disable=SC2086

# CLUSTER NODES lines without failed or handshake entries.
live_nodes() { cli "$1" cluster nodes | awk '$3 !~ /(^|,)(fail|handshake|noaddr)(,|$)/'; }

# "id role master-id" per node, as $1 sees the cluster.
roles_seen_by() {
    live_nodes "$1" | awk '{ r = ($3 ~ /(^|,)master(,|$)/) ? "master" : "slave"; print $1, r, $4 }' | sort
}

# The hostname a CLUSTER NODES line announces (field 2: addr@bus,hostname),
# its address when it announces none. Lines on stdin, "id hostname" out.
ids_and_hosts() { awk '{ n = split($2, a, ","); split(a[1], b, ":"); print $1, (n >= 2 && a[2] != "") ? a[2] : b[1] }'; }
host_of_id() { live_nodes "$1" | ids_and_hosts | awk -v id="$2" '$1 == id { print $2 }'; }

# NODE_ZONES from NODE_ZONES_FILE when only the file is given. An absent or
# empty file leaves NODE_ZONES empty: pairing by address, as without zones.
load_node_zones() {
    if [ -z "${NODE_ZONES:-}" ] && [ -n "${NODE_ZONES_FILE:-}" ] && [ -s "$NODE_ZONES_FILE" ]; then
        NODE_ZONES="$(cat "$NODE_ZONES_FILE")"
        log "zones of the pods read from $NODE_ZONES_FILE ($(printf '%s\n' $NODE_ZONES | wc -l | tr -d ' ') pods)"
    fi
    NODE_ZONES="${NODE_ZONES:-}"
}

# Zone of a pod host name; empty when the map does not name it.
zone_of() { printf '%s\n' $NODE_ZONES | awk -F= -v h="$1" '$1 == h { print $2; exit }'; }

# "id role master zone" per live node as $1 sees it; zone "?" when unknown.
# A node only suspected of failing (fail?) is left out too: a lost pod's
# old identity must not count as a copy in its zone.
zone_rows() {
    _zr_view="$(live_nodes "$1" | awk '$3 !~ /fail/')"
    printf '%s\n' "$_zr_view" | ids_and_hosts | while read -r _zr_id _zr_h; do
        _zr_z="$(zone_of "$_zr_h")"
        printf '%s\n' "$_zr_view" | awk -v id="$_zr_id" -v z="${_zr_z:-?}" '
            $1 == id { print $1, (($3 ~ /(^|,)master(,|$)/) ? "master" : "slave"), $4, z }'
    done
}

# True when shard $2 (a master ID), with a copy in zone $3 added, would span
# more than one zone, as $1 sees it. A copy of unknown zone never counts as
# another zone.
spans_zones_with() {
    zone_rows "$1" | awk -v m="$2" -v z="$3" '
        ($1 == m || ($2 == "slave" && $3 == m)) && $4 != "?" && $4 != z { f = 1 }
        END { exit !f }'
}

# No shard keeps its master and all its replicas in one zone when a swap of
# two replicas between shards can fix it: --cluster create pairs by address,
# never by zone, and a repaired pod joins the shard that lacks a replica.
# Each swap is two CLUSTER REPLICATE, and only when the other shard stays
# spread too; a copy of unknown zone (a pod the map does not name) is never
# moved and never makes a shard count as one-zone. Without NODE_ZONES,
# nothing is checked. Running it again on a spread cluster changes nothing.
fix_pairing() {
    [ -n "${NODE_ZONES:-}" ] || return 0
    _fp_ref="$1"
    _fp_tries=0
    while [ "$_fp_tries" -lt 20 ]; do
        _fp_tries=$((_fp_tries + 1))
        _fp_rows="$(zone_rows "$_fp_ref")"
        # A shard whose master and replicas all share one known zone: "master replica zone".
        _fp_bad="$(printf '%s\n' "$_fp_rows" | awk '
            $2 == "master" { mz[$1] = $4 }
            $2 == "slave" { n[$3]++; if (z[$3] == "") z[$3] = $4; else if (z[$3] != $4) mixed[$3] = 1; rep[$3] = $1 }
            END { for (m in mz) if (mz[m] != "?" && n[m] > 0 && !mixed[m] && z[m] == mz[m]) { print m, rep[m], mz[m]; exit } }')"
        if [ -z "$_fp_bad" ]; then
            log "pairing: every shard has a copy outside its master's zone (or no other zone can help)"
            return 0
        fi
        set -- $_fp_bad
        _fp_am="$1" _fp_ar="$2" _fp_az="$3"
        # A replica S of another shard B, in another known zone, such that B
        # (master of known zone, not this one) stays spread after R comes in.
        _fp_swap="$(printf '%s\n' "$_fp_rows" | awk -v am="$_fp_am" -v az="$_fp_az" '
            $2 == "master" { mz[$1] = $4 }
            $2 == "slave" { id[NR] = $1; m[NR] = $3; z[NR] = $4 }
            END {
                for (i in id) if (m[i] != am && z[i] != "?" && z[i] != az && mz[m[i]] != "" && mz[m[i]] != "?" && mz[m[i]] != az) { print id[i], m[i]; exit }
            }')"
        if [ -z "$_fp_swap" ]; then
            log "pairing: shard $_fp_am has every copy in zone $_fp_az, and no replica elsewhere can swap with it; left as is"
            return 0
        fi
        set -- $_fp_swap
        _fp_br="$1" _fp_bm="$2"
        _fp_ah="$(host_of_id "$_fp_ref" "$_fp_ar")"
        _fp_bh="$(host_of_id "$_fp_ref" "$_fp_br")"
        log "pairing: shard $_fp_am has every copy in zone $_fp_az; swapping its replica $_fp_ar with $_fp_br (shard $_fp_bm)"
        [ "$(cli "$_fp_ah" cluster replicate "$_fp_bm")" = "OK" ] || die "CLUSTER REPLICATE $_fp_ar $_fp_bm failed"
        [ "$(cli "$_fp_bh" cluster replicate "$_fp_am")" = "OK" ] || die "CLUSTER REPLICATE $_fp_br $_fp_am failed"
        settle "$_fp_ref" "$_fp_ah" "$_fp_bh"
    done
    die "pairing: still not spread after $_fp_tries swaps"
}

# Slot numbers, one a line, from CLUSTER NODES slot fields on stdin (fields
# 9.. of a line; the "[slot->-id]" markers of an open slot are left out).
expand_slots() {
    tr ' ' '\n' | awk '/^[0-9]/ { n = split($1, r, "-"); for (s = r[1] + 0; s <= r[n] + 0; s++) print s }'
}

# Host names alone of CLUSTER NODES lines on stdin.
host_of_line() { ids_and_hosts | cut -d' ' -f2; }

# Redis 7.0.13-7.0.15 and 7.2.0-7.2.3 (redis/redis#12564) can leave a master
# that no longer claims a slot every other node still routes to it: clients
# get "Hash slot not served" for its keys. Lines "id host slot", one per such
# slot, for the masters with slots as $1 sees them; a master's routes are
# read from another node than itself (its own table is the one in doubt). A
# node whose own table says it is no master is left to the caller's wait: a
# failover in flight.
routed_unclaimed() {
    _ru_view="$(live_nodes "$1")"
    _ru_other="$(printf '%s\n' "$_ru_view" | awk '$3 !~ /(^|,)myself(,|$)/' | host_of_line | head -n 1)"
    _ru_others="$(cli "$_ru_other" cluster nodes)"
    printf '%s\n' "$_ru_view" | awk '$3 ~ /(^|,)master(,|$)/ && NF >= 9 { print $1 }' | while read -r _ru_id; do
        _ru_line="$(printf '%s\n' "$_ru_view" | awk -v id="$_ru_id" '$1 == id')"
        case "$_ru_line" in *myself*) _ru_line="$(printf '%s\n' "$_ru_others" | awk -v id="$_ru_id" '$1 == id')" ;; esac
        _ru_host="$(printf '%s\n' "$_ru_line" | host_of_line)"
        _ru_own="$(cli "$_ru_host" cluster nodes | awk '$3 ~ /(^|,)myself(,|$)/')"
        printf '%s\n' "$_ru_own" | awk '$3 ~ /(^|,)master(,|$)/ { f = 1 } END { exit !f }' || continue
        { printf '%s\n' "$_ru_own" | cut -d' ' -f9- | expand_slots; echo -; printf '%s\n' "$_ru_line" | cut -d' ' -f9- | expand_slots; } |
            awk -v id="$_ru_id" -v h="$_ru_host" '$0 == "-" { routed = 1; next } !routed { own[$0] = 1; next } !($0 in own) { print id, h, $0 }'
    done
}

# One pass over routed_unclaimed's lines on stdin: each slot is claimed back
# on the master the cluster routes it to (CLUSTER SETSLOT <slot> NODE <its
# own ID>: no key moves, and its epoch, already the one the others route
# by, does not change) when none of its replicas holds more of the slot's
# keys than it does; otherwise it stops, saying which copy to keep.
# $1: the node whose view names the replicas.
reclaim_routed_slots() {
    _rs_view="$(live_nodes "$1")"
    _rs_n=0
    while read -r _rs_id _rs_host _rs_slot; do
        _rs_n=$((_rs_n + 1))
        [ "$_rs_n" -le 256 ] || die "more than 256 slots are routed to masters that do not claim them; that is no known race: look at CLUSTER NODES on each master by hand"
        _rs_mine="$(cli "$_rs_host" cluster countkeysinslot "$_rs_slot")"
        for _rs_r in $(printf '%s\n' "$_rs_view" | awk -v m="$_rs_id" '$4 == m' | host_of_line); do
            _rs_theirs="$(cli "$_rs_r" cluster countkeysinslot "$_rs_slot")"
            [ "${_rs_theirs:-0}" -le "${_rs_mine:-0}" ] ||
                die "slot $_rs_slot: the cluster routes it to $_rs_host, which does not claim it (redis/redis#12564), and its replica $_rs_r holds more of its keys ($_rs_theirs against ${_rs_mine:-unknown}): claiming it back there would drop them; keep $_rs_r's copy (docs/operations.md, \"A slot no master serves\")"
        done
        _rs_ok="$(cli "$_rs_host" cluster setslot "$_rs_slot" node "$_rs_id")"
        [ "$_rs_ok" = OK ] || die "slot $_rs_slot: CLUSTER SETSLOT on $_rs_host refused (${_rs_ok:-no answer})"
        log "slot $_rs_slot: the cluster routes it to $_rs_host, which did not claim it (redis/redis#12564); claimed back there (keys in it: ${_rs_mine:-0}; no replica holds more)"
    done
}

# Waits until every master claims the slots the cluster (as $1 sees it)
# routes to it: 10 s for gossip in flight, then one pass of
# reclaim_routed_slots, then at most $2 more seconds for it to show.
settle_claims() {
    _sc_n=0
    while [ -n "$(routed_unclaimed "$1")" ]; do
        _sc_n=$((_sc_n + 1))
        if [ "$_sc_n" -eq 10 ]; then routed_unclaimed "$1" | reclaim_routed_slots "$1" || exit 1; fi
        [ "$_sc_n" -lt $((10 + $2)) ] ||
            die "slots still routed to a master that does not claim them after ${2}s: $(routed_unclaimed "$1" | awk '{ print $3 " on " $2 }' | tr '\n' ' ')"
        sleep 1
    done
}
