//! `exportfs`: one NFS export (one client, one or more directories) as a cluster resource,
//! drop-in for `ocf:heartbeat:exportfs`.
//!
//! * **monitor** reads the export table `/var/lib/nfs/etab` ([`table`]; why that file and not
//!   the kernel's cache is said there): no `exportfs` run, no screen output parsed, so long
//!   names, blanks, IPv6 brackets and regex characters in paths (RA#2070, #2104, #906,
//!   #2200) cannot confuse it. Client specifications are matched exactly ([`client`]):
//!   `10.0.0.1` is not `10.0.0.10`, `*` is the world and nothing else, IPv6 addresses are
//!   compared as addresses. Several resources exporting one directory to different clients
//!   are independent (RA#1430): each one matches only its own client, stop unexports only
//!   its own, and the kernel-cache wait looks for its own client only.
//! * **start** exports each directory with `exportfs -v -o OPTIONS CLIENT:DIR` (argv, within
//!   the start budget) and reads etab back: the client field exportfs wrote (a host name is
//!   stored under its canonical name) is recorded in the state file with the real directory
//!   (symbolic links resolved, RA#1506); monitor and stop use what start recorded. A state
//!   file under `/run` (tmpfs) also means a node that rebooted with a stale etab is not
//!   reported as running (RA#821).
//! * **stop** refreshes the rmtab backup, unexports, releases NFS locks
//!   (`/proc/fs/nfsd/unlock_filesystem`) unless another export of the same filesystem stays
//!   active, waits for the NFSv4 lease time when asked (cut to the budget), then flushes the
//!   kernel's export cache until it no longer holds the export, bounded by the stop budget:
//!   what is still held at the end is named in the exit reason instead of looping forever.
//! * the **rmtab backup** ([`rmtab`]) is merged under nfs-utils' own rmtab lock.
//!
//! Differences from resource-agents, on purpose: a directory that does not exist at start is
//! 5 (a problem of this node: the filesystem is not mounted), not 6; `fsid` is validated
//! (an integer, a UUID or `root`) instead of failing at start; a `clientspec` with several
//! clients is refused with 6; directories with blanks are written as in /etc/exports
//! (`"..."` or `\040`).

pub mod client;
pub mod meta;
pub mod rmtab;
pub mod table;

use client::ClientSpec;
use ocf::process::{self, Cmd};
use ocf::{cluster, files, Context, Error, Params, ResourceAgent, Result, Status};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;
use table::Entry;

/// The agent.
pub struct Exportfs;

/// nfs-utils' state directory (etab, rmtab and their locks).
pub const NFS_STATE_DIR: &str = "/var/lib/nfs";
/// The kernel's export cache.
pub const KERNEL_CACHE: &str = "/proc/net/rpc/nfsd.export/content";
/// nfsd's control files.
pub const PROC_NFSD: &str = "/proc/fs/nfsd";

/// The parsed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `clientspec`.
    pub client: ClientSpec,
    /// `options`, as given.
    pub options: String,
    /// `directory`, split (not resolved).
    pub dirs: Vec<PathBuf>,
    /// `fsid`, when set.
    pub fsid: Option<String>,
    /// `unlock_on_stop`.
    pub unlock_on_stop: bool,
    /// `wait_for_leasetime_on_stop`.
    pub wait_for_leasetime_on_stop: bool,
    /// `rmtab_backup`, `None` for `none`.
    pub rmtab_backup: Option<PathBuf>,
    /// This instance's state file (what start exported).
    pub state_file: PathBuf,
}

/// Whether `fsid` is a value exportfs accepts: an integer, `root`, or a UUID (32 hex digits,
/// `-` or `:` between them).
fn valid_fsid(f: &str) -> bool {
    if f == "root" || f.parse::<u32>().is_ok() {
        return true;
    }
    let hex = f.chars().filter(char::is_ascii_hexdigit).count();
    hex == 32
        && f.chars()
            .all(|c| c.is_ascii_hexdigit() || c == '-' || c == ':')
}

