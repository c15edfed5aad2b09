#!/usr/bin/env bash
# Builds the real programs the end-to-end tier runs, from the Go module proxy,
# into a cache outside the repo keyed by version: a warm cache builds nothing.
#
#   scripts/e2e-tools.sh            build what is missing, print the bin folder
#   scripts/e2e-tools.sh --bin-dir  print the bin folder only (no build)
#
# Modules whose own go.mod has `replace` lines cannot be built with
# `go install mod@version`; each gets a small wrapper module here that requires
# the module and maps every local replace to the published module instead.
# Nothing built is ever written into the repo.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=e2e-versions.env
. "$here/e2e-versions.env"

cache_root=${E2E_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-platform/e2e-tools}
go_version=$(go env GOVERSION)
bin_dir="$cache_root/bin-$go_version"
work_root="$cache_root/work"

if [ "${1:-}" = "--bin-dir" ]; then
  echo "$bin_dir"
  exit 0
fi

export GOFLAGS=-mod=mod
export CGO_ENABLED=0
mkdir -p "$bin_dir" "$work_root"

log() { printf 'e2e-tools: %s\n' "$*" >&2; }

# quiet CMD...: run CMD with its output in a log; on failure show the log's tail.
quiet() {
  local out="$work_root/last-step.log"
  if ! "$@" > "$out" 2>&1; then
    log "failed: $*"
    tail -30 "$out" >&2
    return 1
  fi
}

# stamp NAME VERSION: the file whose presence says NAME was built at VERSION.
stamp() { echo "$bin_dir/.built-$1-$2"; }

# wrapper DIR: a fresh module directory for one build.
wrapper() {
  rm -rf "$1"
  mkdir -p "$1"
  (cd "$1" && go mod init "redis-platform.e2e/$(basename "$1")" >/dev/null 2>&1)
}

# timed NAME VERSION CMD...: run a build step, say how long it took, stamp it.
timed() {
  local name=$1 version=$2 start end
  shift 2
  start=$(date +%s)
  log "building $name $version"
  # Called from a `||` list, where errexit does not apply: stop explicitly,
  # or a failed build would be stamped as built.
  if ! "$@"; then
    log "FAILED to build $name $version"
    exit 1
  fi
  end=$(date +%s)
  touch "$(stamp "$name" "$version")"
  log "built $name $version in $((end - start)) s"
  built="$built $name=$((end - start))s"
}

build_etcd() {
  local dir="$work_root/etcd-$ETCD_VERSION"
  wrapper "$dir"
  # etcd's own main package lives in a module that replaces every sibling with
  # a path; its server module exports the same entry point.
  cat > "$dir/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$dir" && quiet go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
    && quiet go mod tidy \
    && go build -trimpath -ldflags '-s -w' -o "$bin_dir/etcd" .)
}

