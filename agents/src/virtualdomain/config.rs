//! The parsed parameters and what the agent reads from the domain's XML.

use super::meta;
use ocf::{Error, Params, Result};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::path::{Path, PathBuf};

/// What the agent needs from the domain XML.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Domain {
    /// `<name>`.
    pub name: String,
    /// `<uuid>`, lower case, when present.
    pub uuid: Option<String>,
    /// `<vcpu>`.
    pub vcpus: Option<u64>,
    /// `<memory>` in MiB.
    pub memory_mib: Option<u64>,
    /// `<source network=...>` of `<interface type='network'>`.
    pub networks: Vec<String>,
    /// `<source pool=...>` of `<disk type='volume'>`.
    pub pools: Vec<String>,
}

/// Memory in MiB from a libvirt `<memory unit=...>` value (default unit KiB).
fn to_mib(value: u64, unit: &str) -> Option<u64> {
    let bytes: u128 = match unit {
        "b" | "bytes" => 1,
        "KB" => 1000,
        "" | "k" | "KiB" => 1024,
        "MB" => 1_000_000,
        "M" | "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "G" | "GiB" => 1 << 30,
        "TB" => 1_000_000_000_000,
        "T" | "TiB" => 1 << 40,
        _ => return None,
    };
    u64::try_from(u128::from(value) * bytes / (1 << 20)).ok()
}

