#!/usr/bin/env bash
# The benchmark, one command (as root, on Debian 12 with a Rust toolchain):
#
#   bash bench/run.sh                       full run (about 10 minutes): table on stdout,
#                                           raw figures in bench/results/latest.json,
#                                           the table in bench/results/latest.md
#   bash bench/run.sh --readme bench/README.md   same, and replace the README's table
#   bash bench/run.sh --quick               a short run that checks the benchmark works
#   bash bench/run.sh --static              measure a statically linked build of our agents
#                                           (built into target/static; results/static.*)
#   bash bench/run.sh --startup             start-up cost of each agent against the Rust floor
#   bash bench/run.sh --virt                VirtualDomain only, on a private libvirtd
#                                           (results/virt.*; marker bench-virt)
#   bash bench/run.sh --scale               the cluster-scale run: N resources on a 3-node
#                                           Pacemaker cluster, shell agents vs ours (below)
#   bash bench/run.sh --nfs                 nfsserver and exportfs in the NFS guest (below)
#
# Any other ocfrs-bench option passes through (bash bench/run.sh --help lists them).
# Installs the Debian packages it needs (idempotent), builds release binaries, then measures
# our agents and their resource-agents counterparts side by side in one run.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  resource-agents      # the shell agents and /usr/sbin/ocf-tester being compared
  strace               # the process-counting pass
  iproute2             # IPaddr2's network namespace and veth
  e2fsprogs util-linux mount psmisc procps   # Filesystem: mkfs.ext4, losetup, mount, fuser
  openssh-server       # sshd beside heartbeat/anything running sshd
  apache2 curl         # apache: the server both agents manage; the shell agent's HTTP client
  mariadb-server mariadb-client              # mysql: private servers (mariadb-install-db)
)

if [ "$(id -u)" != 0 ]; then
  echo "run as root (network namespaces, loop devices, mounts)" >&2
  exit 1
fi
bash tests/run.sh install "${PACKAGES[@]}"

# The cluster-scale run (issue 18): `--scale` as the first argument, without a list of
# counts after it (`--scale 50,500` is ocfrs-bench's per-call scale check, passed through).
#
#   bash bench/run.sh --scale [--n 100,300,1000] [--window 60] [--limit 900]
#                             [--providers heartbeat,ocfrs] [--load-threshold 1000%]
#
# N resources (Dummy, IPaddr2, Filesystem) with 10 s monitors on the test harness's 3-node
# Pacemaker cluster, shell agents then ours, each measured for --window seconds after the
# cluster settled (--limit: seconds a phase may spend starting and settling). Table on
# stdout and in bench/results/scale-latest.md, raw figures in bench/results/scale-*.json.
if [ "${1:-}" = --scale ] && ! [[ "${2:-}" =~ ^[0-9,]+$ ]]; then
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --n) export OCFRS_SCALE_N=$2; shift 2 ;;
      --window) export OCFRS_SCALE_WINDOW=$2; shift 2 ;;
      --limit) export OCFRS_SCALE_LIMIT=$2; shift 2 ;;
      --providers) export OCFRS_SCALE_PROVIDERS=$2; shift 2 ;;
      --load-threshold) export OCFRS_SCALE_LOAD_THRESHOLD=$2; shift 2 ;;
      *) echo "bench/run.sh --scale: unknown option $1 (--n, --window, --limit, --providers, --load-threshold)" >&2
         exit 2 ;;
    esac
  done
  bash tests/run.sh install pacemaker pacemaker-cli-utils corosync crmsh   # the harness
  cargo build --release -p ocfrs-agents --bins
  export OCFRS_SCALE_AGENTS=$PWD/target/release/ocfrs-agents
  export OCFRS_SCALE_OUT=$PWD/bench/results
  exec cargo test -p ocfrs-agents --features root-tests --test integration \
    cluster::scale::scale_run -- --ignored --exact --nocapture
fi

