//! The agent's parameters: `-o name=value` options (the shell tool's way, on the tester's
//! command line) and `--params-file FILE` (off the command line: secrets such as a
//! database password are not visible in `/proc/*/cmdline` while the tester runs).
//!
//! A parameters file holds one `name=value` per line, split at the first `=`, the value
//! verbatim to the end of the line (no quotes, no escapes, no expansion); blank lines and
//! lines starting with `#` are ignored. It must be a regular file owned by the caller (or
//! root) that neither group nor others can read or write (`chmod 600`), as ssh asks of a
//! private key: a secret kept in a file that others can read is no secret.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One parameter as given: `name=value`, from `what` (for messages).
fn one(what: &str, text: &str, out: &mut Vec<(String, String)>) -> Result<(), String> {
    let Some((k, v)) = text.split_once('=') else {
        return Err(format!("{what}: expected name=value"));
    };
    if k.is_empty() || k.contains('\0') || v.contains('\0') {
        return Err(format!("{what}: invalid parameter name"));
    }
    out.retain(|(x, _)| x != k);
    out.push((k.to_string(), v.to_string()));
    Ok(())
}

/// `-o name=value` options (later ones win), as the shell tool.
///
/// # Errors
/// A usage message naming the option (never its value).
pub fn parse_options(opts: &[String]) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for o in opts {
        let name = o.split_once('=').map_or(o.as_str(), |(k, _)| k);
        one(&format!("-o {name}"), o, &mut out)?;
    }
    Ok(out)
}

/// The parameters of the files, then of the `-o` options: a later file's value and any
/// `-o` value win over an earlier one.
///
/// # Errors
/// A usage message naming the file or the option, never a value.
pub fn gather(
    files: &[std::path::PathBuf],
    opts: &[String],
) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for f in files {
        for (k, v) in read_file(f)? {
            out.retain(|(x, _)| *x != k);
            out.push((k, v));
        }
    }
    for (k, v) in parse_options(opts)? {
        out.retain(|(x, _)| *x != k);
        out.push((k, v));
    }
    Ok(out)
}

/// Read a parameters file (see the module docs).
///
/// # Errors
/// A usage message: the file cannot be read, is not a regular file, belongs to another user,
/// is open to group or others, is not UTF-8, or has a line without `=` (by line number).
pub fn read_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let shown = path.display();
    let mut f = std::fs::File::open(path).map_err(|e| format!("--params-file {shown}: {e}"))?;
    // The opened file itself is checked (fstat), not the name.
    let md = f
        .metadata()
        .map_err(|e| format!("--params-file {shown}: {e}"))?;
    if !md.is_file() {
        return Err(format!("--params-file {shown}: not a regular file"));
    }
    let me = nix::unistd::geteuid().as_raw();
    if md.uid() != me && md.uid() != 0 {
        return Err(format!(
            "--params-file {shown}: owned by uid {}, not by you (uid {me}) or root",
            md.uid()
        ));
    }
    if md.mode() & 0o077 != 0 {
        return Err(format!(
            "--params-file {shown}: mode {:04o} lets group or others read or write it \
             (it may hold secrets): chmod 600 it",
            md.mode() & 0o7777
        ));
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .map_err(|e| format!("--params-file {shown}: {e}"))?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("--params-file {shown}: not UTF-8 text"))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        one(
            &format!("--params-file {shown}, line {}", n + 1),
            line,
            &mut out,
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file(name: &str, text: &str, mode: u32) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("ocf-tester-params-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn lines_are_name_value_verbatim_and_options_win() {
        let p = file(
            "ok",
            "# a comment\n\nconfig=/etc/my.cnf\ntest_passwd= s3cret \"q\" $x=y\r\nempty=\n",
            0o600,
        );
        let got = read_file(&p).unwrap();
        assert_eq!(
            got,
            [
                ("config".to_string(), "/etc/my.cnf".to_string()),
                ("test_passwd".into(), " s3cret \"q\" $x=y".into()),
                ("empty".into(), String::new()),
            ]
        );
        let all = gather(&[p], &["config=/other.cnf".into(), "a=b=c".into()]).unwrap();
        assert_eq!(
            all,
            [
                ("test_passwd".to_string(), " s3cret \"q\" $x=y".to_string()),
                ("empty".into(), String::new()),
                ("config".into(), "/other.cnf".into()),
                ("a".into(), "b=c".into()),
            ]
        );
    }

    #[test]
    fn files_open_to_others_or_malformed_are_refused_without_showing_values() {
        for mode in [0o640, 0o604, 0o660, 0o644] {
            let p = file(&format!("m{mode:o}"), "test_passwd=hunter2\n", mode);
            let e = read_file(&p).unwrap_err();
            assert!(e.contains("chmod 600"), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
        let p = file("bad", "config=/x\nhunter2\n", 0o600);
        let e = read_file(&p).unwrap_err();
        assert!(e.contains("line 2") && !e.contains("hunter2"), "{e}");
        let e = parse_options(&["test_passwd".into()]).unwrap_err();
        assert!(e.starts_with("-o test_passwd"), "{e}");
        let e = parse_options(&["=hunter2".into()]).unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        let dir = std::env::temp_dir();
        assert!(read_file(&dir).unwrap_err().contains("not a regular file"));
        assert!(read_file(Path::new("/nonexistent/ocf-tester-params")).is_err());
    }

    #[test]
    #[cfg_attr(
        not(feature = "root-tests"),
        ignore = "needs root to give the file to another user (tests/run.sh setup)"
    )]
    fn another_users_file_is_refused() {
        assert!(nix::unistd::geteuid().is_root(), "root-tests need root");
        let p = file("theirs", "a=b\n", 0o600);
        std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
        let e = read_file(&p).unwrap_err();
        assert!(e.contains("owned by uid 65534"), "{e}");
    }
}
