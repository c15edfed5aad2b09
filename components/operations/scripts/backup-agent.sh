#!/bin/sh
# Main process of the backup sidecar in every Redis data pod (aws-cli image):
#   sh /scripts/backup-agent.sh
# It only idles: the work is its preStop hook (backup-prestop.sh), which
# needs a running container. It exits at once on SIGTERM, which the kubelet
# sends after that hook has finished.
trap 'echo "backup-agent: stopping"; exit 0' TERM INT
echo "backup-agent: idle; the preStop hook uploads this pod's persistence files when it stops"
if [ -n "${CREDENTIALS_SECRET:-}" ] && { [ -z "${AWS_ACCESS_KEY_ID:-}" ] || [ -z "${AWS_SECRET_ACCESS_KEY:-}" ]; }; then
    echo "backup-agent: BACKUP DISABLED: Secret $CREDENTIALS_SECRET (object store access keys) is missing or incomplete; this pod's preStop upload will fail"
fi
sleep 2147483647 &
wait $!
