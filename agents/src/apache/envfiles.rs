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
//! Cost: one `sh` per action, and only when a listed file exists (the default
//! `/etc/apache2/envvars` exists only where Debian's apache2 package is installed; set
//! `envfiles=""` to skip it).

use ocf::process::Cmd;
use ocf::{Deadline, Error, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

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
        for item in out.stdout.split(|b| *b == 0) {
            let text = String::from_utf8_lossy(item);
            let Some((k, v)) = text.split_once('=') else {
                continue;
            };
            if k.is_empty() || matches!(k, "PWD" | "SHLVL" | "_" | "OLDPWD") {
                continue;
            }
            if k == "PATH" && v == BASE_PATH {
                continue;
            }
            vars.insert(k.to_string(), v.to_string());
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
