//! Fixtures shared by the integration suite (tests/common/mod.rs) and the tester's suite
//! (tests/tester/common.rs includes this file with `#[path]`), standard library only:
//! [`TempDir`], a directory removed on drop (each suite names its directories with its own
//! prefix, the `TEMP_PREFIX` of the module that includes this one), and [`sh`].
use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary directory, removed when dropped (also after a failed assertion).
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new, empty, world-traversable directory in the temporary directory, named
    /// `<suite prefix>-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> TempDir {
        use std::os::unix::fs::PermissionsExt;
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!(
            "{}-{tag}-{}-{n}",
            super::TEMP_PREFIX,
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
            .expect("chmod temp dir");
        TempDir(p)
    }
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// A path inside it.
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run a command to completion, returning (code, stdout, stderr). Panics if it cannot start.
pub fn sh(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
