//! Small file operations every agent needs, done once: per-instance file names under the
//! run directory, atomic writes, removal that treats "already gone" as success, and a
//! write lock on any file that other programs lock with `fcntl` too ([`lock_path`]).

use crate::context::Context;
use crate::deadline::Deadline;
use crate::exit::{Error, Result};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default root for agents' runtime state (tmpfs, emptied at boot).
pub const RUN_DIR: &str = "/run/ocfrs";

/// The run directory: `OCFRS_RUN_DIR` when set (tests), else [`RUN_DIR`].
pub fn run_dir(cx: &Context) -> PathBuf {
    PathBuf::from(cx.env.get_nonempty("OCFRS_RUN_DIR").unwrap_or(RUN_DIR))
}

/// A name safe as a single path component, derived from an instance name (`rsc:1` → `rsc_1`).
pub fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// This instance's file `<run dir>/<type>/<instance>.<ext>` (the directory is not created).
pub fn instance_file(cx: &Context, ext: &str) -> PathBuf {
    run_dir(cx)
        .join(&cx.resource_type)
        .join(format!("{}.{ext}", file_safe(&cx.instance)))
}

/// A path parameter's value: absolute as given, or [`instance_file`] when empty.
///
/// # Errors
/// 6 when the value is a relative path.
pub fn absolute_or_instance_file(
    cx: &Context,
    param: &str,
    value: &str,
    ext: &str,
) -> Result<PathBuf> {
    if value.trim().is_empty() {
        Ok(instance_file(cx, ext))
    } else if value.starts_with('/') {
        Ok(PathBuf::from(value))
    } else {
        Err(Error::configured(format!(
            "{param} must be an absolute path, not '{value}'"
        )))
    }
}

/// Write `contents` to `path` atomically (a temporary file in the same directory, then
/// rename), creating the directory if needed.
///
/// # Errors
/// 1 on I/O errors, naming the path.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::generic(format!("create {}: {e}", dir.display())))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    // The temporary name is predictable: a file or symbolic link planted there is removed,
    // never followed (O_EXCL|O_NOFOLLOW), so a write never lands outside `path`.
    let create = || {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
    };
    let mut f = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let _ = std::fs::remove_file(&tmp);
            create()
        }
        r => r,
    }
    .map_err(|e| Error::generic(format!("write {}: {e}", tmp.display())))?;
    std::io::Write::write_all(&mut f, contents).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::generic(format!("write {}: {e}", tmp.display()))
    })?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::generic(format!("write {}: {e}", path.display()))
    })
}

/// Remove a file; a file that is already gone is success.
///
/// # Errors
/// 1 on other I/O errors, naming the path.
pub fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        // unlink(2) answers EROFS on a read-only filesystem before looking the name up: a
        // file that is not there is still gone (a stop must not fail, and fence the node,
        // because the run directory went read-only).
        Err(e)
            if e.raw_os_error() == Some(libc::EROFS)
                && std::fs::symlink_metadata(path)
                    .is_err_and(|m| m.kind() == std::io::ErrorKind::NotFound) =>
        {
            Ok(())
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::generic(format!("remove {}: {e}", path.display())))
        }
        _ => Ok(()),
    }
}

/// Read a file as text; `Ok(None)` when it does not exist.
///
/// # Errors
/// 1 on other I/O errors, naming the path.
pub fn read_if_exists(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::generic(format!("read {}: {e}", path.display()))),
    }
}

/// A write lock on a file, held until dropped (or until the process dies).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    /// The locked file.
    pub path: PathBuf,
}

/// Take a write lock on `path` (created if missing, never truncated), waiting until the
/// deadline.
///
/// The lock is an open-file-description `fcntl` lock (`F_OFD_SETLK`) on the whole file: it
/// excludes other holders of this lock in the same process (threads) and in other processes,
/// and it conflicts with the classic `fcntl` locks that system tools take on the same file
/// (nfs-utils' `mountd` and `exportfs` lock `/var/lib/nfs/.rmtab.lock` that way), so a
/// read-modify-write of a file they share is safe against them too. Use
/// [`crate::cluster::lock`] for a lock only the agent's own instances share.
///
/// # Errors
/// 1 when the file cannot be opened or the lock is still held by someone else at the
/// deadline.
pub fn lock_path(path: &Path, deadline: Deadline) -> Result<FileLock> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::generic(format!("open lock {}: {e}", path.display())))?;
    let fd = file.as_raw_fd();
    let got = deadline.wait_until(Duration::from_millis(20), || {
        // SAFETY: an all-zero flock is a valid value; the fields set are plain integers.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as libc::c_short;
        fl.l_whence = libc::SEEK_SET as libc::c_short;
        // SAFETY: fcntl on a file descriptor we own with a valid flock.
        (unsafe { libc::fcntl(fd, libc::F_OFD_SETLK, &fl) } == 0).then_some(())
    });
    match got {
        Some(()) => Ok(FileLock {
            _file: file,
            path: path.to_path_buf(),
        }),
        None => Err(Error::generic(format!(
            "lock {} is still held by another process",
            path.display()
        ))),
    }
}

