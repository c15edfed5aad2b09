# ACL helpers shared by the Redis Cluster and Sentinel-mode start scripts.
# Sourced, not run, after the script defines log and die. POSIX sh: runs
# under busybox sh (redis:7.2-alpine) and Debian's dash.
# Only the start scripts source it, never a preStop or a library a preStop
# sources: pods of a release before this file do not mount it
# (tests/unit/test_prestop_upgrade_safety.py).
#
# Reads: ACL_DIR (one password file per ACL user), at call time.

# Redis config strings: double-quoted, with backslash and quote escaped.
# printf is a shell builtin, so a password never shows in a process list.
quote() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$/"/'; }

# ACL users: $1 is a users file (`user <name> on <rules>` lines, no
# passwords, from the ConfigMap); each user's password is ACL_DIR/<name>.
acl_user_names() { awk '$1 == "user" { print $2 }' "$1"; }

# Stops unless every user of file $1 (and the extra names after it) has a
# non-empty password file: an empty one would become `>`, an empty password.
acl_check_passwords() {
    [ -f "$1" ] || die "the ACL users file $1 is missing"
    _file="$1"
    shift
    for _name in $(acl_user_names "$_file") "$@"; do
        [ -s "$ACL_DIR/$_name" ] || die "no password for ACL user $_name in $ACL_DIR/$_name (its Secret is not mounted)"
    done
}

# The `user` lines of file $1 with each user's password added.
acl_user_lines() {
    grep '^user ' "$1" | while read -r _kw _name _rules; do
        printf 'user %s %s %s\n' "$_name" "$_rules" "$(quote ">$(cat "$ACL_DIR/$_name")")"
    done
}

# The password of user $1, quoted for a config file.
acl_quoted_password() { quote "$(cat "$ACL_DIR/$1")"; }
