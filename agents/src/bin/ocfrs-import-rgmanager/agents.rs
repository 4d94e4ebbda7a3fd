//! rgmanager resource types → OCF agents and their parameters.
//!
//! | rgmanager | Pacemaker |
//! |---|---|
//! | ip | ocf:ocfrs:IPaddr2 |
//! | fs, netfs, clusterfs | ocf:ocfrs:Filesystem |
//! | nfsserver, nfsexport | ocf:ocfrs:nfsserver |
//! | nfsclient | ocf:ocfrs:exportfs |
//! | apache | ocf:ocfrs:apache |
//! | mysql | ocf:ocfrs:mysql |
//! | vm | ocf:ocfrs:VirtualDomain |
//! | script | the agent of the daemon it starts (apache, mysql, sshd, nfsserver), else lsb:NAME |
//! | lvm | ocf:heartbeat:LVM-activate (no ocfrs agent) |
//! | others | not mapped, with the heartbeat agent to look at |

use crate::model::Res;
use std::collections::BTreeMap;

/// One operation of a primitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Op {
    pub name: String,
    pub interval: String,
    pub timeout: String,
    pub extra: Vec<(String, String)>,
}

/// A primitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prim {
    pub id: String,
    /// `class:provider:type` or `lsb:name`.
    pub agent: String,
    pub params: Vec<(String, String)>,
    pub meta: Vec<(String, String)>,
    pub ops: Vec<Op>,
}

impl Prim {
    /// Add `on-fail=value` to operation `op` (added with interval 0 and a 60 s timeout when
    /// absent).
    pub fn ops_on_fail(&mut self, op: &str, value: &str) {
        if !self.ops.iter().any(|o| o.name == op) {
            self.ops.push(Op {
                name: op.into(),
                interval: "0s".into(),
                timeout: "60s".into(),
                extra: Vec::new(),
            });
        }
        for o in self.ops.iter_mut().filter(|o| o.name == op) {
            o.extra.retain(|(k, _)| k != "on-fail");
            o.extra.push(("on-fail".into(), value.into()));
        }
    }
}

/// The result of mapping one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// A primitive (its id is set by the caller), how it was mapped, what was not.
    Prim(Prim, Vec<String>, Vec<String>),
    /// No primitive: why.
    Skip(String),
}

/// Attributes of `<vm>` the VirtualDomain mapping reads (the service-like ones are handled
/// with the services').
pub const VM_ATTRS: &[&str] = &[
    "xmlfile",
    "path",
    "hypervisor_uri",
    "hypervisor",
    "migrate",
    "migration_uri",
    "use_virsh",
    "snapshot",
    "status_program",
    "no_kill",
    "migrate_options",
    "tunnelled",
    "migration_mapping",
];

struct B<'a> {
    r: &'a Res,
    prim: Prim,
    info: Vec<String>,
    nm: Vec<String>,
    used: Vec<&'static str>,
}

