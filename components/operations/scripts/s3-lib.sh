# S3 helpers of the upload, download and preStop scripts (aws-cli image).
# Sourced, not run. POSIX sh.
#
# Reads: BUCKET (required), PREFIX (key prefix, may be empty), S3_ENDPOINT
# (an S3-compatible endpoint for on-prem object stores; empty on AWS),
# AWS_CLI (the aws program, default aws), S3_TIMEOUT (seconds per transfer,
# default 1800). Credentials come the aws CLI's usual way: IRSA web identity
# on EKS, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from a Secret elsewhere.
AWS_CLI="${AWS_CLI:-aws}"
S3_TIMEOUT="${S3_TIMEOUT:-1800}"

log() { printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${SCRIPT_NAME:-s3}" "$*" >&2; }
die() { log "STOPPED: $*"; exit 1; }

# Stops, naming the first one, unless every variable named is set and non-empty.
require_env() {
    for _name in "$@"; do
        eval "_value=\${$_name:-}"
        [ -n "$_value" ] || die "$_name is not set"
    done
}

# s3://bucket/prefix/$1 with no doubled slashes.
s3_uri() {
    _p="${PREFIX:-}"
    _p="${_p#/}"
    _p="${_p%/}"
    if [ -n "$_p" ]; then printf 's3://%s/%s/%s\n' "$BUCKET" "$_p" "$1"; else printf 's3://%s/%s\n' "$BUCKET" "$1"; fi
}

# CREDENTIALS_SECRET names the Secret the keys come from; the pods mount it
# optionally, so a missing one shows up here, by name, not as a pod that
# never starts.
s3_credentials_ok() {
    if [ -n "${CREDENTIALS_SECRET:-}" ] && { [ -z "${AWS_ACCESS_KEY_ID:-}" ] || [ -z "${AWS_SECRET_ACCESS_KEY:-}" ]; }; then
        log "BACKUP DISABLED: Secret $CREDENTIALS_SECRET (access keys of the object store) is missing or incomplete in this namespace"
        return 1
    fi
    return 0
}

# aws s3 SUBCOMMAND ARGS..., bounded, with the endpoint when one is set.
s3() {
    s3_credentials_ok || return 1
    if [ -n "${S3_ENDPOINT:-}" ]; then
        timeout "$S3_TIMEOUT" "$AWS_CLI" --endpoint-url "$S3_ENDPOINT" s3 "$@"
    else
        timeout "$S3_TIMEOUT" "$AWS_CLI" s3 "$@"
    fi
}
