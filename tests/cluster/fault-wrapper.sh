#!/bin/bash
# Test scaffolding of the ocfc cluster harness (tests/cluster/harness.rs), installed in the
# nodes' private resource.d in front of an agent whose real executable is .<Type>.real.
#
# Every call of a resource action is recorded in /run/ocfc-faults/calls (node-private):
#   <epoch seconds.ns> <resource> <action> begin
#   <epoch seconds.ns> <resource> <action> end <rc>
# "action" is "probe" for a monitor with interval 0, else the action name.
# The agent's stderr (exit reasons; log lines when no log destination is configured) is
# also appended to /run/ocfc-faults/agents.log; its log lines proper go where Pacemaker
# tells it (HA_LOGFILE = the node's /var/log/pacemaker/pacemaker.log).
# A fault file /run/ocfc-faults/<resource>.<action> holding "RC [COUNT]" makes the call
# return RC (or hang, for RC "hang") instead of running the agent, COUNT times (no COUNT:
# until the file is removed); such calls are recorded as "fault <RC>".
real="${0%/*}/.${0##*/}.real"
rsc=${OCF_RESOURCE_INSTANCE:-}
rsc=${rsc%%:*}
action=${1:-}
[ "$action" = monitor ] && [ "${OCF_RESKEY_CRM_meta_interval:-0}" = 0 ] && action=probe
case "$action" in meta-data | usage | help | "") exec -a "$0" "$real" "$@" ;; esac
[ -n "$rsc" ] || exec -a "$0" "$real" "$@"

dir=/run/ocfc-faults
note() { echo "$(date +%s.%N) $rsc $action $*" >>"$dir/calls" 2>/dev/null; }
fault=$dir/$rsc.$action
if [ -f "$fault" ]; then
    read -r rc count <"$fault"
    if [ -n "${count:-}" ]; then
        if [ "$count" -le 1 ]; then rm -f "$fault"; else echo "$rc $((count - 1))" >"$fault"; fi
    fi
    note "fault $rc"
    [ "$rc" = hang ] && exec sleep 3600
    echo "ocf-exit-reason:injected fault: $action returns $rc" >&2
    exit "$rc"
fi
note begin
(exec -a "$0" "$real" "$@") 2> >(tee -a "$dir/agents.log" >&2)
rc=$?
note "end $rc"
exit "$rc"
