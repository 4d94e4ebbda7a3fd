//! `envfiles`: shell files (Debian's `/etc/apache2/envvars`) whose exported variables apache
//! needs (its configuration says `${APACHE_PID_FILE}`, `${APACHE_RUN_USER}`, ...).
//!
//! How they are read: each existing, readable file is sourced by `/bin/sh` with argv only,
//! `sh -c '. "$1" && env -0' sh FILE`, in a clean environment (PATH, plus `APACHE_CONFDIR`
//! when the configuration lives in `/etc/apache2*`, which Debian's envvars uses to pick its
//! instance suffix), bounded by the action's deadline (at most 5 s), and the variables it
//! prints are kept. The file is run as code, as apache2ctl and the shell agent run it: it is
//! the administrator's file, not a parameter value; no parameter value ever reaches a shell
//! (the file name is `$1`). Parsing `export A=B` lines instead would get Debian's own
//! envvars wrong (its values depend on an `if` and on `$SUFFIX`).
//!
//! Cost: one `sh`, only when a listed file exists (the default `/etc/apache2/envvars` exists
//! only where Debian's apache2 package is installed; `envfiles=""` skips it), and only when
//! the files changed: the result is kept in a cache file of the instance (mode 0600 under the
//! agent's run directory) keyed by each file's device, inode, size and modification time and
//! by `APACHE_CONFDIR`, so a recurring monitor forks nothing.

use ocf::process::Cmd;
use ocf::{Deadline, Error, Result};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

/// What identifies the files' current contents (and the shell's input).
fn cache_key(files: &str, confdir: Option<&Path>) -> String {
    let mut key = format!(
        "v1 confdir={}",
        confdir.map(|d| d.display().to_string()).unwrap_or_default()
    );
    for f in files.split_whitespace() {
        match std::fs::metadata(f) {
            Ok(m) => key.push_str(&format!(
                " {f}:{}:{}:{}:{}.{}",
                m.dev(),
                m.ino(),
                m.size(),
                m.mtime(),
                m.mtime_nsec()
            )),
            Err(_) => key.push_str(&format!(" {f}:-")),
        }
    }
    key.replace('\n', " ")
}

/// [`read`], with its result kept in `cache` while the files stay the same.
///
/// # Errors
/// As [`read`]; a cache that cannot be written is only logged.
pub fn read_cached(
    files: &str,
    confdir: Option<&Path>,
    deadline: Deadline,
    cache: &Path,
) -> Result<BTreeMap<String, String>> {
    if files.split_whitespace().all(|f| !Path::new(f).is_file()) {
        return Ok(BTreeMap::new());
    }
    let key = cache_key(files, confdir);
    if let Ok(data) = std::fs::read(cache) {
        if let Some(rest) = data.strip_prefix(format!("{key}\n").as_bytes()) {
            return Ok(parse_env0(rest));
        }
    }
    let vars = read(files, confdir, deadline)?;
    let mut data = format!("{key}\n").into_bytes();
    for (k, v) in &vars {
        data.extend_from_slice(format!("{k}={v}").as_bytes());
        data.push(0);
    }
    if let Err(e) = write_private(cache, &data) {
        ocf::debug!("envfiles cache {}: {e}", cache.display());
    }
    Ok(vars)
}

/// Write `data` to `path` atomically, readable by root only (values may be secrets).
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(data)?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn parse_env0(data: &[u8]) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for item in data.split(|b| *b == 0) {
        let text = String::from_utf8_lossy(item);
        if let Some((k, v)) = text.split_once('=') {
            if !k.is_empty() && !matches!(k, "PWD" | "SHLVL" | "_" | "OLDPWD") {
                vars.insert(k.to_string(), v.to_string());
            }
        }
    }
    vars
}

/// Variables the clean shell environment starts with; they are reported only if changed.
const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The variables exported by `files` (whitespace-separated), later files overriding earlier
/// ones. Missing or unreadable files are skipped, as the shell agent skips them.
///
/// # Errors
/// 1 when a file fails to source (its own error message in the reason) or the deadline hits.
pub fn read(
    files: &str,
    confdir: Option<&Path>,
    deadline: Deadline,
) -> Result<BTreeMap<String, String>> {
    let mut vars = BTreeMap::new();
    for f in files.split_whitespace() {
        let p = Path::new(f);
        if !p.is_file() || std::fs::File::open(p).is_err() {
            continue;
        }
        let mut cmd = Cmd::new("/bin/sh")
            .env_clear()
            .env("PATH", BASE_PATH)
            .args(["-c", ". \"$1\" && env -0", "sh", f]);
        if let Some(d) = confdir {
            cmd = cmd.env("APACHE_CONFDIR", d);
        }
        for (k, v) in &vars {
            cmd = cmd.env(k, v);
        }
        let out = cmd.run(deadline.within(Duration::from_secs(5)))?;
        if !out.success() {
            return Err(Error::generic(format!(
                "envfiles: sourcing {f} failed: {}",
                out.one_line()
            )));
        }
        for (k, v) in parse_env0(&out.stdout) {
            if k == "PATH" && v == BASE_PATH {
                continue;
            }
            vars.insert(k, v);
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_variables_only_and_no_shell_on_the_name() {
        let d = std::env::temp_dir().join(format!("ocfapache-env-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        // A file name a shell would run as a command if it were ever interpolated.
        let f = d.join("env; touch pwned");
        std::fs::write(
            &f,
            "if [ \"${APACHE_CONFDIR##/etc/apache2-}\" != \"${APACHE_CONFDIR}\" ]; then SUFFIX=-x; else SUFFIX=; fi\n\
             export A_PID=/run/a$SUFFIX/a.pid\nLOCAL_ONLY=1\nexport B='two words'\n",
        )
        .unwrap();
        let files = format!("/nonexistent {}", d.join("env;").display());
        // Whitespace splits names (as the shell agent's word splitting does): the odd name
        // above is not reachable through envfiles, and nothing runs.
        let v = read(&files, None, Deadline::after(Duration::from_secs(5))).unwrap();
        assert!(v.is_empty(), "{v:?}");
        let g = d.join("envvars");
        std::fs::copy(&f, &g).unwrap();
        let v = read(
            g.to_str().unwrap(),
            Some(Path::new("/etc/apache2-web")),
            Deadline::after(Duration::from_secs(5)),
        )
        .unwrap();
        assert_eq!(v.get("A_PID").map(String::as_str), Some("/run/a-x/a.pid"));
        assert_eq!(v.get("B").map(String::as_str), Some("two words"));
        assert!(!v.contains_key("LOCAL_ONLY"));
        assert!(!d.join("pwned").exists());
        // Cached: the same answer without a shell while the file stays the same; a change
        // of the file is seen.
        let cache = d.join("cache");
        let dl = Deadline::after(Duration::from_secs(5));
        let first = read_cached(g.to_str().unwrap(), None, dl, &cache).unwrap();
        assert_eq!(first.get("B").map(String::as_str), Some("two words"));
        let again = read_cached(g.to_str().unwrap(), None, dl, &cache).unwrap();
        assert_eq!(first, again);
        std::fs::write(&g, "export B=changed\n").unwrap();
        let changed = read_cached(g.to_str().unwrap(), None, dl, &cache).unwrap();
        assert_eq!(changed.get("B").map(String::as_str), Some("changed"));
        std::fs::write(&g, "exit 3\n").unwrap();
        assert!(read(
            g.to_str().unwrap(),
            None,
            Deadline::after(Duration::from_secs(5))
        )
        .is_err());
        std::fs::remove_dir_all(d).unwrap();
    }
}
