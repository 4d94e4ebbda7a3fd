//! Secrets: values that never reach a debug string, a log or an exit reason, and client
//! option files that never outlive the action.
//!
//! * [`Secret`]: a string whose `{:?}` and `{}` print `<secret>`; read it with
//!   [`Secret::expose`] at the one place that hands it over (stdin of a child, a 0600 file).
//!   [`crate::process::Cmd`] likewise hides stdin data and [`Cmd::env_secret`] values.
//! * [`OptionsFile`]: a client options file (`mysql --defaults-extra-file=...`) written
//!   mode 0600 inside a private directory (mode 0700, owned by the agent's user) under the
//!   agent's run directory (`/run/ocfrs/<type>/secrets`, tmpfs). It is removed:
//!   1. when the value is dropped (the normal end of an action, errors and panics included:
//!      the dispatcher catches panics, so the stack unwinds);
//!   2. on the exit paths that skip destructors: an `atexit` handler (registered with the
//!      first file) runs [`remove_all`] at `std::process::exit`; the dispatcher's timeout
//!      watchdog, which ends the process with `_exit` from a signal handler while the
//!      action's thread may be blocked in the kernel, first removes them with `unlink` and
//!      `rmdir` from a registry of prepared C paths (no allocation, no lock). [`remove_all`]
//!      never waits for a lock (a thread stuck elsewhere cannot block it) and only removes
//!      files on the run directory's tmpfs;
//!   3. after a SIGKILL (Pacemaker's executor kills the agent's process group when the
//!      action times out; nothing runs then): the directory is named after the agent's pid
//!      and the next [`OptionsFile`] created by any agent of this type removes the
//!      directories of processes that no longer exist. The file never left the 0700
//!      directory on tmpfs meanwhile.
//!
//! ```no_run
//! use ocf::secret::{OptionsFile, Secret};
//! use ocf::process::Cmd;
//! # fn demo(cx: &ocf::Context, password: Secret) -> ocf::Result<()> {
//! let opts = OptionsFile::ini(cx, "client", &[("user", "monitor"), ("password", password.expose())])?;
//! let out = Cmd::new("mysql")
//!     .arg(format!("--defaults-extra-file={}", opts.path().display()))
//!     .args(["-e", "SELECT 1"])
//!     .run(cx.deadline)?;
//! drop(opts); // removed here (or at exit, or by the next agent after a SIGKILL)
//! # let _ = out; Ok(()) }
//! ```

use crate::context::Context;
use crate::exit::{Error, Result};
use std::ffi::CString;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Mutex, Once};

/// A secret value: `{:?}` and `{}` print `<secret>`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }
    /// The value, for the one place that hands it over.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static ATEXIT: Once = Once::new();
static SEQ: AtomicU64 = AtomicU64::new(0);

extern "C" fn remove_at_exit() {
    remove_all();
}

/// The live options files again, as C paths (file, directory) that the watchdog's signal
/// handler can remove with `unlink` and `rmdir` only: no allocation, no lock. An entry is
/// leaked on purpose (a few bytes per file, a few files per process): a handler running on
/// another thread may still read it when the file is dropped.
static SIGNAL_SAFE: [AtomicPtr<(CString, CString)>; 8] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; 8];

/// Register `file` in `dir` for [`remove_all_from_signal_handler`].
fn register_signal_safe(file: &Path, dir: &Path) -> Option<usize> {
    let (Ok(f), Ok(d)) = (
        CString::new(file.as_os_str().as_bytes()),
        CString::new(dir.as_os_str().as_bytes()),
    ) else {
        return None;
    };
    let entry = Box::into_raw(Box::new((f, d)));
    for (i, slot) in SIGNAL_SAFE.iter().enumerate() {
        if slot
            .compare_exchange(
                std::ptr::null_mut(),
                entry,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            return Some(i);
        }
    }
    // More than 8 live files: the atexit handler and the next agent's sweep still remove it.
    // SAFETY: `entry` came from Box::into_raw above and was published nowhere.
    drop(unsafe { Box::from_raw(entry) });
    None
}

/// Remove every live options file with `unlink` and `rmdir` only (async-signal-safe): for
/// the dispatcher's watchdog, which ends the process from a signal handler.
pub(crate) fn remove_all_from_signal_handler() {
    for slot in &SIGNAL_SAFE {
        let p = slot.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if p.is_null() {
            continue;
        }
        // SAFETY: entries are leaked boxes, never freed once published.
        let (f, d) = unsafe { &*p };
        // SAFETY: unlink and rmdir with NUL-terminated paths; both are async-signal-safe.
        unsafe {
            libc::unlink(f.as_ptr());
            libc::rmdir(d.as_ptr());
        }
    }
}

