//! The rmtab backup: the lines of `/var/lib/nfs/rmtab` (the NFSv3 clients that mounted an
//! export, `CLIENT:PATH:0xCOUNT`, written by mountd) kept in a file inside the exported
//! directory, so that they move with the filesystem and are merged back on the node that
//! takes over.
//!
//! Every read-modify-write of rmtab holds the lock nfs-utils uses for it
//! (`/var/lib/nfs/.rmtab.lock`, an `fcntl` write lock taken through
//! [`ocf::files::lock_path`]): two resources starting at once, or mountd recording a mount
//! meanwhile, lose no line. rmtab is replaced by a rename (mountd opens it anew for every
//! change).

use ocf::files::{self, lock_path};
use ocf::{Deadline, Error, Result};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The lines of `rmtab` that belong to `dir`: `CLIENT:DIR:COUNT`. The client may itself
/// contain `:` (IPv6), so the line is read from its end.
pub fn lines_for<'a>(rmtab: &'a [u8], dir: &Path) -> Vec<&'a [u8]> {
    let dir = dir.as_os_str().as_bytes();
    rmtab
        .split(|&b| b == b'\n')
        .filter(|l| {
            let Some(cut) = l.iter().rposition(|&b| b == b':') else {
                return false;
            };
            let head = &l[..cut];
            head.len() > dir.len() + 1
                && head.ends_with(dir)
                && head[head.len() - dir.len() - 1] == b':'
        })
        .collect()
}

/// The client and path of a line, without the count (the identity of a mount).
fn key(line: &[u8]) -> &[u8] {
    match line.iter().rposition(|&b| b == b':') {
        Some(cut) => &line[..cut],
        None => line,
    }
}

/// `rmtab` with the lines of `backup` it lacks appended (same client and path = same line,
/// whatever the counts); `None` when nothing is missing.
pub fn merge(rmtab: &[u8], backup: &[u8]) -> Option<Vec<u8>> {
    let have: Vec<&[u8]> = rmtab
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(key)
        .collect();
    let mut out = rmtab.to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut added = false;
    let mut seen: Vec<&[u8]> = Vec::new();
    for l in backup.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let k = key(l);
        if !k.contains(&b':') || have.contains(&k) || seen.contains(&k) {
            continue;
        }
        seen.push(k);
        out.extend_from_slice(l);
        out.push(b'\n');
        added = true;
    }
    added.then_some(out)
}

/// Where rmtab and its lock are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rmtab {
    /// `rmtab`.
    pub file: PathBuf,
    /// nfs-utils' lock for it.
    pub lock: PathBuf,
}

impl Rmtab {
    /// rmtab in the NFS state directory (`/var/lib/nfs`).
    pub fn in_dir(state_dir: &Path) -> Rmtab {
        Rmtab {
            file: state_dir.join("rmtab"),
            lock: state_dir.join(".rmtab.lock"),
        }
    }

