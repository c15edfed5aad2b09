"""Script files both modes ship in their scripts ConfigMap (each mode's
bundle lists them among its own), and the users file both start scripts read."""

from components.redis.conf import CONF_DIR

# ACL helpers the start scripts source from their own directory.
ACL_LIB = "acl-lib.sh"
# The bounded wait (within) both pre-roll scripts source; only the pre-roll
# Jobs mount it.
PREROLL_LIB = "preroll-lib.sh"
# Reloads the server certificates when cert-manager renews them.
TLS_RELOAD = "redis-tls-reload.sh"
# The ACL users' rules without passwords (ConfigMap key users.acl), beside redis.conf.
USERS_KEY = "users.acl"
USERS_ACL_PATH = f"{CONF_DIR}/{USERS_KEY}"
