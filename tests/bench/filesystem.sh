#!/usr/bin/env bash
# First version of the Filesystem benchmark (issue 6): probe and depth-0 monitor of ours and
# of Debian's shell agent, measured in the same run on the same mounted loop device.
#
#   bash tests/bench/filesystem.sh [ITERATIONS]     (root; builds the debug binary if needed)
#
# Prints, per agent and operation: mean wall time and mean CPU time (user+sys of the agent and
# everything it ran) per call, and the number of processes one call starts (execve calls
# after the agent's own, counted with strace -f).
# Host objects carry the prefix "ocffs-bench" and are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-50}
[ "$(id -u)" = 0 ] || { echo "run as root (loop devices)" >&2; exit 1; }
cargo build -q -j 1 -p ocfrs-agents
OURS=$(mktemp -d /tmp/ocffs-bench-agent.XXXXXX)
ln "$PWD/target/debug/ocfrs-agents" "$OURS/Filesystem" 2>/dev/null || cp "$PWD/target/debug/ocfrs-agents" "$OURS/Filesystem"
SHELL_AGENT=/usr/lib/ocf/resource.d/heartbeat/Filesystem
IMG=$(mktemp /tmp/ocffs-bench.XXXXXX.img)
DIR=$(mktemp -d /tmp/ocffs-bench-mnt.XXXXXX)
truncate -s 32M "$IMG"
DEV=$(losetup -f --show "$IMG")
cleanup() {
  umount "$DIR" 2>/dev/null || true
  # Detach only if the device is still backed by our image.
  if [ "$(cat "/sys/block/${DEV#/dev/}/loop/backing_file" 2>/dev/null)" = "$IMG" ]; then losetup -d "$DEV"; fi
  rm -rf "$IMG" "$DIR" "$OURS"
}
trap cleanup EXIT
mkfs.ext4 -q -F "$DEV"
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=bench OCF_RESKEY_device="$DEV" \
  OCF_RESKEY_directory="$DIR" OCF_RESKEY_fstype=ext4
"$OURS/Filesystem" start

measure() { # label agent interval
  local label=$1 agent=$2 interval=$3 t0 t1 c0 c1 execs rc=0
  export OCF_RESKEY_CRM_meta_interval=$interval
  "$agent" monitor >/dev/null 2>&1 || rc=$?
  read -r c0 < <(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  t0=$(date +%s%N)
  for ((i = 0; i < N; i++)); do "$agent" monitor >/dev/null 2>&1 || true; done
  t1=$(date +%s%N)
  read -r c1 < <(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  execs=$(strace -f -qq -e trace=execve -o /dev/stdout "$agent" monitor 2>/dev/null | grep -c 'execve(' || true)
  local hz; hz=$(getconf CLK_TCK)
  printf '%-22s rc=%-2s wall %7.2f ms  cpu %7.2f ms  processes started %3d\n' "$label" "$rc" \
    "$(awk -v a="$t0" -v b="$t1" -v n="$N" 'BEGIN { print (b - a) / n / 1000000 }')" \
    "$(awk -v a="$c0" -v b="$c1" -v n="$N" -v hz="$hz" 'BEGIN { print (b - a) * 1000 / hz / n }')" \
    "$((execs - 1))"
}

echo "Filesystem, $N calls each, ext4 on $DEV mounted on $DIR"
measure "shell probe" "$SHELL_AGENT" 0
measure "ocfrs probe" "$OURS/Filesystem" 0
measure "shell monitor (20s)" "$SHELL_AGENT" 20000
measure "ocfrs monitor (20s)" "$OURS/Filesystem" 20000
unset OCF_RESKEY_CRM_meta_interval
"$OURS/Filesystem" stop
