//! The configuration: parameters parsed and checked (depth 0), and what `device` names.

use super::meta;
use super::types::fs_type;
use nix::sys::signal::Signal;
use ocf::mount::{self, FsId, MountOptions};
use ocf::{Error, Params, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `device` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A path: a block device node (or an image file with the `loop` option).
    Path(PathBuf),
    /// A filesystem identity (UUID=, LABEL=, ...).
    Id(FsId),
    /// `server:/path` or `//server/share`.
    Network(String),
    /// The source directory (or file) of a bind mount.
    Bind(PathBuf),
    /// The source name of a virtual filesystem (`tmpfs`, `overlay`, ...).
    Name(String),
}

/// How stop treats processes that keep the mount busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForceUnmount {
    /// Signal them (`true`).
    Kill,
    /// Signal them (`safe`: same non-blocking scan).
    Safe,
    /// Never signal; only retry.
    No,
}

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `device` as configured (for messages).
    pub device: String,
    /// What it names.
    pub source: Source,
    /// Mount point as configured, trailing slashes removed.
    pub directory: PathBuf,
    /// Filesystem type ("" = detect).
    pub fstype: String,
    /// Raw options.
    pub options: String,
    /// Options split for mount(2).
    pub mount_options: MountOptions,
    /// Status file prefix.
    pub statusfile_prefix: String,
    /// auto/force/no.
    pub run_fsck: &'static str,
    /// 6 s per mount on stop.
    pub fast_stop: bool,
    /// Allow clones of non-cluster types.
    pub force_clones: bool,
    /// Signal users on stop.
    pub force_unmount: ForceUnmount,
    /// Graceful signals.
    pub term_signals: Vec<Signal>,
    /// Forceful signals.
    pub kill_signals: Vec<Signal>,
    /// Pause after signalling.
    pub signal_delay: Duration,
}

impl Config {
    /// Whether the filesystem lives on a block device this host must see.
    pub fn is_block(&self) -> bool {
        fs_type(&self.fstype).block
            && !self.mount_options.bind
            && !has_option(&self.options, "loop")
            && matches!(self.source, Source::Path(_) | Source::Id(_))
    }

    /// A network filesystem (by type or by a `server:/path` source).
    pub fn is_network(&self) -> bool {
        fs_type(&self.fstype).network || matches!(self.source, Source::Network(_))
    }

    /// Whether mount(8) must do the mounting (helpers, loop setup, type detection).
    pub fn needs_mount_binary(&self) -> bool {
        if self.mount_options.bind {
            return false;
        }
        self.is_network()
            || fs_type(&self.fstype).helper
            || mount::MountSpec::new(&self.device, "/", &self.fstype, &self.options).needs_helper()
    }

    /// How stop escalates on a busy or hung mount of this filesystem.
    pub fn escalation(&self) -> mount::Escalation {
        let signal = self.force_unmount != ForceUnmount::No;
        let hangs = self.is_network() || super::types::is_fuse(&self.fstype);
        mount::Escalation {
            term_signals: if signal {
                self.term_signals.clone()
            } else {
                Vec::new()
            },
            kill_signals: if signal {
                self.kill_signals.clone()
            } else {
                Vec::new()
            },
            signal_delay: self.signal_delay,
            force: hangs,
            lazy: hangs,
            unsignalled_note: " (force_unmount=false)",
        }
    }

