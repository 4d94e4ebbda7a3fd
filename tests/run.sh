#!/usr/bin/env bash
# The README's two commands, runnable as root on a fresh Debian 12 machine with a Rust
# toolchain:
#
#   bash tests/run.sh demo   build, install into a throwaway root, validate the example
#                            agent's meta-data against every schema and run both testers on it
#   bash tests/run.sh test   install what the tests need (idempotent) and run every test
#   bash tests/run.sh soak   the failover soak (SOAK_FAILURES=N, default 10), not part of test
#   bash tests/run.sh nfs-group   only the NFS service group stage of test (a guest of its own)
#
# .ci/run calls "bash tests/run.sh test".
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use. Installing never starts a daemon (policy-rc.d).
PACKAGES=(
  make                        # make install / uninstall tests
  debhelper dpkg-dev fakeroot # make deb (debian/), the package test
  pcs                         # pcs resource describe of every agent (package test)
  busybox python3             # syslogd for the logging test; the template agent's daemon
  apache2                     # ocf-tester: Debian's ocft apache config vs ocft
  curl openssl ca-certificates  # apache: the shell agent's HTTP client (side-by-side tests), test certificates
  resource-agents             # shell agents, ocf-tester, ra-api-1.dtd, metadata.rng, ocft configs
  libxml2-utils               # xmllint
  pacemaker pacemaker-cli-utils corosync crmsh   # crm_resource, the real-cluster harness
  iproute2 e2fsprogs xfsprogs psmisc procps util-linux tcpdump strace
  kmod                        # modprobe: the shell Filesystem agent exits 5 on every action without it
  mount iputils-ping          # losetup; the cluster scenarios' client namespace pings the floating IP
  mariadb-server mariadb-client   # the mysql agent's tests: private MariaDB instances
  curl                        # the LAMP scenario's client reads the page (and Debian's apache agent needs it)
  bindfs fuse3                # a FUSE filesystem whose daemon the hung-filesystem tests stop
  openssh-server openssh-client   # the sshd agent's tests: a real sshd, key logins through it
  iputils-arping bc           # ocf:heartbeat:ethmonitor (cluster::subnets) checks for both
  mariadb-server mariadb-client curl   # ocf-tester corpus: Debian's mysql and apache agents on real daemons
  python3-jsonschema          # ocf-tester: its JSON report validates against its schema
  systemd                     # systemd-journald and journalctl for the journal logging test (PID 1 stays as it is)
  libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils   # VirtualDomain: two libvirtd hosts in namespaces, a TCG guest, qemu-img
  csync2                      # VirtualDomain sync_config_on_stop: a csync2 server on one libvirt host, the agent's csync2 -x on the other
  # NFS (tests/nfs): this host's kernel has no nfsd; Debian's kernel boots under QEMU (TCG)
  # via virtme-ng (venv below) with the host's root shared read-only into the guest
  qemu-system-x86 linux-image-amd64 python3-venv   # (busybox-static: unpacked below, it conflicts with busybox)
  nfs-kernel-server nfs-common rpcbind   # the NFS server's daemons, run inside the guest only
  iptables                    # tests/nfs/filesystem.rs: the NFS server made unreachable inside the guest
)

# virtme-ng (PyPI), which boots the NFS guest (tests/nfs/guest.rs looks for it here)
VNG_VENV=/var/cache/ocfrs-tests/virtme-ng
VNG_VERSION=1.42

need_root() {
  if [ "$(id -u)" != 0 ]; then echo "run as root (tests use namespaces, loop devices, daemons)" >&2; exit 1; fi
}