# k8s_commands NAME CMD...: build commands of k8s.io/kubernetes at K8S_VERSION
# in a wrapper module that maps every staging module its go.mod replaces with
# a local path to the published k8s.io/* v0 release.
k8s_commands() {
  local dir="$work_root/$1-$K8S_VERSION" gomod staging minor cmd pkgs=()
  shift
  wrapper "$dir"
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$gomod")
  for m in $staging; do
    (cd "$dir" && go mod edit -replace "$m=$m@$K8S_STAGING_VERSION")
  done
  for cmd in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  (cd "$dir" \
    && quiet go get "${pkgs[@]/%/@$K8S_VERSION}" \
    && go build -trimpath -o "$bin_dir/" \
      -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
        -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor \
        -X k8s.io/component-base/version.gitTreeState=clean" \
      "${pkgs[@]}")
}

build_kubernetes() { k8s_commands kubernetes kube-apiserver kube-controller-manager; }

# kubectl, as the registry.k8s.io/kubectl image ships it: the tests run the
# bootstrap Job's zone discovery script with it against the API server.
build_kubectl() { k8s_commands kubectl kubectl; }

build_promtool() {
  local dir="$work_root/prometheus-$PROMETHEUS_MODULE_VERSION" gomod
  wrapper "$dir"
  gomod=$(go mod download -json "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" \
    | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # Copy the module's own version-to-version replaces (a local path has none here).
  sed -n 's#^replace \([^ ]* v[^ ]*\) => \([^ ]* v[^ ]*\)$#\1=\2#p' "$gomod" | tr -d ' ' \
    | sed 's#v\([0-9]\)#@v\1#g' | while read -r rep; do
      (cd "$dir" && go mod edit -replace "$rep")
    done
  (cd "$dir" \
    && quiet go get "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" \
    && go build -trimpath -o "$bin_dir/promtool" \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION" \
      github.com/prometheus/prometheus/cmd/promtool)
}

build_stackfile() {
  local dir="$work_root/stackfile-$PULUMI_SDK_GO_VERSION" gomod
  wrapper "$dir"
  cp "$here/e2e-stackfile/main.go" "$dir/main.go"
  gomod=$(go mod download -json "github.com/pulumi/pulumi/sdk/v3@$PULUMI_SDK_GO_VERSION" \
    | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  sed -n 's#^replace \([^ ]*\) => \([^ ]*\) \(v[^ ]*\)$#\1=\2@\3#p' "$gomod" | while read -r rep; do
      (cd "$dir" && go mod edit -replace "$rep")
    done
  # The cloud SDK release sdk/v3 names is refused by the proxy; a later served
  # one carries the same API types.
  (cd "$dir" && go mod edit -replace "github.com/pulumi/pulumi-cloud-sdk/go=github.com/pulumi/pulumi-cloud-sdk/go@$PULUMI_CLOUD_SDK_GO_VERSION")
  (cd "$dir" \
    && quiet go get "github.com/pulumi/pulumi/sdk/v3@$PULUMI_SDK_GO_VERSION" \
    && quiet go mod tidy \
    && go build -trimpath -ldflags '-s -w' -o "$bin_dir/pulumi-stackfile" .)
}

# probe MODULE VERSION: ask the proxy for one module version; report, never fail.
probe() {
  local out
  if out=$(go mod download -json "$1@$2" 2>&1) && ! grep -q '"Error"' <<<"$out"; then
    log "served: $1@$2"
  else
    log "REFUSED by the Go module proxy: $1@$2 ($(grep -o 'server response: [^"]*' <<<"$out" | head -1 | sed 's/\\n.*//'))"
  fi
}

built=""
total_start=$(date +%s)
[ -e "$(stamp etcd "$ETCD_VERSION")" ] || timed etcd "$ETCD_VERSION" build_etcd
[ -e "$(stamp kubernetes "$K8S_VERSION")" ] || timed kubernetes "$K8S_VERSION" build_kubernetes
[ -e "$(stamp kubectl "$K8S_VERSION")" ] || timed kubectl "$K8S_VERSION" build_kubectl
[ -e "$(stamp promtool "$PROMETHEUS_MODULE_VERSION")" ] || timed promtool "$PROMETHEUS_MODULE_VERSION" build_promtool
[ -e "$(stamp stackfile "$PULUMI_SDK_GO_VERSION")" ] || timed stackfile "$PULUMI_SDK_GO_VERSION" build_stackfile

if [ "${E2E_PROBE_PULUMI:-1}" = 1 ]; then
  # The engine pieces: reported, so a refusal is visible in every CI log.
  probe github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION"
  probe github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 "$PULUMI_VERSION"
  probe github.com/pulumi/pulumi-kubernetes/provider/v4 "$PULUMI_KUBERNETES_VERSION"
  probe github.com/pulumi/pulumi-random/provider/v4 "$PULUMI_RANDOM_VERSION"
fi

if [ -z "$built" ]; then
  log "cache warm, nothing built ($bin_dir)"
else
  log "built:$built; total $(($(date +%s) - total_start)) s"
fi
echo "$bin_dir"
