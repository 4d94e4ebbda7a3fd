#!/bin/bash
# fence_ocfc: the fence device of the ocfc test cluster (tests/cluster/harness.rs). Test
# scaffolding, seen by the nodes only (an overlay on their /usr/sbin).
#
# Pacemaker's fencer passes options as key=value lines on stdin (or "-o ACTION" on the
# command line). "off"/"reboot" of node nI writes STATE/fence/nI.request and waits for the
# harness on the host to SIGKILL every process of that node and unplug it
# (STATE/fence/nI.done). The node stays off until the test boots it again.
state=/tmp/ocfc-cluster
action="" target=""
if [ "${1:-}" = "-o" ]; then action=${2:-}; fi
if [ -z "$action" ]; then
    while IFS='=' read -r k v; do
        case "$k" in
            action | option) action=$v ;;
            port | plug | nodename) target=$v ;;
        esac
    done
fi
case "$action" in
metadata)
    cat <<'XML'
<?xml version="1.0" ?>
<resource-agent name="fence_ocfc" shortdesc="Fence device of the ocfc namespace test cluster">
<longdesc>Powers off a node of the ocfc test cluster by having the test harness kill every process of the node and unplug its network.</longdesc>
<vendor-url>https://example.invalid/ocfrs</vendor-url>
<parameters>
	<parameter name="action" unique="0" required="1">
		<getopt mixed="-o, --action=[action]"/>
		<content type="string" default="reboot"/>
		<shortdesc lang="en">Fencing action</shortdesc>
	</parameter>
	<parameter name="plug" unique="0" required="0">
		<getopt mixed="-n, --plug=[name]"/>
		<content type="string"/>
		<shortdesc lang="en">Node to fence</shortdesc>
	</parameter>
</parameters>
<actions>
	<action name="on"/>
	<action name="off"/>
	<action name="reboot"/>
	<action name="status"/>
	<action name="list"/>
	<action name="monitor"/>
	<action name="metadata"/>
</actions>
</resource-agent>
XML
    exit 0 ;;
monitor | status | on) exit 0 ;;
list)
    for f in "$state"/n*.initpid; do [ -e "$f" ] && basename "$f" .initpid; done
    exit 0 ;;
off | reboot)
    [ -n "$target" ] || { echo "no node to fence" >&2; exit 1; }
    mkdir -p "$state/fence"
    rm -f "$state/fence/$target.done"
    echo "$action" >"$state/fence/$target.request"
    for _ in $(seq 1 300); do   # 30 s
        [ -e "$state/fence/$target.done" ] && exit 0
        sleep 0.1
    done
    echo "the harness did not fence $target within 30 s" >&2
    exit 1 ;;
*) echo "unsupported action '$action'" >&2; exit 1 ;;
esac
