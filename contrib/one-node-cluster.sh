#!/bin/sh
# A one-node Pacemaker + Corosync cluster without systemd, for trying ocfrs (README, "First
# cluster in five minutes"). Not for production: no fencing, one node, corosync on 127.0.0.1.
#
#   contrib/one-node-cluster.sh start    corosync and pacemakerd, waits until node1 is the DC
#   contrib/one-node-cluster.sh stop     pacemakerd stops every resource, then both daemons
#                                        stop (by PID) and the CIB this script seeded is removed
#
# Needs: pacemaker, pacemaker-cli-utils, corosync (Debian 12). Touches nothing in /etc:
# corosync reads its configuration from $STATE; Pacemaker's CIB is seeded only when the
# machine has none (and then removed by stop). Every daemon is tracked by PID in $STATE.
set -eu
STATE=${OCFRS_ONE_NODE_STATE:-/run/ocfrs-one-node}
CIB_DIR=/var/lib/pacemaker/cib

say() { echo "one-node-cluster: $*"; }
alive() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }
wait_for() { # tries(0.2 s each) command...
	n=$1; shift
	while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; n=$((n - 1)); done
	return 1
}
is_dc() { crm_mon -1 2>/dev/null | grep -q "Current DC: node1"; }

start() {
	if alive corosync || alive pacemakerd; then say "already running"; return 0; fi
	if [ -e "$CIB_DIR/cib.xml" ]; then
		say "$CIB_DIR/cib.xml exists: this machine has a cluster configuration; not touching it" >&2
		exit 1
	fi
	mkdir -p "$STATE" /var/log/pacemaker
	cat > "$STATE/corosync.conf" <<'CONF'
totem {
	version: 2
	cluster_name: ocfrs-try
	transport: knet
	crypto_cipher: none
	crypto_hash: none
}
logging {
	to_stderr: yes
	to_syslog: no
}
quorum {
	provider: corosync_votequorum
}
nodelist {
	node {
		name: node1
		nodeid: 1
		ring0_addr: 127.0.0.1
	}
}
CONF
	# A seeded CIB: no fencing device on a test node, and the DC elected in ~4 s instead
	# of the default dc-deadtime's 20 s.
	cibadmin --empty > "$STATE/cib.xml"
	CIB_file="$STATE/cib.xml" crm_attribute --type crm_config -n stonith-enabled -v false
	CIB_file="$STATE/cib.xml" crm_attribute --type crm_config -n dc-deadtime -v 2s
	install -o hacluster -g haclient -m 600 "$STATE/cib.xml" "$CIB_DIR/cib.xml"
	touch "$STATE/seeded-cib"
	setsid corosync -f -c "$STATE/corosync.conf" > "$STATE/corosync.log" 2>&1 < /dev/null &
	echo $! > "$STATE/corosync.pid"
	wait_for 100 corosync-quorumtool -s || { say "corosync is not quorate; see $STATE/corosync.log" >&2; exit 1; }
	setsid pacemakerd > "$STATE/pacemakerd.log" 2>&1 < /dev/null &
	echo $! > "$STATE/pacemakerd.pid"
	wait_for 300 is_dc || { say "no DC after 60 s; see /var/log/pacemaker/pacemaker.log" >&2; exit 1; }
	say "node1 is up (corosync pid $(cat "$STATE/corosync.pid"), pacemakerd pid $(cat "$STATE/pacemakerd.pid"))"
}

stop() {
	if alive pacemakerd; then
		pid=$(cat "$STATE/pacemakerd.pid")
		# A clean shutdown: Pacemaker stops every resource first.
		pacemakerd --shutdown > /dev/null 2>&1 || kill "$pid"
		wait_for 600 sh -c "! kill -0 $pid" || {
			for c in $(ps -o pid= --ppid "$pid"); do kill -9 "$c" 2>/dev/null || true; done
			kill -9 "$pid" 2>/dev/null || true
		}
		say "pacemakerd stopped"
	fi
	if alive corosync; then
		pid=$(cat "$STATE/corosync.pid")
		corosync-cfgtool -H --force > /dev/null 2>&1 || kill "$pid"
		wait_for 100 sh -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
		say "corosync stopped"
	fi
	if [ -f "$STATE/seeded-cib" ]; then
		rm -f "$CIB_DIR"/cib* /var/lib/pacemaker/pengine/pe-*
	fi
	rm -rf "$STATE"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