/// Read a file the agent itself keeps (state files, its own pid files) as text; `Ok(None)`
/// when it does not exist. A symbolic link in its place is refused, never followed
/// (`O_NOFOLLOW`): a link planted in a state directory must neither make the agent read
/// another file as its state nor report what is not there.
///
/// # Errors
/// 1 for a symbolic link, naming the path; 1 on other I/O errors.
pub fn read_no_symlink(path: &Path) -> Result<Option<String>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let mut f = match f {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(Error::generic(format!(
                "refusing {}: a symbolic link, not the file this agent wrote",
                path.display()
            )))
        }
        Err(e) => return Err(Error::generic(format!("read {}: {e}", path.display()))),
    };
    let md = f
        .metadata()
        .map_err(|e| Error::generic(format!("read {}: {e}", path.display())))?;
    if !md.is_file() {
        return Err(Error::generic(format!(
            "refusing {}: not a regular file",
            path.display()
        )));
    }
    let mut text = String::new();
    f.read_to_string(&mut text)
        .map_err(|e| Error::generic(format!("read {}: {e}", path.display())))?;
    Ok(Some(text))
}

/// [`read_no_symlink`] for a file only this agent writes (a state file): it must also
/// belong to the agent's user or to root. A file pre-created by another user is refused,
/// as its contents are that user's, not the resource's.
///
/// # Errors
/// 1 for a symbolic link or a file of another user, naming the path and the owner.
pub fn read_own(path: &Path) -> Result<Option<String>> {
    use std::os::unix::fs::MetadataExt;
    let text = read_no_symlink(path)?;
    if text.is_some() {
        let uid = std::fs::symlink_metadata(path)
            .map_err(|e| Error::generic(format!("read {}: {e}", path.display())))?
            .uid();
        let me = nix::unistd::geteuid().as_raw();
        if uid != 0 && uid != me {
            return Err(Error::generic(format!(
                "refusing {}: owned by uid {uid}, not by this agent's uid {me}",
                path.display()
            )));
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;
    use crate::meta::Agent;
    use std::time::Instant;

    const A: Agent = Agent::new("FilesTest", "1.0");

    #[test]
    fn instance_paths_and_atomic_writes() {
        let dir = std::env::temp_dir().join(format!("ocf-files-{}", std::process::id()));
        let env = Env::new()
            .with("OCFRS_RUN_DIR", &dir)
            .with("OCF_RESOURCE_INSTANCE", "r:1");
        let cx = Context::new(&A, "start", &[], env, "x", Instant::now());
        let f = instance_file(&cx, "state");
        assert_eq!(f, dir.join("FilesTest/r_1.state"));
        assert_eq!(
            absolute_or_instance_file(&cx, "state", " ", "state").unwrap(),
            f
        );
        assert_eq!(
            absolute_or_instance_file(&cx, "state", "/x/y", "state").unwrap(),
            PathBuf::from("/x/y")
        );
        assert_eq!(
            absolute_or_instance_file(&cx, "state", "x/y", "state")
                .unwrap_err()
                .rc(),
            crate::Rc::ErrConfigured
        );
        assert_eq!(read_if_exists(&f).unwrap(), None);
        write_atomic(&f, b"one").unwrap();
        write_atomic(&f, b"two").unwrap();
        assert_eq!(read_if_exists(&f).unwrap().as_deref(), Some("two"));
        assert_eq!(
            std::fs::read_dir(f.parent().unwrap()).unwrap().count(),
            1,
            "no temporary file left"
        );
        remove_if_exists(&f).unwrap();
        remove_if_exists(&f).unwrap();
        assert_eq!(file_safe(".."), "_..");
        assert_eq!(file_safe("rsc:1/x"), "rsc_1_x");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn file_locks_exclude_threads_and_time_out() {
        let dir = std::env::temp_dir().join(format!("ocf-filelock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = dir.join(".lock");
        let counter = dir.join("counter");
        std::fs::write(&counter, "0").unwrap();
        // Unlocked read-modify-write of one file by 8 threads loses updates; under the
        // lock none is lost.
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (lock, counter) = (lock.clone(), counter.clone());
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        let _l =
                            lock_path(&lock, Deadline::after(Duration::from_secs(30))).unwrap();
                        let n: u32 = std::fs::read_to_string(&counter).unwrap().parse().unwrap();
                        std::thread::yield_now();
                        std::fs::write(&counter, (n + 1).to_string()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(std::fs::read_to_string(&counter).unwrap(), "200");
        let held = lock_path(&lock, Deadline::after(Duration::from_secs(1))).unwrap();
        let e = lock_path(&lock, Deadline::after(Duration::from_millis(100))).unwrap_err();
        assert!(e.reason().contains("still held"), "{}", e.reason());
        drop(held);
        lock_path(&lock, Deadline::after(Duration::from_millis(100))).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn links_are_refused_for_reads_and_never_followed_by_writes() {
        let dir = std::env::temp_dir().join(format!("ocf-files-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("target");
        std::fs::write(&target, "keep").unwrap();
        let state = dir.join("s.state");
        std::os::unix::fs::symlink(&target, &state).unwrap();
        let e = read_no_symlink(&state).unwrap_err();
        assert!(e.reason().contains("symbolic link"), "{}", e.reason());
        assert!(read_own(&state).is_err());
        assert_eq!(read_own(&dir.join("missing")).unwrap(), None);
        // A link at the predictable temporary name is replaced, not written through.
        let mut tmp = state.as_os_str().to_owned();
        tmp.push(format!(".tmp{}", std::process::id()));
        std::fs::remove_file(&state).unwrap();
        std::os::unix::fs::symlink(&target, PathBuf::from(tmp)).unwrap();
        write_atomic(&state, b"fake=1\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert_eq!(read_own(&state).unwrap().as_deref(), Some("fake=1\n"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