    /// Depth 0: parse and check the parameters.
    ///
    /// # Errors
    /// 6 for a value that is wrong everywhere.
    pub fn parse(p: &Params<'_>) -> Result<Config> {
        let device = p.string(&meta::DEVICE)?;
        if device.is_empty() {
            return Err(Error::configured(
                "device is empty: set it to the device to be mounted",
            ));
        }
        if device.trim() != device {
            return Err(Error::configured(format!(
                "device '{device}' has leading or trailing white space"
            )));
        }
        let dir = p.string(&meta::DIRECTORY)?;
        if dir.is_empty() {
            return Err(Error::configured("directory is empty: set the mount point"));
        }
        if dir.trim() != dir {
            return Err(Error::configured(format!(
                "directory '{dir}' has leading or trailing white space"
            )));
        }
        if !dir.starts_with('/') {
            return Err(Error::configured(format!(
                "directory '{dir}' is not an absolute path"
            )));
        }
        let directory = PathBuf::from(strip_trailing_slashes(&dir));
        if directory == Path::new("/") {
            return Err(Error::configured("directory must not be /"));
        }
        let fstype = p.string(&meta::FSTYPE)?.trim().to_string();
        let options = p.string(&meta::OPTIONS)?.trim().to_string();
        let mount_options = mount::parse_options(&options);
        let source = parse_source(&device, &fstype, mount_options.bind)?;
        let mut statusfile_prefix = p.string(&meta::STATUSFILE_PREFIX)?;
        if statusfile_prefix.is_empty() {
            statusfile_prefix = meta::STATUSFILE_PREFIX
                .default
                .unwrap_or_default()
                .to_string();
        }
        if Path::new(&statusfile_prefix)
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        {
            return Err(Error::configured(
                "statusfile_prefix must stay inside the filesystem (no '..')",
            ));
        }
        let force_unmount = {
            let v = p.string(&meta::FORCE_UNMOUNT)?;
            let t = v.trim();
            if t.eq_ignore_ascii_case("safe") {
                ForceUnmount::Safe
            } else if t.is_empty() {
                ForceUnmount::Kill
            } else {
                match ocf::params::parse_bool(t) {
                    Some(true) => ForceUnmount::Kill,
                    Some(false) => ForceUnmount::No,
                    None => {
                        return Err(Error::configured(format!(
                            "force_unmount must be true, safe or false, not '{t}'"
                        )))
                    }
                }
            }
        };
        Ok(Config {
            device,
            source,
            directory,
            fstype,
            options,
            mount_options,
            statusfile_prefix,
            run_fsck: p.select(&meta::RUN_FSCK)?,
            fast_stop: p.bool(&meta::FAST_STOP)?,
            force_clones: p.bool(&meta::FORCE_CLONES)?,
            force_unmount,
            term_signals: parse_signals(p, &meta::TERM_SIGNALS)?,
            kill_signals: parse_signals(p, &meta::KILL_SIGNALS)?,
            signal_delay: Duration::from_secs(p.int(&meta::SIGNAL_DELAY)?.unsigned_abs()),
        })
    }
}

/// Whether the option list holds `word` (or `word=...`).
pub fn has_option(options: &str, word: &str) -> bool {
    options
        .split(',')
        .map(str::trim)
        .any(|w| w == word || w.starts_with(&format!("{word}=")))
}

/// Parse `device` (already known not to be blank).
pub fn parse_source(device: &str, fstype: &str, bind: bool) -> Result<Source> {
    let unquote = |s: &str| s.trim().trim_matches('"').trim_matches('\'').to_string();
    let id = |kind: &str, v: &str| -> Result<Source> {
        let v = unquote(v);
        if v.is_empty() {
            return Err(Error::configured(format!(
                "device '{device}' names no {kind}"
            )));
        }
        Ok(Source::Id(match kind {
            "UUID" => FsId::Uuid(v),
            "LABEL" => FsId::Label(v),
            "PARTUUID" => FsId::PartUuid(v),
            _ => FsId::PartLabel(v),
        }))
    };
    for (prefixes, kind) in [
        (&["UUID=", "--uuid=", "--uuid ", "-U"][..], "UUID"),
        (&["LABEL=", "--label=", "--label ", "-L"][..], "LABEL"),
        (&["PARTUUID="][..], "PARTUUID"),
        (&["PARTLABEL="][..], "PARTLABEL"),
    ] {
        for p in prefixes {
            if let Some(rest) = device.strip_prefix(p) {
                return id(kind, rest);
            }
        }
    }
    if bind {
        return Ok(Source::Bind(PathBuf::from(device)));
    }
    if device.starts_with("//")
        || (!device.starts_with('/') && device.contains(':'))
        || fs_type(fstype).network
    {
        return Ok(Source::Network(device.to_string()));
    }
    if device.starts_with('/') {
        return Ok(Source::Path(PathBuf::from(device)));
    }
    Ok(Source::Name(device.to_string()))
}

fn parse_signals(p: &Params<'_>, param: &ocf::Param) -> Result<Vec<Signal>> {
    ocf::process::parse_signals(param.name, &p.string(param)?)
}

fn strip_trailing_slashes(s: &str) -> &str {
    let t = s.trim_end_matches('/');
    if t.is_empty() && s.starts_with('/') {
        "/"
    } else {
        t
    }
}