    fn read(&self) -> Result<Vec<u8>> {
        match std::fs::read(&self.file) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::generic(format!("read {}: {e}", self.file.display()))),
        }
    }

    /// Write `dir`'s lines of rmtab to `backup`, unless the file already holds exactly them.
    ///
    /// # Errors
    /// 1 when rmtab cannot be read, the lock not taken, or the backup not written.
    pub fn backup(&self, dir: &Path, backup: &Path, deadline: Deadline) -> Result<()> {
        let text = {
            let _l = lock_path(&self.lock, deadline)?;
            self.read()?
        };
        let mut mine = Vec::new();
        for l in lines_for(&text, dir) {
            mine.extend_from_slice(l);
            mine.push(b'\n');
        }
        if std::fs::read(backup).is_ok_and(|old| old == mine) {
            return Ok(());
        }
        files::write_atomic(backup, &mine)
    }

    /// Merge `backup` into rmtab under the lock; the number of lines added. A missing
    /// backup adds nothing.
    ///
    /// # Errors
    /// 1 when a file cannot be read or written, or the lock not taken.
    pub fn restore(&self, backup: &Path, deadline: Deadline) -> Result<usize> {
        let lines = match std::fs::read(backup) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Error::generic(format!("read {}: {e}", backup.display()))),
        };
        let _l = lock_path(&self.lock, deadline)?;
        let current = self.read()?;
        let Some(merged) = merge(&current, &lines) else {
            return Ok(0);
        };
        let added = merged
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
            - current
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
        // rmtab may be a symbolic link (onto shared storage): replace its target.
        let target = std::fs::canonicalize(&self.file).unwrap_or_else(|_| self.file.clone());
        files::write_atomic(&target, &merged)?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644));
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const RMTAB: &[u8] = b"10.0.0.5:/srv/a:0x00000001\n\
2001:db8::5:/srv/a:0x00000002\n\
10.0.0.6:/srv/ab:0x00000001\n\
10.0.0.7:/srv/my share:0x00000001\n\
10.0.0.8:/x/srv/a:0x00000001\n\
garbage\n";

    #[test]
    fn lines_of_one_directory_only() {
        let a = lines_for(RMTAB, Path::new("/srv/a"));
        assert_eq!(
            a,
            vec![
                &b"10.0.0.5:/srv/a:0x00000001"[..],
                &b"2001:db8::5:/srv/a:0x00000002"[..]
            ]
        );
        assert_eq!(lines_for(RMTAB, Path::new("/srv/my share")).len(), 1);
        assert!(lines_for(RMTAB, Path::new("/srv")).is_empty());
    }

    #[test]
    fn merge_adds_what_is_missing_once() {
        let backup = b"10.0.0.5:/srv/a:0x00000009\n10.0.0.9:/srv/a:0x00000001\n\
10.0.0.9:/srv/a:0x00000003\nnonsense\n";
        let m = merge(RMTAB, backup).unwrap();
        let text = String::from_utf8(m).unwrap();
        assert!(text.starts_with(std::str::from_utf8(RMTAB).unwrap()));
        assert_eq!(text.matches("10.0.0.9:/srv/a:").count(), 1);
        assert_eq!(text.matches("10.0.0.5:/srv/a:").count(), 1);
        assert!(!text.contains("nonsense"));
        assert_eq!(merge(RMTAB, b"10.0.0.5:/srv/a:0x1\n"), None);
        assert_eq!(
            merge(b"a:/b:0x1", b"c:/d:0x1\n").unwrap(),
            b"a:/b:0x1\nc:/d:0x1\n"
        );
    }

    /// Ten resources start at once, each merging its backup into one rmtab: under the
    /// lock no line is lost.
    #[test]
    fn concurrent_restores_lose_no_line() {
        let dir = std::env::temp_dir().join(format!("ocfrs-exp-rmtab-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let r = Rmtab::in_dir(&dir);
        std::fs::write(&r.file, b"10.0.0.1:/srv/pre:0x00000001\n").unwrap();
        let threads: Vec<_> = (0..10)
            .map(|i| {
                let (r, dir) = (r.clone(), dir.clone());
                std::thread::spawn(move || {
                    let b = dir.join(format!("backup{i}"));
                    let lines: String = (0..20)
                        .map(|c| format!("10.1.{i}.{c}:/srv/e{i}:0x00000001\n"))
                        .collect();
                    std::fs::write(&b, lines).unwrap();
                    r.restore(&b, Deadline::after(Duration::from_secs(30)))
                        .unwrap()
                })
            })
            .collect();
        let added: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(added, 200);
        let text = std::fs::read_to_string(&r.file).unwrap();
        assert_eq!(text.lines().count(), 201, "{text}");
        for i in 0..10 {
            for c in 0..20 {
                assert!(text.contains(&format!("10.1.{i}.{c}:/srv/e{i}:")));
            }
        }
        // backup writes this directory's lines, and only rewrites when they changed.
        let b = dir.join("e3.rmtab");
        r.backup(
            Path::new("/srv/e3"),
            &b,
            Deadline::after(Duration::from_secs(5)),
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(&b).unwrap().lines().count(), 20);
        let m1 = std::fs::metadata(&b).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        r.backup(
            Path::new("/srv/e3"),
            &b,
            Deadline::after(Duration::from_secs(5)),
        )
        .unwrap();
        assert_eq!(std::fs::metadata(&b).unwrap().modified().unwrap(), m1);
        // A missing backup restores nothing; a held lock makes restore fail in time.
        assert_eq!(
            r.restore(&dir.join("none"), Deadline::after(Duration::from_secs(1)))
                .unwrap(),
            0
        );
        let held = lock_path(&r.lock, Deadline::after(Duration::from_secs(1))).unwrap();
        let e = r
            .restore(
                &dir.join("backup1"),
                Deadline::after(Duration::from_millis(100)),
            )
            .unwrap_err();
        assert!(e.reason().contains(".rmtab.lock"), "{}", e.reason());
        drop(held);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