impl<'a> B<'a> {
    fn new(r: &'a Res, agent: String) -> B<'a> {
        B {
            r,
            prim: Prim {
                agent,
                ..Prim::default()
            },
            info: Vec::new(),
            nm: Vec::new(),
            used: vec![crate::model::primary_attr(&r.rtype), "name"],
        }
    }
    fn get(&mut self, k: &'static str) -> Option<String> {
        self.used.push(k);
        self.r.attrs.get(k).cloned()
    }
    fn param(&mut self, name: &str, v: impl Into<String>) {
        self.prim.params.push((name.into(), v.into()));
    }
    /// Copy rgmanager attribute `k` to parameter `name` when set.
    fn copy(&mut self, k: &'static str, name: &str) {
        if let Some(v) = self.get(k) {
            self.param(name, v);
        }
    }
    /// An attribute read but deliberately not converted.
    fn drop_note(&mut self, k: &'static str, why: &str) {
        if let Some(v) = self.get(k) {
            if !self.r.inherited.iter().any(|i| i == k) {
                self.nm.push(format!("{k}=\"{v}\": {why}"));
            }
        }
    }
    fn monitor(&mut self, interval: &str, timeout: &str) {
        // rgmanager's <action name="status" depth="0|*" interval=.. timeout=..> overrides.
        let mut iv = interval.to_string();
        let mut to = timeout.to_string();
        for a in &self.r.actions {
            let name = a.get("name").map(String::as_str);
            let depth = a.get("depth").map(String::as_str).unwrap_or("0");
            if matches!(name, Some("status" | "monitor")) && matches!(depth, "0" | "*") {
                if let Some(v) = a.get("interval") {
                    match crate::convert::seconds(v) {
                        Some(s) if s > 0 => iv = format!("{s}s"),
                        _ => self
                            .nm
                            .push(format!("<action interval=\"{v}\">: not a time, ignored")),
                    }
                }
                if let Some(v) = a.get("timeout") {
                    match crate::convert::seconds(v) {
                        Some(s) if s > 0 => to = format!("{s}s"),
                        _ => self
                            .nm
                            .push(format!("<action timeout=\"{v}\">: not a time, ignored")),
                    }
                }
            } else {
                self.nm.push(format!(
                    "<action {}>: only the depth-0 status check becomes a monitor operation",
                    a.iter()
                        .map(|(k, v)| format!("{k}=\"{v}\""))
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
        }
        self.prim.ops.push(Op {
            name: "monitor".into(),
            interval: iv,
            timeout: to,
            extra: Vec::new(),
        });
    }
    fn done(mut self) -> Mapped {
        for (k, v) in &self.r.attrs {
            if self.used.contains(&k.as_str())
                || k.starts_with("__")
                || self.r.inherited.contains(k)
            {
                continue;
            }
            self.nm.push(format!(
                "{k}=\"{v}\": attribute not understood, not converted"
            ));
        }
        Mapped::Prim(self.prim, self.info, self.nm)
    }
}

fn truthy(v: Option<&String>) -> Option<bool> {
    v.map(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "yes" | "true" | "on" | "y"
        )
    })
}

/// Map one resource of service `service`. `overrides` maps `type:primary` (or `primary`) to
/// an agent chosen by the admin (`--map`).
pub fn map_resource(r: &Res, provider: &str, overrides: &BTreeMap<String, String>) -> Mapped {
    let ocf = |t: &str| format!("ocf:{provider}:{t}");
    let primary = r.primary();
    if let Some(agent) = overrides
        .get(&format!("{}:{primary}", r.rtype))
        .or_else(|| overrides.get(&primary))
    {
        let mut b = B::new(r, agent.clone());
        b.used.extend(["file"]);
        b.monitor("30s", "30s");
        b.info.push(format!(
            "mapped to {agent} as asked (--map); its rgmanager attributes are not converted"
        ));
        return Mapped::Prim(b.prim, b.info, b.nm);
    }
    match r.rtype.as_str() {
        "ip" => {
            let mut b = B::new(r, ocf("IPaddr2"));
            let addr = b.get("address").unwrap_or_default();
            match addr.split_once('/') {
                Some((ip, len)) => {
                    b.param("ip", ip);
                    b.param("cidr_netmask", len);
                }
                None => {
                    b.param("ip", addr.clone());
                    b.info.push(
                        "no prefix length in address: IPaddr2 takes it from the route of the \
                         interface that has an address in the same subnet (as ip.sh does)"
                            .into(),
                    );
                }
            }
            b.copy("prefer_interface", "nic");
            if truthy(b.get("monitor_link").as_ref()) == Some(false) {
                b.param("check_link_status", "false");
            } else {
                b.info.push(
                    "monitor_link (default on) → check_link_status (IPaddr2's default: a down \
                     link fails the monitor)"
                        .into(),
                );
            }
            b.used.push("family");
            b.drop_note(
                "sleeptime",
                "IPaddr2 does not wait after removing an address",
            );
            b.drop_note("disable_rdisc", "no rdisc handling in IPaddr2");
            b.drop_note(
                "nfslock",
                "NFS lock reclaim is nfsserver's job (nfs_notify) in Pacemaker",
            );
            b.monitor("10s", "20s");
            b.done()
        }
        "fs" | "netfs" | "clusterfs" => {
            let mut b = B::new(r, ocf("Filesystem"));
            match r.rtype.as_str() {
                "netfs" => {
                    let host = b.get("host").unwrap_or_default();
                    let export = b.get("export").unwrap_or_default();
                    let fstype = b.get("fstype").unwrap_or_else(|| "nfs".into());
                    let dev = if fstype == "cifs" {
                        format!("//{host}/{}", export.trim_start_matches('/'))
                    } else {
                        format!("{host}:{export}")
                    };
                    b.param("device", dev);
                    b.copy("mountpoint", "directory");
                    b.param("fstype", fstype);
                }
                _ => {
                    b.copy("device", "device");
                    b.copy("mountpoint", "directory");
                    b.copy("fstype", "fstype");
                }
            }
            b.copy("options", "options");
            match truthy(b.get("force_unmount").as_ref()) {
                Some(true) => b.param("force_unmount", "true"),
                _ => {
                    b.param("force_unmount", "false");
                    b.info.push(
                        "force_unmount off (rgmanager's default): a busy mount makes stop fail, \
                         which Pacemaker answers by fencing the node; consider force_unmount=true"
                            .into(),
                    );
                }
            }
            if truthy(b.get("force_fsck").as_ref()) == Some(true) {
                b.param("run_fsck", "force");
            }
            b.used.push("fsid");
            b.drop_note(
                "self_fence",
                "Pacemaker fences a node whose stop fails (stonith enabled); nothing to set",
            );
            b.drop_note("quick_status", "Filesystem's monitor is always cheap");
            b.drop_note(
                "nfslock",
                "NFS lock reclaim is nfsserver's job in Pacemaker",
            );
            b.drop_note(
                "nfsrestart",
                "no equivalent; nfsserver is restarted by its own resource",
            );
            b.drop_note("use_findmnt", "Filesystem reads /proc/self/mountinfo");
            b.drop_note(
                "no_unmount",
                "a Pacemaker Filesystem resource always unmounts on stop",
            );
            if r.rtype == "clusterfs" {
                b.nm.push(
                    "clusterfs (GFS2) runs as a clone with dlm and lvmlockd under Pacemaker; \
                     here it is kept as a plain member of the service's group"
                        .into(),
                );
            }
            b.monitor("20s", "40s");
            b.done()
        }
        "nfsserver" => {
            let mut b = B::new(r, ocf("nfsserver"));
            let path = b.get("path");
            let nfspath = b.get("nfspath").unwrap_or_else(|| ".clumanager/nfs".into());
            match path {
                Some(p) => b.param(
                    "nfs_shared_infodir",
                    format!(
                        "{}/{}",
                        p.trim_end_matches('/'),
                        nfspath.trim_start_matches('/')
                    ),
                ),
                None => b.nm.push(
                    "no path (nor a parent fs to inherit it from): NFS state stays on the node"
                        .into(),
                ),
            }
            b.copy("statdport", "statd_port");
            b.drop_note(
                "krbhost",
                "set nfs_server_scope or the Kerberos principal's host name by hand",
            );
            b.monitor("10s", "20s");
            b.done()
        }
        "nfsexport" => {
            let mut b = B::new(r, ocf("nfsserver"));
            b.used.extend(["device", "path", "fsid"]);
            b.info.push(
                "nfsexport only makes sure the NFS server runs: mapped to an nfsserver resource \
                 (NFS state on the node; set nfs_shared_infodir on the shared filesystem for lock \
                 recovery)"
                    .into(),
            );
            b.monitor("10s", "20s");
            b.done()
        }
        "nfsclient" => {
            let mut b = B::new(r, ocf("exportfs"));
            b.copy("target", "clientspec");
            match b.get("path") {
                Some(p) => b.param("directory", p),
                None => b.nm.push(
                    "no path (nor an nfsexport/fs above it): export directory unknown".into(),
                ),
            }
            b.copy("options", "options");
            match b.get("fsid") {
                Some(f) => b.param("fsid", f),
                None => b.info.push(
                    "no fsid: set one (same on every node) so clients keep their file handles \
                     across a failover"
                        .into(),
                ),
            }
            b.used.extend(["svcname", "service_name"]);
            b.drop_note("allow_recover", "Pacemaker restarts a failed export");
            b.drop_note("use_cache", "exportfs's monitor needs no cache");
            b.monitor("10s", "20s");
            b.done()
        }
        "apache" => {
            let mut b = B::new(r, ocf("apache"));
            let root = b.get("server_root").unwrap_or_else(|| "/etc/httpd".into());
            let conf = b
                .get("config_file")
                .unwrap_or_else(|| "conf/httpd.conf".into());
            let conf = if conf.starts_with('/') {
                conf
            } else {
                format!("{}/{conf}", root.trim_end_matches('/'))
            };
            b.param("configfile", conf);
            b.copy("httpd", "httpd");
            b.copy("httpd_options", "options");
            b.used.push("service_name");
            b.drop_note(
                "shutdown_wait",
                "use the stop operation's timeout (the agent escalates within it)",
            );
            b.info.push(
                "apache.sh rewrote Listen to the service's addresses; ocf:ocfrs:apache uses the \
                 configuration file as it is: make it listen on the service address"
                    .into(),
            );
            b.monitor("10s", "20s");
            b.done()
        }
        "mysql" => {
            let mut b = B::new(r, ocf("mysql"));
            let conf = b.get("config_file").unwrap_or_else(|| "/etc/my.cnf".into());
            b.param("config", conf);
            let mut extra = Vec::new();
            if let Some(a) = b.get("listen_address") {
                extra.push(format!("--bind-address={a}"));
            } else {
                b.info.push(
                    "no listen_address: mysql.sh bound to the service's first address; \
                     ocf:ocfrs:mysql uses the configuration file's bind-address"
                        .into(),
                );
            }
            if let Some(o) = b.get("mysqld_options") {
                extra.push(o);
            }
            if !extra.is_empty() {
                b.param("additional_parameters", extra.join(" "));
            }
            b.used.push("service_name");
            b.drop_note("startup_wait", "use the start operation's timeout");
            b.drop_note("shutdown_wait", "use the stop operation's timeout");
            b.monitor("20s", "30s");
            b.done()
        }
        "vm" => {
            let mut b = B::new(r, ocf("VirtualDomain"));
            let name = r.primary();
            if let Some(x) = b.get("xmlfile") {
                b.param("config", x);
            } else {
                let dir = b
                    .get("path")
                    .and_then(|p| p.split(':').next().map(str::to_string))
                    .unwrap_or_else(|| "/etc/libvirt/qemu".into());
                b.param(
                    "config",
                    format!("{}/{name}.xml", dir.trim_end_matches('/')),
                );
                b.info.push(format!(
                    "no xmlfile: config assumed at {}/{name}.xml (VirtualDomain needs the \
                     domain's XML file on every node)",
                    dir.trim_end_matches('/')
                ));
            }
            if let Some(h) = b.get("hypervisor_uri") {
                b.param("hypervisor", h);
            }
            b.used.push("hypervisor");
            match b.get("migrate").as_deref() {
                Some("pause") => b.nm.push(
                    "migrate=pause: VirtualDomain migrates live only (allow-migrate=true)".into(),
                ),
                _ => b
                    .info
                    .push("migrate (live, rgmanager's default) → meta allow-migrate=true".into()),
            }
            b.prim.meta.push(("allow-migrate".into(), "true".into()));
            if let Some(s) = b.get("status_program") {
                b.nm.push(format!(
                    "status_program=\"{s}\": VirtualDomain's monitor_scripts runs scripts in \
                     the monitor; set it by hand after checking the script's exit codes"
                ));
            }
            for k in [
                "migration_uri",
                "use_virsh",
                "snapshot",
                "no_kill",
                "migrate_options",
                "tunnelled",
                "migration_mapping",
            ] {
                b.drop_note(k, "no VirtualDomain equivalent converted");
            }
            // A vm is a service too: its service attributes are converted with the service.
            b.used.extend(crate::convert::SERVICE_ATTRS_HANDLED);
            b.monitor("30s", "30s");
            b.done()
        }
        "script" => {
            let file = r.attrs.get("file").cloned().unwrap_or_default();
            let base = file.rsplit('/').next().unwrap_or_default().to_string();
            let agent = match base.as_str() {
                "httpd" | "apache2" | "apache" => Some("apache"),
                "mysqld" | "mysql" | "mariadb" => Some("mysql"),
                "sshd" | "ssh" => Some("sshd"),
                "nfs" | "nfs-kernel-server" | "nfsserver" => Some("nfsserver"),
                _ => None,
            };
            match agent {
                Some(a) => {
                    let mut b = B::new(r, ocf(a));
                    b.used.push("file");
                    b.info.push(format!(
                        "script {file} starts {base}: mapped to {} with its default \
                         parameters; carry the init script's settings (config file, port) over \
                         by hand",
                        ocf(a)
                    ));
                    b.monitor("20s", "30s");
                    b.done()
                }
                None if !base.is_empty()
                    && (file.starts_with("/etc/init.d/")
                        || file.starts_with("/etc/rc.d/init.d/")) =>
                {
                    let mut b = B::new(r, format!("lsb:{base}"));
                    b.used.push("file");
                    b.info.push(format!(
                        "script {file} → lsb:{base} (Pacemaker runs init scripts as LSB \
                         resources: check that its status returns 3 when stopped)"
                    ));
                    b.monitor("30s", "30s");
                    b.done()
                }
                None => Mapped::Skip(format!(
                    "script file=\"{file}\" is not an init script under /etc/init.d: no agent \
                     (install it as /etc/init.d/{} for lsb:, write an OCF agent, or use --map)",
                    if base.is_empty() { "NAME" } else { &base }
                )),
            }
        }
        "lvm" => {
            let mut b = B::new(r, "ocf:heartbeat:LVM-activate".into());
            b.copy("vg_name", "vgname");
            b.copy("lv_name", "lvname");
            b.param("vg_access_mode", "tagging");
            b.drop_note("self_fence", "Pacemaker fences a node whose stop fails");
            b.drop_note(
                "nfslock",
                "NFS lock reclaim is nfsserver's job in Pacemaker",
            );
            b.nm.push(
                "lvm → ocf:heartbeat:LVM-activate (resource-agents; ocfrs has no LVM agent), \
                 vg_access_mode=tagging as HA-LVM used tags: check it against your setup"
                    .into(),
            );
            b.monitor("30s", "90s");
            b.done()
        }
        other => {
            let hint = match other {
                "postgres-8" => " (look at ocf:heartbeat:pgsql)",
                "tomcat-5" | "tomcat-6" => " (look at ocf:heartbeat:tomcat)",
                "named" => " (look at ocf:heartbeat:named)",
                "openldap" => " (look at ocf:heartbeat:slapd)",
                "samba" | "smb" => " (look at systemd:smbd or lsb:smbd)",
                "SAPDatabase" | "SAPInstance" => {
                    " (look at ocf:heartbeat:SAPDatabase / SAPInstance)"
                }
                "oracledb" | "orainstance" | "oralistener" => {
                    " (look at ocf:heartbeat:oracle / oralsnr)"
                }
                "drbd" => " (a promotable clone of ocf:linbit:drbd)",
                "bind-mount" => " (ocf:ocfrs:Filesystem with options=bind)",
                "ASEHAagent" => " (look at ocf:heartbeat:sybaseASE)",
                _ => "",
            };
            Mapped::Skip(format!(
                "resource type <{other}> has no ocfrs agent{hint}: not converted, and missing \
                 from the group"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(t: &str, attrs: &[(&str, &str)]) -> Res {
        Res {
            rtype: t.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            ..Res::default()
        }
    }

    fn prim(m: Mapped) -> (Prim, Vec<String>, Vec<String>) {
        match m {
            Mapped::Prim(p, i, n) => (p, i, n),
            Mapped::Skip(w) => panic!("skipped: {w}"),
        }
    }

    fn param<'a>(p: &'a Prim, k: &str) -> Option<&'a str> {
        p.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn ip_with_prefix_and_unknown_attribute() {
        let (p, _, nm) = prim(map_resource(
            &res(
                "ip",
                &[
                    ("address", "10.1.1.5/24"),
                    ("monitor_link", "0"),
                    ("bogus", "1"),
                ],
            ),
            "ocfrs",
            &BTreeMap::new(),
        ));
        assert_eq!(p.agent, "ocf:ocfrs:IPaddr2");
        assert_eq!(param(&p, "ip"), Some("10.1.1.5"));
        assert_eq!(param(&p, "cidr_netmask"), Some("24"));
        assert_eq!(param(&p, "check_link_status"), Some("false"));
        assert!(nm.iter().any(|n| n.contains("bogus")), "{nm:?}");
    }

    #[test]
    fn scripts() {
        let none = BTreeMap::new();
        let (p, _, _) = prim(map_resource(
            &res("script", &[("name", "web"), ("file", "/etc/init.d/httpd")]),
            "ocfrs",
            &none,
        ));
        assert_eq!(p.agent, "ocf:ocfrs:apache");
        let (p, _, _) = prim(map_resource(
            &res("script", &[("name", "x"), ("file", "/etc/init.d/myapp")]),
            "ocfrs",
            &none,
        ));
        assert_eq!(p.agent, "lsb:myapp");
        assert!(matches!(
            map_resource(&res("script", &[("name", "x"), ("file", "/opt/x/run.sh")]), "ocfrs", &none),
            Mapped::Skip(w) if w.contains("not an init script")
        ));
        let mut m = BTreeMap::new();
        m.insert("x".to_string(), "ocf:ocfrs:Dummy".to_string());
        let (p, _, _) = prim(map_resource(
            &res("script", &[("name", "x"), ("file", "/opt/x/run.sh")]),
            "ocfrs",
            &m,
        ));
        assert_eq!(p.agent, "ocf:ocfrs:Dummy");
    }

    #[test]
    fn status_action_becomes_monitor() {
        let mut r = res(
            "fs",
            &[("name", "d"), ("device", "/dev/x"), ("mountpoint", "/d")],
        );
        let mut a = BTreeMap::new();
        a.insert("name".to_string(), "status".to_string());
        a.insert("depth".to_string(), "*".to_string());
        a.insert("interval".to_string(), "1m".to_string());
        r.actions.push(a);
        let (p, _, _) = prim(map_resource(&r, "ocfrs", &BTreeMap::new()));
        assert_eq!(p.ops[0].interval, "60s");
        assert_eq!(param(&p, "directory"), Some("/d"));
        assert_eq!(param(&p, "force_unmount"), Some("false"));
    }

    #[test]
    fn unknown_type_is_skipped_with_a_hint() {
        assert!(matches!(
            map_resource(&res("postgres-8", &[("name", "db")]), "ocfrs", &BTreeMap::new()),
            Mapped::Skip(w) if w.contains("pgsql")
        ));
    }
}