impl Config {
    /// exportfs' `-o` value for the `i`th directory: `options` with `fsid=` set from `fsid`
    /// (fsid + i for an integer), `None` when there is nothing to pass.
    pub fn options_for(&self, i: usize) -> Option<String> {
        let mut opts: Vec<String> = self
            .options
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(String::from)
            .collect();
        if let Some(f) = &self.fsid {
            let value = match f.parse::<u64>() {
                Ok(n) => (n + i as u64).to_string(),
                Err(_) => f.clone(),
            };
            opts.retain(|o| !o.starts_with("fsid="));
            opts.push(format!("fsid={value}"));
        }
        (!opts.is_empty()).then(|| opts.join(","))
    }

    fn etab(&self) -> PathBuf {
        Path::new(NFS_STATE_DIR).join("etab")
    }
}

/// `CLIENT:DIR` for exportfs, as bytes (a directory need not be UTF-8).
fn export_arg(client: &str, dir: &Path) -> OsString {
    let mut v = client.as_bytes().to_vec();
    v.push(b':');
    v.extend_from_slice(dir.as_os_str().as_bytes());
    OsString::from_vec(v)
}

/// The directories as exported: symbolic links resolved where the directory exists, as
/// configured where it does not (stop and monitor on a node without the filesystem).
/// Bounded: a stat on a hung filesystem must not hold the action.
fn resolve(dirs: &[PathBuf], cx: &Context) -> Result<Vec<PathBuf>> {
    let dirs = dirs.to_vec();
    ocf::bounded(
        cx.deadline.within(Duration::from_secs(10)),
        "resolving the directories",
        move || {
            dirs.into_iter()
                .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
                .collect()
        },
    )
    .map_err(|b| Error::generic(b.to_string()))
}

fn exportfs_cmd() -> Cmd {
    Cmd::new("exportfs")
}

fn read_state(cfg: &Config) -> Result<Option<Vec<Entry>>> {
    Ok(files::read_if_exists(&cfg.state_file)?.map(|t| table::parse(t.as_bytes())))
}

fn write_state(cfg: &Config, entries: &[Entry]) -> Result<()> {
    let text: String = entries
        .iter()
        .map(|e| format!("{}\t{}\n", table::escape(&e.path), e.client))
        .collect();
    files::write_atomic(&cfg.state_file, text.as_bytes())
}

/// Whether `table` holds `e` (same directory, same client up to case).
fn holds(table: &[Entry], e: &Entry) -> bool {
    table
        .iter()
        .any(|t| t.path == e.path && t.client.eq_ignore_ascii_case(&e.client))
}

/// After exporting `dir`, the client field etab shows for it: the entry that matches the
/// configured client, else (a host name, stored under its canonical name) the one entry
/// that exportfs added, or the one that is the configured name's fully qualified form.
fn find_client(spec: &ClientSpec, dir: &Path, before: &[Entry], after: &[Entry]) -> Option<String> {
    let for_dir: Vec<&Entry> = after.iter().filter(|e| e.path == dir).collect();
    if let Some(e) = for_dir.iter().find(|e| spec.matches(&e.client)) {
        return Some(e.client.clone());
    }
    if !spec.is_host_name() {
        return None;
    }
    let new: Vec<&&Entry> = for_dir.iter().filter(|e| !holds(before, e)).collect();
    if let [one] = new.as_slice() {
        return Some(one.client.clone());
    }
    let prefix = format!("{}.", spec.raw.to_ascii_lowercase());
    let fqdn: Vec<&&Entry> = for_dir
        .iter()
        .filter(|e| e.client.to_ascii_lowercase().starts_with(&prefix))
        .collect();
    match fqdn.as_slice() {
        [one] => Some(one.client.clone()),
        _ => None,
    }
}

fn show(e: &Entry) -> String {
    format!("{} to {}", e.path.display(), e.client)
}

/// The rmtab backup of `dir`, when enabled.
fn backup_file(cfg: &Config, dir: &Path) -> Option<PathBuf> {
    cfg.rmtab_backup.as_ref().map(|b| dir.join(b))
}

/// Refresh the rmtab backups of `entries`; failures are warnings (a read-only export, a
/// full disk): they never fail the action.
fn backup_rmtab(cfg: &Config, entries: &[Entry], cx: &Context) {
    let rm = rmtab::Rmtab::in_dir(Path::new(NFS_STATE_DIR));
    for e in entries {
        if let Some(b) = backup_file(cfg, &e.path) {
            if let Err(err) = rm.backup(&e.path, &b, cx.deadline.within(Duration::from_secs(5))) {
                ocf::warn!("rmtab backup {}: {}", b.display(), err.reason());
            }
        }
    }
}

