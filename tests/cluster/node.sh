#!/bin/bash
# One node of the ocfc test cluster (tests/cluster/harness.rs). Not a user tool.
#
#   node.sh init STATE NAME   PID 1 of the node's PID namespace (started by the harness with
#                             ip netns exec ocfc-NAME unshare --mount --uts --ipc --pid --fork
#                             --kill-child --mount-proc): private /run, /dev/shm, pacemaker and
#                             corosync state, /var/log, /etc/corosync and resource.d, the
#                             harness's fence agent in /usr/sbin (overlay), then the daemons;
#                             reaps orphans until it is killed.
#   node.sh daemons           (inside a running node) start corosync and pacemakerd if absent.
# Daemons run in their own sessions; their pids are in /run/ocfc/NAME.pid (node view).
set -u

running() {   # NAME: the daemon recorded in /run/ocfc/NAME.pid is alive and is NAME
    local pid
    pid=$(cat "/run/ocfc/$1.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]
}

daemons() {
    if ! running corosync; then
        setsid corosync -f >>/var/log/corosync/stdout 2>&1 </dev/null &
        echo $! >/run/ocfc/corosync.pid
        for _ in $(seq 1 100); do   # at most 10 s for corosync's IPC to answer
            corosync-cfgtool -s >/dev/null 2>&1 && break
            sleep 0.1
        done
    fi
    if ! running pacemakerd; then
        setsid pacemakerd >>/var/log/pacemaker/stdout 2>&1 </dev/null &
        echo $! >/run/ocfc/pacemakerd.pid
    fi
}

case "${1:-}" in
init)
    state=$2 name=$3 dir=$2/$3
    hostname "$name"
    mount -t tmpfs -o mode=755 tmpfs /run
    mkdir -p /run/crm /run/ocfc /run/ocfc-faults /run/lock /run/resource-agents
    chown hacluster:haclient /run/crm && chmod 750 /run/crm
    mount -t tmpfs -o mode=1777 tmpfs /dev/shm
    mount --bind "$dir/lib-pacemaker" /var/lib/pacemaker
    mount --bind "$dir/lib-corosync" /var/lib/corosync
    mount --bind "$dir/log" /var/log
    mount --bind "$state/etc-corosync" /etc/corosync
    mount --bind "$state/resource.d" /usr/lib/ocf/resource.d
    # The harness's fence agent, visible as /usr/sbin/fence_ocfc in this node only.
    mount -t overlay ocfc-fence -o "lowerdir=$state/fence-bin:/usr/sbin" /usr/sbin
    ip link set lo up
    daemons
    echo ready >/run/ocfc/init.ready
    trap 'exit 0' TERM
    while :; do wait; sleep 1; done
    ;;
daemons) daemons ;;
*) echo "usage: node.sh init STATE NAME | daemons" >&2; exit 2 ;;
esac
