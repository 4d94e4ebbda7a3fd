//! The man page (section 8), written in roff by hand like the agents' pages.

/// The description, shared by `--help` and the man page.
pub const SUMMARY: &str = "\
Reads the <rm> section of an rgmanager cluster.conf (failover domains, resources, services
and vm services with their resource trees) and prints the equivalent Pacemaker
configuration using the ocfrs agents, as crm shell input (default) or as a pcs script.

  ip → IPaddr2; fs, netfs, clusterfs → Filesystem; nfsserver, nfsexport → nfsserver;
  nfsclient → exportfs; apache → apache; mysql → mysql; vm → VirtualDomain;
  script → the agent of the daemon it starts (httpd, mysqld, sshd, nfs) or lsb:NAME;
  lvm → ocf:heartbeat:LVM-activate.

A service becomes a group whose members start in rgmanager's order (by resource type:
lvm, fs, clusterfs, netfs, nfsexport, nfsclient, ip, smb, script, then other types in file
order; parents before children), with inherited attributes (an nfsclient's path from its
nfsexport and fs) filled in. A failover domain becomes location constraints (priority 1 →
score 1000, each further priority 10 less; unordered: 1000 each; restricted: -INFINITY on
every other node); nofailback, or no ordered domain, becomes resource-stickiness=2000 (stay),
an ordered domain with failback stickiness 1. recovery=relocate → migration-threshold=1;
recovery=restart with max_restarts=N → migration-threshold=N+1 and restart_expire_time →
failure-timeout; recovery=disable → on-fail=stop; autostart=0 → target-role=Stopped;
exclusive=1 → -INFINITY colocation with every other service; depend → order constraint.

Everything without an exact equivalent is listed in \"# NOT MAPPED:\" comments in the
output and on standard error, never dropped silently.
";

/// The roff page.
pub fn page() -> String {
    let mut s = String::from(
        ".TH OCFRS-IMPORT-RGMANAGER 8 \"\" \"ocfrs\" \"System Administration\"\n\
         .SH NAME\nocfrs-import-rgmanager \\- convert an rgmanager cluster.conf to a Pacemaker configuration\n\
         .SH SYNOPSIS\n.B ocfrs-import-rgmanager\n[\\fB\\-\\-format\\fR \\fIcrm\\fR|\\fIpcs\\fR] \
         [\\fB\\-\\-provider\\fR \\fINAME\\fR] [\\fB\\-\\-rename\\-node\\fR \\fIOLD\\fR=\\fINEW\\fR]... \
         [\\fB\\-\\-map\\fR \\fIRESOURCE\\fR=\\fIAGENT\\fR]... [\\fB\\-\\-strict\\fR] [\\fB\\-\\-quiet\\fR] \
         [\\fICLUSTER.CONF\\fR|\\fB\\-\\fR]\n\
         .SH DESCRIPTION\n",
    );
    for para in SUMMARY.split("\n\n") {
        s.push_str(".PP\n");
        for l in para.lines() {
            let l = l.replace('\\', "\\e");
            if l.starts_with("  ") {
                s.push_str(".br\n");
            }
            if l.trim_start().starts_with('.') || l.trim_start().starts_with('\'') {
                s.push_str("\\&");
            }
            s.push_str(l.trim_start());
            s.push('\n');
        }
    }
    s.push_str(
        ".SH OPTIONS\n\
         .TP\n\\fB\\-\\-format\\fR \\fIcrm\\fR|\\fIpcs\\fR\n\
         crm: input for \\fBcrm configure load update\\fR \\fIFILE\\fR (default). pcs: a shell \
         script that edits a copy of the CIB with \\fBpcs \\-f\\fR and pushes it in one step.\n\
         .TP\n\\fB\\-\\-provider\\fR \\fINAME\\fR\n\
         OCF provider of the mapped agents (default \\fIocfrs\\fR; \\fIheartbeat\\fR gives \
         resource-agents' shell agents, which take the same parameters).\n\
         .TP\n\\fB\\-\\-rename\\-node\\fR \\fIOLD\\fR=\\fINEW\\fR\n\
         Use Pacemaker node name NEW for cluster.conf node OLD in constraints (repeatable).\n\
         .TP\n\\fB\\-\\-map\\fR \\fIRESOURCE\\fR=\\fIAGENT\\fR\n\
         Run rgmanager resource RESOURCE (its name, or TYPE:NAME) with AGENT \
         (ocf:PROVIDER:TYPE, lsb:NAME or systemd:NAME) instead of the built-in mapping, e.g. \
         a script that is not an init script. Its rgmanager attributes are not converted.\n\
         .TP\n\\fB\\-\\-strict\\fR\nExit 3 when anything was not mapped (the output is printed anyway).\n\
         .TP\n\\fB\\-\\-quiet\\fR\nNo summary on standard error.\n\
         .TP\n\\fB\\-\\-man\\fR\nPrint this page.\n\
         .SH EXIT STATUS\n\
         .TP\n0\nConverted (see the NOT MAPPED comments).\n\
         .TP\n1\nThe input could not be read or is not a usable cluster.conf: not well-formed \
         XML, a DOCTYPE or entity (refused: entity expansion and external entities), more \
         than 4 MiB, deeper than 64 levels, more than 50000 elements, a control character in \
         a value, a reference to an undeclared resource. Nothing is printed on standard output.\n\
         .TP\n2\nBad command line.\n\
         .TP\n3\n\\fB\\-\\-strict\\fR and something was not mapped.\n\
         .SH EXAMPLES\n\
         .nf\n\
         ocfrs-import-rgmanager /etc/cluster/cluster.conf > rg.crm\n\
         crm configure load update rg.crm\n\
         \n\
         ocfrs-import-rgmanager \\-\\-format pcs \\-\\-rename\\-node node1.example.com=node1 cluster.conf > rg.sh\n\
         sh rg.sh\n\
         .fi\n\
         .SH WHAT PACEMAKER CANNOT EXPRESS\n\
         A failed group member is restarted together with the members after it, not the \
         whole service (rgmanager's default) and not only its subtree (__independent_subtree); \
         restart-disable with max_restarts relocates instead of disabling; stop order is the \
         reverse of the start order; rgmanager daemon settings (<rm> attributes, <events>) \
         have no equivalent. Each occurrence is reported.\n\
         .SH SEE ALSO\n\
         \\fBcrm\\fR(8), \\fBpcs\\fR(8), \\fBocf_ocfrs_IPaddr2\\fR(7), \\fBocf_ocfrs_Filesystem\\fR(7), \
         docs/scenarios.md in the ocfrs sources.\n",
    );
    s
}