# nfsserver and exportfs beside the shell agents, inside the NFS guest (issue 14):
#
#   bash bench/run.sh --nfs [--readme bench/README.md]
#
# This host's kernel has no nfsd: the test suite's NFS guest (tests/nfs/guest.rs, QEMU TCG,
# virtme-ng from `bash tests/run.sh setup`) boots once and runs only the case bench::nfs_rows,
# which runs target/release/ocfrs-bench-nfs (bench/src/nfs.rs) against the per-agent release
# binaries ocfrs-nfsserver and ocfrs-exportfs (as `make install` ships them). The table goes
# to bench/results/nfs-latest.md (and, with --readme, between the bench-nfs markers of that
# file). About 7 minutes on 2 cores, boot included and build excluded (10 minutes on a
# loaded machine): the shell agents' calls cost 3-15 s each in the emulated guest.
if [ "${1:-}" = --nfs ]; then
  readme=
  [ "${2:-}" = --readme ] && readme=${3:?--readme needs a file}
  cargo build --release -p ocfrs-agents -p ocfrs-bench \
    --bin ocfrs-nfsserver --bin ocfrs-exportfs --bin ocfrs-bench-nfs
  # the guest sees the host's files as they were at boot: build the test binary first
  cargo test -p ocfrs-agents --features root-tests --test integration --no-run
  mkdir -p bench/results
  # the guest's deadline (tests/nfs/guest.rs; 2400 s by default) above the case's 3000 s
  export OCFRS_NFS_GUEST_TIMEOUT=${OCFRS_NFS_GUEST_TIMEOUT:-3300}
  log=bench/results/nfs-latest.log
  set +e
  OCFRS_NFS_CASES=bench:: cargo test -p ocfrs-agents --features root-tests --test integration \
    nfs::bench:: -- --nocapture 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  # the first table in the log (the case's log may be echoed more than once)
  table=$(awk '/^<!-- bench-nfs:table-end -->$/ { if (on) exit } on { print }
               /^<!-- bench-nfs:table -->$/ { on = 1 }' "$log")
  if [ "$rc" != 0 ] || [ -z "$table" ]; then
    echo "bench/run.sh --nfs: the guest run failed (exit $rc); see $log" >&2
    exit 1
  fi
  {
    echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC, ocfrs $(git rev-parse --short HEAD)."
    echo "$table"
  } > bench/results/nfs-latest.md
  cat bench/results/nfs-latest.md
  if [ -n "$readme" ]; then
    python3 - "$readme" bench/results/nfs-latest.md <<'PY'
import sys
readme, table = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
begin, end = "<!-- bench-nfs:begin -->\n", "<!-- bench-nfs:end -->"
a, b = text.index(begin) + len(begin), text.index(end)
open(readme, "w").write(text[:a] + table + text[b:])
PY
  fi
  exit 0
fi

# Start-up cost against the Rust floor (issue 18): probes (rc 7, no fixture) of the shipped
# per-agent binaries and of the multicall binary, ABBA-alternated with `fn main() {}`.
#
#   bash bench/run.sh --startup [--runs 400] [--agents Dummy,IPaddr2,...] [--action meta-data]
#                               [--build 'LABEL:*=PATH'] [--json PATH]
if [ "${1:-}" = --startup ]; then
  shift
  cargo build --release -p ocfrs-agents -p ocfrs-bench
  r=$PWD/target/release
  exec "$r/ocfrs-startup" --floor "$r/ocfrs-floor" \
    --build "multicall:*=$r/ocfrs-agents" --build "per-agent:*=$r/ocfrs-{agent}" "$@"
fi

# Release binaries, as installed (CARGO_BUILD_JOBS limits parallel jobs on shared machines).
cargo build --release -p ocfrs-agents -p ocf-tester -p ocfrs-bench
agents=target/release/ocfrs-agents
# The Rust floor (bench/src/floor.rs, `fn main() {}`): same profile and flags as the agents.
rust_floor=target/release/ocfrs-floor
name=latest

args=()
for a in "$@"; do
  if [ "$a" = --static ]; then
    # The same agents linked statically (glibc static-pie): no dynamic loader, no libc
    # relocation at every exec. A comparison, not what `make install` ships.
    triple=$(rustc -vV | sed -n 's/^host: //p')
    RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=target/static \
      cargo build --release -p ocfrs-agents -p ocfrs-bench --bin ocfrs-agents --bin ocfrs-floor \
      --target "$triple"
    agents=target/static/$triple/release/ocfrs-agents
    rust_floor=target/static/$triple/release/ocfrs-floor
    name=static
    args+=(--readme-marker bench-static)
  elif [ "$a" = --virt ]; then
    # VirtualDomain beside heartbeat/VirtualDomain on a private libvirtd with tiny TCG
    # domains (bench/src/libvirt.rs); opt-in: not part of the default run.
    bash tests/run.sh install libvirt-daemon-system libvirt-clients qemu-system-x86
    name=virt
    args+=(--only VirtualDomain --readme-marker bench-virt)
  else
    args+=("$a")
  fi
done

# The floor: a static C program that exits at once (nothing exec'd can cost less).
mkdir -p target/bench-floor
floor=()
if [ ! -x target/bench-floor/true-static ]; then
  printf 'int main(void) { return 0; }\n' > target/bench-floor/true.c
  cc -O2 -static -o target/bench-floor/true-static target/bench-floor/true.c 2>/dev/null || true
fi
[ -x target/bench-floor/true-static ] && floor=(--floor target/bench-floor/true-static)
floor+=(--floor "$rust_floor")

mkdir -p bench/results
readme=
for a in "${args[@]}"; do [ "$a" = --readme ] && readme=yes; done
set +e
target/release/ocfrs-bench \
  --agents-bin "$agents" \
  --tester-bin target/release/ocf-tester \
  --json "bench/results/$name.json" \
  --markdown "bench/results/$name.md" \
  "${floor[@]}" "${args[@]}"
rc=$?
set -e
# The figures behind the README's table are kept (committed) beside it.
if [ -n "$readme" ] && [ -f "bench/results/$name.json" ]; then
  cp "bench/results/$name.json" "bench/results/readme-$name.json"
fi
exit $rc