# Install the Debian packages given that are missing (idempotent); no daemon starts.
install_packages() {
  need_root
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

setup() {
  install_packages "${PACKAGES[@]}"
  # pcs validates agent meta-data with its own schemas before `pcs resource create`; the tests
  # use them without installing pcs (and its Python stack): unpack the package's data only.
  local pcs=/var/cache/ocfrs-tests/pcs
  if [ ! -f "$pcs/usr/share/pcs/data/ocf-1.1.rng" ] && [ ! -f /usr/share/pcs/data/ocf-1.1.rng ]; then
    mkdir -p "$pcs"
    (cd "$pcs" && apt-get -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root download pcs >/dev/null 2>&1 && dpkg -x pcs_*.deb . && rm -f pcs_*.deb)
  fi
  if [ "$("$VNG_VENV/bin/vng" --version 2>/dev/null)" != "virtme-ng $VNG_VERSION" ]; then
    echo "installing virtme-ng $VNG_VERSION into $VNG_VENV"
    rm -rf "$VNG_VENV"
    python3 -m venv "$VNG_VENV"
    "$VNG_VENV/bin/pip" install -q "virtme-ng==$VNG_VERSION"
  fi
  # virtme-ng puts a static busybox into the guest's initramfs; the package conflicts with the
  # busybox the logging test uses, so its binary is unpacked beside the venv instead
  local bb=/var/cache/ocfrs-tests/busybox-static
  if [ ! -x "$bb/bin/busybox" ]; then
    mkdir -p "$bb"
    (cd "$bb" && apt-get -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root download busybox-static >/dev/null 2>&1 && dpkg -x busybox-static_*.deb . && rm -f busybox-static_*.deb)
  fi
}

demo() {
  setup
  make build
  local root
  root=$(mktemp -d /tmp/ocfrs-demo.XXXXXX)
  chmod 755 "$root"   # the shell ocf-tester runs meta-data as nobody
  make install DESTDIR="$root" >/dev/null
  local agent="$root/usr/lib/ocf/resource.d/ocfrs/Dummy"
  echo "== installed into $root"
  ls -l "$root/usr/lib/ocf/resource.d/ocfrs/"
  echo "== meta-data against ra-api-1.dtd, metadata.rng, OCF 1.1 RelaxNG, rgmanager DTD"
  (cd /usr/share/resource-agents && "$agent" meta-data | xmllint --noout --valid - && echo "ra-api-1.dtd: valid")
  local rng="$PWD/tests/schemas/ocf-1.1.rng"
  # Run next to ra-api-1.dtd so the DOCTYPE resolves (no "failed to load external entity").
  (cd /usr/share/resource-agents && "$agent" meta-data | xmllint --noout --relaxng metadata.rng - && echo "metadata.rng: valid")
  (cd /usr/share/resource-agents && "$agent" meta-data | xmllint --noout --relaxng "$rng" - && echo "OCF 1.1 RelaxNG (1.0 flavour): valid")
  OCFRS_METADATA_FLAVOUR=ocf-1.1 "$agent" meta-data | xmllint --noout --relaxng "$rng" - && echo "OCF 1.1 RelaxNG (1.1 flavour): valid"
  OCFRS_METADATA_FLAVOUR=rgmanager "$agent" meta-data | xmllint --noout --dtdvalid tests/schemas/rgmanager.dtd - && echo "rgmanager DTD: valid"
  local state="$root/dummy.state"
  echo "== Debian's shell ocf-tester"
  OCF_ROOT=/usr/lib/ocf /usr/sbin/ocf-tester -n demo -o state="$state" "$agent"
  echo "== our tester"
  "$root/usr/sbin/ocfrs-tester" -n demo -o state="$state" "$agent"
  # The main job: a floating IP + Filesystem group on the agents just installed in $root, in
  # a 3-node namespace cluster; the active node crashed, the failover measured from a client
  # namespace. The harness tears everything down by PID (tests/cluster/demo.rs).
  echo "== 3-node Pacemaker cluster in namespaces: group failover"
  local log
  log=$(mktemp /tmp/ocfrs-demo-log.XXXXXX)
  # The test harness is built first, so that the time printed is the demo's, not the build's.
  cargo test -p ocfrs-agents --features root-tests --test integration --no-run >"$log" 2>&1 \
    || { cat "$log"; echo "demo: FAIL (build)"; exit 1; }
  local t0=$SECONDS
  if OCFRS_DEMO_ROOT="$root" cargo test -p ocfrs-agents --features root-tests --test integration \
      cluster::demo::readme_demo_group_failover -- --ignored --exact --nocapture >"$log" 2>&1; then
    grep '^==' "$log"
    rm -f "$log"
  else
    grep '^==' "$log" || true
    echo "demo: FAIL (cluster report and build output in $log)"
    rm -rf "$root"
    exit 1
  fi
  rm -rf "$root"
  echo "== cluster part: $((SECONDS - t0)) s (with any wait for the machine-wide cluster lock)"
  echo "demo: PASS"
}

run_tests() {
  setup
  # Every binary first: the install tests put ocf-tester next to the agents.
  cargo build --workspace --bins --features ocfrs-agents/root-tests,ocf-tester/root-tests
  if [ $# -gt 0 ]; then
    cargo test --no-fail-fast --workspace --features ocfrs-agents/root-tests,ocf-tester/root-tests "$@"
    return
  fi
  # Everything but the NFS service group, then that group as a stage of its own (its own NFS
  # guest boot: a two-node cluster inside the TCG guest takes several minutes).
  local rc=0 t0=$SECONDS
  OCFRS_NFS_CASES='!group::' cargo test --no-fail-fast --workspace \
    --features ocfrs-agents/root-tests,ocf-tester/root-tests -- --skip nfs::group:: || rc=$?
  echo "== main stage: $((SECONDS - t0)) s"
  nfs_group_stage || rc=1
  return $rc
}

# The NFS service group (tests/nfs/group.rs) in an NFS guest of its own, with its time.
nfs_group_stage() {
  local t0=$SECONDS rc=0
  OCFRS_NFS_CASES='group::' cargo test -p ocfrs-agents --features root-tests --test integration \
    nfs::group:: || rc=$?
  echo "== NFS service group stage: $((SECONDS - t0)) s (exit $rc)"
  return $rc
}

# The failover soak on the 3-node namespace cluster (tests/cluster/soak.rs): SOAK_FAILURES
# failures in turn (default 10; the documented long run is SOAK_FAILURES=100), figures on
# the "== soak:" lines. Not part of "test".
soak() {
  setup
  cargo build --workspace --bins --features ocfrs-agents/root-tests,ocf-tester/root-tests
  cargo test -p ocfrs-agents --features root-tests --test integration \
    cluster::soak:: -- --ignored --nocapture --test-threads=1 2>&1 | tee /dev/stderr | grep '^== soak:'
}

case "${1:-}" in
  demo) demo ;;
  test) shift; run_tests "$@" ;;
  soak) soak ;;
  nfs-group) setup; nfs_group_stage ;;
  setup) setup ;;
  install) shift; install_packages "$@" ;;
  *) echo "usage: $0 demo|test [cargo test args]|soak|nfs-group|setup|install PACKAGE..." >&2; exit 2 ;;
esac
