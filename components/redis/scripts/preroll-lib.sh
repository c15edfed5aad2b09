# Helpers shared by both modes' pre-roll scripts (cluster-preroll.sh,
# sentinel-preroll.sh). Sourced, not run, after the script defines log. POSIX
# sh: runs under busybox sh (redis:7.2-alpine) and Debian's dash.
# Only the pre-roll Jobs mount it: a Job is a new pod each time, so it never
# meets a pod of an earlier release, and the data pods' config hash does not
# cover it.

# within SECONDS WHAT COMMAND [ARG...]: runs COMMAND (in this shell) once a
# second until it succeeds, and fails once SECONDS have passed without. When
# the first try fails it logs "waiting up to SECONDS s for WHAT" (WHAT empty:
# no line). Leaves the seconds it slept in $waited.
within() {
    _bound="$1"
    _what="$2"
    shift 2
    waited=0
    until "$@"; do
        [ "$waited" -lt "$_bound" ] || return 1
        [ "$waited" -gt 0 ] || [ -z "$_what" ] || log "waiting up to ${_bound}s for $_what"
        sleep 1
        waited=$((waited + 1))
    done
}