/// Parse the parts of a domain XML the agent uses.
///
/// # Errors
/// 5 when the XML is malformed or has no `<name>` (the issue and the shell agent treat the
/// file as this node's problem: it may be a half-synchronised copy).
pub fn parse_domain(xml: &str, path: &Path) -> Result<Domain> {
    let bad = |why: String| Error::installed(format!("{}: {why}", path.display()));
    let mut r = Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut d = Domain::default();
    let mut unit = String::new();
    let mut iface_network = false;
    let mut disk_volume = false;
    loop {
        let ev = r
            .read_event()
            .map_err(|e| bad(format!("not well-formed XML: {e}")))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let opens = matches!(ev, Event::Start(_));
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let attr = |k: &str| -> Option<String> {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == k.as_bytes())
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                };
                let depth = stack.len();
                match (depth, name.as_str()) {
                    (0, n) if n != "domain" => {
                        return Err(bad(format!("root element is <{n}>, not <domain>")))
                    }
                    (1, "memory") => unit = attr("unit").unwrap_or_default(),
                    (2, "interface") => iface_network = attr("type").as_deref() == Some("network"),
                    (2, "disk") => disk_volume = attr("type").as_deref() == Some("volume"),
                    (3, "source") if stack.get(2).map(String::as_str) == Some("interface") => {
                        if let (true, Some(n)) = (iface_network, attr("network")) {
                            d.networks.push(n);
                        }
                    }
                    (3, "source") if stack.get(2).map(String::as_str) == Some("disk") => {
                        if let (true, Some(p)) = (disk_volume, attr("pool")) {
                            d.pools.push(p);
                        }
                    }
                    _ => {}
                }
                if opens {
                    stack.push(name);
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                let text = t
                    .unescape()
                    .map_err(|e| bad(format!("not well-formed XML: {e}")))?
                    .trim()
                    .to_string();
                if stack.len() == 2 && stack[0] == "domain" {
                    match stack[1].as_str() {
                        "name" => d.name = text,
                        "uuid" => d.uuid = Some(text.to_ascii_lowercase()),
                        "vcpu" => d.vcpus = text.parse().ok(),
                        "memory" => {
                            d.memory_mib = text.parse().ok().and_then(|v| to_mib(v, &unit));
                        }
                        _ => {}
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if d.name.is_empty() {
        return Err(bad("no <name> in the domain XML".into()));
    }
    Ok(d)
}

/// The agent's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The domain XML file.
    pub config: PathBuf,
    /// Connection URI; `None`: virsh's default.
    pub hypervisor: Option<String>,
    /// Always destroy.
    pub force_stop: bool,
    /// `+transport` of the derived target URI.
    pub migration_transport: String,
    /// `user@` of the derived target URI.
    pub migration_user: String,
    /// ms, 0 = default.
    pub migration_downtime: u64,
    /// MiB/s, 0 = unlimited.
    pub migration_speed: u64,
    /// Appended to the target's short host name.
    pub migration_network_suffix: String,
    /// Explicit migration URI (`%n` = target).
    pub migrateuri: String,
    /// Extra `virsh migrate` words (without `--migrateuri=`).
    pub migrate_options: Vec<String>,
    /// Port of the derived tcp: migration URI; 0 = derived from the name.
    pub migrateport: u16,
    /// Explicit target URI (`%n` = target).
    pub remoteuri: String,
    /// Monitor scripts.
    pub monitor_scripts: Vec<PathBuf>,
    /// Utilization: (name, autoset, unset).
    pub utilization: [(&'static str, bool, bool); 3],
    /// Save the live XML into `config` before stop / migrate_to.
    pub save_config: bool,
    /// Then `csync2 -x`.
    pub sync_config: bool,
    /// Snapshot directory.
    pub snapshot: Option<PathBuf>,
    /// qcow2 backing file.
    pub backingfile: Option<PathBuf>,
    /// Recreate the overlay on every start.
    pub stateless: bool,
    /// virt-copy-in directories.
    pub copyindirs: Vec<PathBuf>,
    /// `virsh shutdown --mode`.
    pub shutdown_mode: Option<String>,
    /// Start networks and pools first.
    pub start_resources: bool,
}

const SHUTDOWN_MODES: &[&str] = &["acpi", "agent", "initctl", "signal", "paravirt"];

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn absolute(param: &str, v: &str) -> Result<PathBuf> {
    let p = PathBuf::from(v);
    if p.is_absolute() {
        Ok(p)
    } else {
        Err(Error::configured(format!(
            "{param} '{}' is not an absolute path",
            ocf::exit::sanitize_reason(v)
        )))
    }
}

fn opt_path(p: &Params<'_>, param: &ocf::meta::Param) -> Result<Option<PathBuf>> {
    let v = p.string(param)?;
    if v.trim().is_empty() {
        return Ok(None);
    }
    absolute(param.name, v.trim()).map(Some)
}

impl Config {
    /// Parse and check the parameters (nothing on the host is looked at).
    ///
    /// # Errors
    /// 6 for invalid values or combinations.
    pub fn from_params(p: &Params<'_>) -> Result<Config> {
        let config = absolute("config", p.string(&meta::CONFIG)?.trim())?;
        let hypervisor =
            Some(p.string(&meta::HYPERVISOR)?.trim().to_string()).filter(|s| !s.is_empty());
        let force_stop = p.bool(&meta::FORCE_STOP)?;
        let snapshot = opt_path(p, &meta::SNAPSHOT)?;
        if force_stop && snapshot.is_some() {
            return Err(Error::configured(
                "force_stop and snapshot exclude each other (a forced stop cannot save the state)",
            ));
        }
        let backingfile = opt_path(p, &meta::BACKINGFILE)?;
        let stateless = p.bool(&meta::STATELESS)?;
        if stateless && backingfile.is_none() {
            return Err(Error::configured("stateless needs backingfile"));
        }
        let copyindirs = words(&p.string(&meta::COPYINDIRS)?)
            .iter()
            .map(|w| absolute("copyindirs", w))
            .collect::<Result<Vec<_>>>()?;
        if !copyindirs.is_empty() && !stateless {
            return Err(Error::configured(
                "copyindirs is used only with stateless=true and backingfile",
            ));
        }
        let shutdown_mode =
            Some(p.string(&meta::SHUTDOWN_MODE)?.trim().to_string()).filter(|s| !s.is_empty());
        if let Some(m) = &shutdown_mode {
            if let Some(bad) = m.split(',').find(|w| !SHUTDOWN_MODES.contains(&w.trim())) {
                return Err(Error::configured(format!(
                    "shutdown_mode: '{}' is not one of {}",
                    ocf::exit::sanitize_reason(bad),
                    SHUTDOWN_MODES.join(", ")
                )));
            }
        }
        let mut migrateuri = p.string(&meta::MIGRATEURI)?.trim().to_string();
        let mut migrate_options = Vec::new();
        for w in words(&p.string(&meta::MIGRATE_OPTIONS)?) {
            if let Some(u) = w.strip_prefix("--migrateuri=") {
                if migrateuri.is_empty() {
                    migrateuri = u.to_string();
                }
            } else {
                migrate_options.push(w);
            }
        }
        let migrate_options_bad = migrate_options
            .iter()
            .find(|w| matches!(w.as_str(), "--desturi" | "--domain" | "--xml" | "--p2p"));
        if let Some(w) = migrate_options_bad {
            ocf::debug!("migrate_options contains {w}: passed to virsh as given");
        }
        let monitor_scripts = words(&p.string(&meta::MONITOR_SCRIPTS)?)
            .iter()
            .map(|w| absolute("monitor_scripts", w))
            .collect::<Result<Vec<_>>>()?;
        let util = |name, set: &ocf::meta::Param, unset: &ocf::meta::Param| -> Result<_> {
            Ok((name, p.bool(set)?, p.bool(unset)?))
        };
        let sync_config = p.bool(&meta::SYNC_CONFIG_ON_STOP)?;
        let user = p.string(&meta::MIGRATION_USER)?.trim().to_string();
        if !user.is_empty()
            && !user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::configured(format!(
                "migration_user '{}' is not a user name",
                ocf::exit::sanitize_reason(&user)
            )));
        }
        Ok(Config {
            config,
            hypervisor,
            force_stop,
            migration_transport: p.string(&meta::MIGRATION_TRANSPORT)?.trim().to_string(),
            migration_user: user,
            migration_downtime: u64::try_from(p.int(&meta::MIGRATION_DOWNTIME)?).unwrap_or(0),
            migration_speed: u64::try_from(p.int(&meta::MIGRATION_SPEED)?).unwrap_or(0),
            migration_network_suffix: p
                .string(&meta::MIGRATION_NETWORK_SUFFIX)?
                .trim()
                .to_string(),
            migrateuri,
            migrate_options,
            migrateport: u16::try_from(p.int(&meta::MIGRATEPORT)?).unwrap_or(0),
            remoteuri: p.string(&meta::REMOTEURI)?.trim().to_string(),
            monitor_scripts,
            utilization: [
                util(
                    "cpu",
                    &meta::AUTOSET_UTILIZATION_CPU,
                    &meta::UNSET_UTILIZATION_CPU,
                )?,
                util(
                    "host_memory",
                    &meta::AUTOSET_UTILIZATION_HOST_MEMORY,
                    &meta::UNSET_UTILIZATION_HOST_MEMORY,
                )?,
                util(
                    "hv_memory",
                    &meta::AUTOSET_UTILIZATION_HV_MEMORY,
                    &meta::UNSET_UTILIZATION_HV_MEMORY,
                )?,
            ],
            save_config: sync_config || p.bool(&meta::SAVE_CONFIG_ON_STOP)?,
            sync_config,
            snapshot,
            backingfile,
            stateless,
            copyindirs,
            shutdown_mode,
            start_resources: p.bool(&meta::START_RESOURCES)?,
        })
    }

    /// The overlay image of backing-file mode: config without its extension, `.qcow2`.
    pub fn overlay(&self) -> PathBuf {
        self.config.with_extension("qcow2")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::Rc;

    #[test]
    fn domain_xml() {
        let xml = "<domain type='qemu'><name>vm&amp;1</name>\
            <uuid>0E2C7A9B-1111-4222-8333-944445555666</uuid>\
            <memory unit='MiB'>64</memory><vcpu placement='static'>2</vcpu>\
            <devices><interface type='network'><source network='default'/></interface>\
            <interface type='bridge'><source bridge='br0'/></interface>\
            <disk type='volume'><source pool='p1' volume='v'/></disk>\
            <disk type='file'><source file='/x'/></disk></devices>\
            <metadata><name>not-me</name></metadata></domain>";
        let d = parse_domain(xml, Path::new("/x.xml")).unwrap();
        assert_eq!(d.name, "vm&1");
        assert_eq!(
            d.uuid.as_deref(),
            Some("0e2c7a9b-1111-4222-8333-944445555666")
        );
        assert_eq!((d.vcpus, d.memory_mib), (Some(2), Some(64)));
        assert_eq!(d.networks, ["default"]);
        assert_eq!(d.pools, ["p1"]);
        let d = parse_domain(
            "<domain><name>a</name><memory>1048576</memory></domain>",
            Path::new("/x"),
        )
        .unwrap();
        assert_eq!(d.memory_mib, Some(1024));
        assert_eq!(d.uuid, None);
    }

    #[test]
    fn domain_xml_without_name_or_malformed_is_5() {
        for xml in [
            "<domain><uuid>x</uuid></domain>",
            "<domain><name></name></domain>",
            "<domain><name>a</domain>",
            "<network><name>a</name></network>",
            "",
        ] {
            let e = parse_domain(xml, Path::new("/x")).unwrap_err();
            assert_eq!(e.rc(), Rc::ErrInstalled, "{xml}");
        }
    }
}
