#!/usr/bin/env bash
# Part of the labctl GitHub Action (action.yml): installs what labctl needs on the
# runner and puts labctl on the PATH of the job's later steps.
#   LABCTL_VERSION  "source": build from the action's own checkout (the ref in uses:);
#                   else a version of the Go module (v1.2.0, main) to go install.
set -euo pipefail

action_dir="${GITHUB_ACTION_PATH:?run this from action.yml}"
bin_dir="${RUNNER_TEMP:-/tmp}/labctl-bin"
mkdir -p "$bin_dir"

# sudo only where needed: self-hosted runners and containers may already be root.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The kernel tools labctl runs inside the lab's namespaces, installed only if missing.
missing=()
for pair in iptables-restore:iptables ip:iproute2 conntrack:conntrack ping:iputils-ping; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Cluster labs need bridged Pod traffic to pass iptables, as on a real node. The module
# only adds the switch (/proc/sys/net/bridge); labctl sets it per lab namespace.
as_root modprobe br_netfilter || echo "::warning::modprobe br_netfilter failed: labs with a cluster section will not run"

version="${LABCTL_VERSION:-source}"
if [ "$version" = source ]; then
  # labctl version then names what was built: the ref of uses: (v1), or for uses: ./
  # what git describes; and the commit, when the action's checkout is a git clone (a
  # remote action arrives as an archive without one: its ref must do).
  commit=$(git -C "$action_dir" rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
  ref="${GITHUB_ACTION_REF:-}"
  [ -n "$ref" ] || ref=$(git -C "$action_dir" describe --tags --always --dirty 2>/dev/null || echo local)
  (cd "$action_dir" && go build -trimpath -ldflags "-X main.version=$ref -X main.commit=$commit" -o "$bin_dir/labctl" ./cmd/labctl)
else
  GOBIN="$bin_dir" go install "github.com/labctl/labctl/cmd/labctl@$version"
fi
echo "$bin_dir" >> "${GITHUB_PATH:?}"
"$bin_dir/labctl" version