/// Remove every options file still alive in this process (their directories included).
/// Registered with `atexit`, so `std::process::exit` runs it; call it from any other exit
/// path that skips destructors (a watchdog ending the process with `_exit`). It never
/// waits: if another thread holds the registry at that instant, the files are left to the
/// next agent's sweep.
pub fn remove_all() {
    let dirs: Vec<PathBuf> = match LIVE.try_lock() {
        Ok(mut v) => std::mem::take(&mut *v),
        Err(std::sync::TryLockError::Poisoned(p)) => std::mem::take(&mut *p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    for d in dirs {
        let _ = std::fs::remove_dir_all(&d);
    }
}

/// A 0600 file in a private 0700 directory, removed when dropped (see the module docs).
#[derive(Debug)]
pub struct OptionsFile {
    dir: PathBuf,
    path: PathBuf,
    /// Its entry in the signal handler's registry, if it got one.
    slot: Option<usize>,
}

impl OptionsFile {
    /// Write `contents` to a new options file under this agent's run directory.
    ///
    /// # Errors
    /// 1 when the directory or file cannot be created.
    pub fn create(cx: &Context, contents: &[u8]) -> Result<OptionsFile> {
        let base = crate::files::run_dir(cx)
            .join(&cx.resource_type)
            .join("secrets");
        OptionsFile::create_in(&base, contents)
    }

    /// Like [`OptionsFile::create`], under `base` (created 0700 if missing).
    ///
    /// # Errors
    /// 1 when the directory or file cannot be created.
    pub fn create_in(base: &Path, contents: &[u8]) -> Result<OptionsFile> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(base)
            .map_err(|e| Error::generic(format!("create {}: {e}", base.display())))?;
        // An existing directory keeps its mode: make sure it is private.
        std::fs::set_permissions(base, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::generic(format!("chmod {}: {e}", base.display())))?;
        sweep(base);
        let me = std::process::id();
        let dir = base.join(format!("{me}-{}", SEQ.fetch_add(1, Ordering::Relaxed)));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::generic(format!("create {}: {e}", dir.display())))?;
        ATEXIT.call_once(|| {
            // SAFETY: registering a plain extern "C" function without captured state.
            unsafe {
                libc::atexit(remove_at_exit);
            }
        });
        if let Ok(mut v) = LIVE.lock() {
            v.push(dir.clone());
        }
        let path = dir.join("options.cnf");
        let file = OptionsFile {
            slot: register_signal_safe(&path, &dir),
            path,
            dir,
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file.path)
            .map_err(|e| Error::generic(format!("create {}: {e}", file.path.display())))?;
        f.write_all(contents)
            .and_then(|()| f.sync_all())
            .map_err(|e| Error::generic(format!("write {}: {e}", file.path.display())))?;
        Ok(file)
    }

    /// An INI-style options file with one `[section]` (`client` for the mysql tools): each
    /// value is double-quoted with `\` and `"` escaped, as MySQL/MariaDB option files read
    /// them.
    ///
    /// # Errors
    /// 6 when a key or value contains a line break or NUL (it cannot be written safely);
    /// 1 on I/O errors.
    pub fn ini(cx: &Context, section: &str, pairs: &[(&str, &str)]) -> Result<OptionsFile> {
        OptionsFile::create(cx, ini_text(section, pairs)?.as_bytes())
    }

    /// The file's path (pass it to the client).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The text of an INI options file (see [`OptionsFile::ini`]).
///
/// # Errors
/// 6 when a key or value contains a line break or NUL.
pub fn ini_text(section: &str, pairs: &[(&str, &str)]) -> Result<String> {
    let bad = |s: &str| s.contains(['\n', '\r', '\0']);
    let mut text = format!("[{section}]\n");
    for (k, v) in pairs {
        if bad(k) || bad(v) || bad(section) {
            return Err(Error::configured(format!(
                "option {k}: line breaks are not allowed"
            )));
        }
        let q = v.replace('\\', "\\\\").replace('"', "\\\"");
        text.push_str(&format!("{k}=\"{q}\"\n"));
    }
    Ok(text)
}

impl Drop for OptionsFile {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            // Leaked, not freed: see SIGNAL_SAFE.
            SIGNAL_SAFE[i].store(std::ptr::null_mut(), Ordering::Release);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Ok(mut v) = LIVE.lock() {
            v.retain(|d| d != &self.dir);
        }
    }
}

/// Remove the directories of processes that no longer exist (killed before cleaning up).
fn sweep(base: &Path) {
    let Ok(rd) = std::fs::read_dir(base) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "<secret> <secret>");
        assert_eq!(s.expose(), "hunter2");
        let c = crate::process::Cmd::new("mysql")
            .env("PLAIN", "visible")
            .env_secret("MYSQL_PWD", "hunter2")
            .stdin("hunter2 on stdin");
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(
            dbg.contains("MYSQL_PWD=<secret>") && dbg.contains("PLAIN=visible"),
            "{dbg}"
        );
        assert!(dbg.contains("<16 bytes>"), "{dbg}");
    }

    #[test]
    fn options_file_is_private_and_removed() {
        let base = std::env::temp_dir().join(format!("ocfdmn-secret-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        // A leftover of a SIGKILLed agent (pid that cannot exist) is swept.
        let stale = base.join("2147483646-0");
        std::fs::create_dir_all(&stale).unwrap();
        let f = OptionsFile::create_in(
            &base,
            ini_text("client", &[("user", "u"), ("password", "p\"w\\d")])
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        assert!(!stale.exists(), "stale directory swept");
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert_eq!(text, "[client]\nuser=\"u\"\npassword=\"p\\\"w\\\\d\"\n");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(f.path()), 0o600);
        assert_eq!(mode(f.path().parent().unwrap()), 0o700);
        assert_eq!(mode(&base), 0o700);
        let path = f.path().to_path_buf();
        drop(f);
        assert!(!path.exists() && !path.parent().unwrap().exists());
        // The exit path: remove_all removes what is still alive without a Drop.
        let g = OptionsFile::create_in(&base, b"x").unwrap();
        let gp = g.path().to_path_buf();
        std::mem::forget(g);
        remove_all();
        assert!(!gp.exists());
        assert!(ini_text("client", &[("password", "a\nb")]).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