/// Write `dir` to nfsd's unlock_filesystem (releases the NFS locks of its filesystem).
fn unlock(dir: &Path, cx: &Context) {
    let file = Path::new(PROC_NFSD).join("unlock_filesystem");
    let line = format!("{}\n", table::escape(dir));
    let f = file.clone();
    let r = ocf::bounded(
        cx.deadline.within(Duration::from_secs(10)),
        format!("writing {}", file.display()),
        move || std::fs::write(&f, line),
    );
    match r {
        Ok(Ok(())) => ocf::info!("released the NFS locks on {}", dir.display()),
        Ok(Err(e)) => ocf::warn!(
            "cannot release the NFS locks on {}: {}: {e}",
            dir.display(),
            file.display()
        ),
        Err(b) => ocf::warn!("cannot release the NFS locks on {}: {b}", dir.display()),
    }
}

/// Whether another active export (in `etab`) is on the filesystem of `dir`.
fn filesystem_still_exported(dir: &Path, etab: &[Entry], cx: &Context) -> bool {
    use std::os::unix::fs::MetadataExt;
    let dir = dir.to_path_buf();
    let others: Vec<PathBuf> = etab.iter().map(|e| e.path.clone()).collect();
    ocf::bounded(
        cx.deadline.within(Duration::from_secs(5)),
        "stat of the exported directories",
        move || {
            let Ok(dev) = std::fs::metadata(&dir).map(|m| m.dev()) else {
                return false;
            };
            others
                .iter()
                .any(|p| std::fs::metadata(p).is_ok_and(|m| m.dev() == dev))
        },
    )
    .unwrap_or(false)
}

/// Sleep for the NFSv4 lease time + 2 s, leaving `reserve` of the budget.
fn wait_for_lease(cx: &Context, reserve: Duration) {
    let file = Path::new(PROC_NFSD).join("nfsv4leasetime");
    let lease = std::fs::read_to_string(&file)
        .ok()
        .and_then(|t| t.trim().parse::<u64>().ok());
    let Some(lease) = lease else {
        ocf::warn!("cannot read the NFSv4 lease time from {}", file.display());
        return;
    };
    let want = Duration::from_secs(lease + 2);
    let can = cx.deadline.remaining().saturating_sub(reserve);
    if can < want {
        ocf::warn!(
            "waiting {} s of the NFSv4 lease time + 2 s ({} s): the stop timeout allows no more",
            can.as_secs(),
            want.as_secs()
        );
    } else {
        ocf::info!("waiting {} s for NFSv4 leases to expire", want.as_secs());
    }
    std::thread::sleep(want.min(can));
}

/// Flush the kernel's export cache until it no longer holds any of `entries` for their
/// clients (mountd names a client domain after every export it matches, joined with
/// commas), within the budget.
fn flush_cache(entries: &[Entry], cx: &Context) -> Result<()> {
    let cache = Path::new(KERNEL_CACHE);
    let mut flushes = 0u32;
    loop {
        let now = table::read(cache)?;
        let held: Vec<&Entry> = entries
            .iter()
            .filter(|e| {
                now.iter().any(|c| {
                    c.path == e.path
                        && c.client
                            .split(',')
                            .any(|d| d.eq_ignore_ascii_case(&e.client))
                })
            })
            .collect();
        if held.is_empty() {
            if flushes > 0 {
                ocf::info!("kernel export cache released after {flushes} flush(es)");
            }
            return Ok(());
        }
        if cx.deadline.remaining() < Duration::from_secs(1) {
            let names: Vec<String> = held.iter().map(|e| show(e)).collect();
            return Err(Error::generic(format!(
                "the kernel's export cache ({KERNEL_CACHE}) still holds {} after {flushes} \
                 flush(es) of exportfs -f: a client or nfsd still uses it",
                names.join(", ")
            )));
        }
        let out = exportfs_cmd().arg("-f").run(cx.deadline)?;
        if !out.success() {
            ocf::warn!("exportfs -f: {}", out.one_line());
        }
        flushes += 1;
        cx.deadline.sleep(Duration::from_millis(500));
    }
}

impl ResourceAgent for Exportfs {
    const META: &'static ocf::Agent = &meta::AGENT;
    type Config = Config;

    fn configure(p: &Params<'_>, cx: &Context) -> Result<Config> {
        let client = ClientSpec::parse(&p.string(&meta::CLIENTSPEC)?).map_err(Error::configured)?;
        let dirs =
            table::split_directories(&p.string(&meta::DIRECTORY)?).map_err(Error::configured)?;
        if let Some(d) = dirs.iter().find(|d| !d.is_absolute()) {
            return Err(Error::configured(format!(
                "directory '{}' is not an absolute path",
                d.display()
            )));
        }
        let options = p.opt_string(&meta::OPTIONS)?.unwrap_or_default();
        let fsid = p
            .opt_string(&meta::FSID)?
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty());
        if let Some(f) = &fsid {
            if f.contains(',') {
                return Err(Error::configured(format!(
                    "fsid '{f}' cannot contain a comma"
                )));
            }
            if !valid_fsid(f) {
                return Err(Error::configured(format!(
                    "fsid '{f}' is not an integer, a UUID or root"
                )));
            }
            if dirs.len() > 1 {
                let n = f.parse::<u32>().map_err(|_| {
                    Error::configured("use an integer fsid when exporting several directories")
                })?;
                if u32::try_from(dirs.len() - 1)
                    .ok()
                    .and_then(|k| n.checked_add(k))
                    .is_none()
                {
                    return Err(Error::configured(format!(
                        "fsid {n} + {} directories is out of range",
                        dirs.len()
                    )));
                }
            }
        } else if dirs.len() > 1 && options.split(',').any(|o| o.trim().starts_with("fsid=")) {
            return Err(Error::configured(
                "several directories would share the fsid= of options: set the fsid \
                 parameter (an integer) so that each gets its own",
            ));
        }
        let rmtab_backup = match p.string(&meta::RMTAB_BACKUP)?.trim() {
            "none" => None,
            "" => None,
            b => {
                let path = PathBuf::from(b);
                if path.is_absolute()
                    || path
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir))
                {
                    return Err(Error::configured(format!(
                        "rmtab_backup '{b}' must be a file name relative to the directory"
                    )));
                }
                Some(path)
            }
        };
        Ok(Config {
            client,
            options,
            dirs,
            fsid,
            unlock_on_stop: p.bool(&meta::UNLOCK_ON_STOP)?,
            wait_for_leasetime_on_stop: p.bool(&meta::WAIT_FOR_LEASETIME_ON_STOP)?,
            rmtab_backup,
            state_file: files::instance_file(cx, "state"),
        })
    }

    fn check_host(cfg: &Config, cx: &Context) -> Result<()> {
        if process::which("exportfs").is_none() {
            return Err(Error::installed(
                "exportfs is not installed (package nfs-kernel-server or nfs-utils)",
            ));
        }
        if matches!(cx.action.as_str(), "start" | "validate-all") {
            let dirs = cfg.dirs.clone();
            let missing = ocf::bounded(
                cx.deadline.within(Duration::from_secs(10)),
                "stat of the directories",
                move || dirs.into_iter().find(|d| !d.is_dir()),
            )
            .map_err(|b| Error::generic(b.to_string()))?;
            if let Some(d) = missing {
                return Err(Error::installed(format!(
                    "directory {} does not exist or is not a directory on this node",
                    d.display()
                )));
            }
        }
        Ok(())
    }

    fn start(cfg: &Config, cx: &Context) -> Result<()> {
        let dirs = resolve(&cfg.dirs, cx)?;
        cluster::state_dir(cx)?;
        let mut recorded: Vec<Entry> = Vec::new();
        for (i, dir) in dirs.iter().enumerate() {
            let before = table::read(&cfg.etab())?;
            let arg = export_arg(&cfg.client.exportfs_arg(), dir);
            let mut cmd = exportfs_cmd().arg("-v");
            if let Some(o) = cfg.options_for(i) {
                cmd = cmd.arg("-o").arg(o);
            }
            let cmd = cmd.arg(&arg);
            let out = cmd.run(cx.deadline)?;
            if !out.success() {
                return Err(Error::generic(format!(
                    "{} failed: {}",
                    cmd.display(),
                    out.one_line()
                )));
            }
            let warnings = out.stderr_text();
            if !warnings.trim().is_empty() {
                ocf::info!("exportfs: {}", warnings.trim());
            }
            let after = table::read(&cfg.etab())?;
            let client = find_client(&cfg.client, dir, &before, &after).ok_or_else(|| {
                Error::generic(format!(
                    "{} succeeded, but {} has no export of {} to {} ({})",
                    cmd.display(),
                    cfg.etab().display(),
                    dir.display(),
                    cfg.client.raw,
                    out.one_line()
                ))
            })?;
            let e = Entry {
                path: dir.clone(),
                client,
                options: String::new(),
            };
            ocf::info!("exported {}", show(&e));
            recorded.push(e);
            // Recorded after each directory: a start that fails half-way is undone by stop.
            write_state(cfg, &recorded)?;
        }
        let rm = rmtab::Rmtab::in_dir(Path::new(NFS_STATE_DIR));
        for e in &recorded {
            let Some(b) = backup_file(cfg, &e.path) else {
                continue;
            };
            match rm.restore(&b, cx.deadline.within(Duration::from_secs(10))) {
                Ok(0) => {}
                Ok(n) => ocf::info!("restored {n} rmtab line(s) from {}", b.display()),
                Err(err) => ocf::warn!("rmtab restore from {}: {}", b.display(), err.reason()),
            }
        }
        Ok(())
    }

    fn stop(cfg: &Config, cx: &Context) -> Result<()> {
        let etab = table::read(&cfg.etab())?;
        let targets: Vec<Entry> = match read_state(cfg)? {
            Some(s) => s,
            None => resolve(&cfg.dirs, cx)?
                .into_iter()
                .filter_map(|d| {
                    etab.iter()
                        .find(|e| e.path == d && cfg.client.matches(&e.client))
                        .cloned()
                })
                .collect(),
        };
        let active: Vec<Entry> = targets.into_iter().filter(|t| holds(&etab, t)).collect();
        if active.is_empty() {
            ocf::info!("not exported");
            return files::remove_if_exists(&cfg.state_file);
        }
        backup_rmtab(cfg, &active, cx);
        let mut failures: Vec<String> = Vec::new();
        for e in &active {
            let cmd = exportfs_cmd()
                .arg("-v")
                .arg("-u")
                .arg(export_arg(&cfg.client.exportfs_arg(), &e.path));
            match cmd.run(cx.deadline) {
                Ok(out) if out.success() => ocf::info!("unexported {}", show(e)),
                Ok(out) => failures.push(format!("{} failed: {}", cmd.display(), out.one_line())),
                Err(err) => failures.push(err.reason().to_string()),
            }
        }
        let left = table::read(&cfg.etab())?;
        if cfg.unlock_on_stop {
            for e in active.iter().filter(|e| !holds(&left, e)) {
                if filesystem_still_exported(&e.path, &left, cx) {
                    ocf::info!(
                        "{} stays exported to other clients: its filesystem's NFS locks are kept",
                        e.path.display()
                    );
                } else {
                    unlock(&e.path, cx);
                }
            }
        }
        if cfg.wait_for_leasetime_on_stop {
            wait_for_lease(cx, Duration::from_secs(5));
        }
        for e in active.iter().filter(|e| holds(&left, e)) {
            failures.push(format!("{} still lists {}", cfg.etab().display(), show(e)));
        }
        if !failures.is_empty() {
            return Err(Error::generic(failures.join("; ")));
        }
        flush_cache(&active, cx)?;
        files::remove_if_exists(&cfg.state_file)
    }

    fn monitor(cfg: &Config, cx: &Context) -> Result<Status> {
        let Some(state) = read_state(cfg)? else {
            return Ok(Status::Stopped);
        };
        let etab = table::read(&cfg.etab())?;
        let (present, missing): (Vec<Entry>, Vec<Entry>) =
            state.into_iter().partition(|e| holds(&etab, e));
        if present.is_empty() {
            let names: Vec<String> = missing.iter().map(show).collect();
            if cx.is_probe() {
                ocf::info!("{} not exported (stopped)", names.join(", "));
            } else {
                ocf::error!("{} not exported (stopped)", names.join(", "));
            }
            return Ok(Status::Stopped);
        }
        if !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(show).collect();
            return Err(Error::generic(format!(
                "only partly exported: {} missing from {}",
                names.join(", "),
                cfg.etab().display()
            )));
        }
        backup_rmtab(cfg, &present, cx);
        Ok(Status::Running)
    }
}

#[cfg(test)]
mod tests;
