//! The export tables, read as files: `/var/lib/nfs/etab` and the kernel's export cache
//! `/proc/net/rpc/nfsd.export/content`, plus the exports(5) quoting of directory names.
//!
//! **Why etab.** exportfs(8) keeps the table of active exports in `etab` (written whole to
//! `etab.tmp`, then renamed, so a reader never sees half a table); mountd answers the
//! kernel's questions from it. The kernel's own cache lists an export only after a client
//! has used it (and drops it when it expires), so it cannot tell whether an export exists.
//! It is what stop must wait for, though: the filesystem below stays busy while the cache
//! holds the export.
//!
//! Both files write one `PATH<TAB>CLIENT(OPTIONS)` per line, the path with the characters
//! that would break the line (blanks, control characters, `\`, and in etab `"`) as `\ooo`
//! octal escapes. The kernel writes the client's domain, which mountd composes from the
//! names of all the exports that match a client, joined with commas.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One line of an export table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The exported directory (escapes undone).
    pub path: PathBuf,
    /// The client (etab) or the client domain (kernel cache).
    pub client: String,
    /// The options between the parentheses (empty when there are none).
    pub options: String,
}

/// Undo `\ooo` octal escapes; any other backslash stays.
pub fn unescape(word: &[u8]) -> Vec<u8> {
    ocf::mount::unescape_bytes(word)
}

/// Escape a path the way etab does (for this agent's own state file).
pub fn escape(path: &Path) -> String {
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_graphic() && b != b'\\' && b != b'"' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\{b:03o}"));
        }
    }
    out
}

/// Parse an export table (etab, the kernel cache, this agent's state file). Comment lines
/// (`#`) and lines without a client are skipped; a line with several `client(opts)` items
/// (the /etc/exports form) gives one entry per item.
pub fn parse(text: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let mut words = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty());
        let Some(path) = words.next() else { continue };
        if path.starts_with(b"#") {
            continue;
        }
        let path = PathBuf::from(OsStr::from_bytes(&unescape(path)));
        for item in words {
            let item = String::from_utf8_lossy(&unescape(item)).into_owned();
            let (client, options) = match item.split_once('(') {
                Some((c, o)) => (c.to_string(), o.trim_end_matches(')').to_string()),
                None => (item, String::new()),
            };
            out.push(Entry {
                path: path.clone(),
                client,
                options,
            });
        }
    }
    out
}

/// Read and parse a table; a missing file is an empty table.
///
/// # Errors
/// 1 when the file exists but cannot be read.
pub fn read(path: &Path) -> ocf::Result<Vec<Entry>> {
    match std::fs::read(path) {
        Ok(b) => Ok(parse(&b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ocf::Error::generic(format!("read {}: {e}", path.display()))),
    }
}

/// Split the `directory` parameter into directories, exports(5) style: blanks separate,
/// `"..."` quotes, `\ooo` is an octal escape (`\040` a blank). Trailing slashes are removed
/// (`/` stays).
///
/// # Errors
/// The reason for an unclosed quote or an empty value.
pub fn split_directories(text: &str) -> Result<Vec<PathBuf>, String> {
    let mut words: Vec<Vec<u8>> = Vec::new();
    let mut cur: Option<Vec<u8>> = None;
    let mut quoted = false;
    for &b in text.as_bytes() {
        match b {
            b'"' => {
                quoted = !quoted;
                cur.get_or_insert_with(Vec::new);
            }
            b if b.is_ascii_whitespace() && !quoted => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            b => cur.get_or_insert_with(Vec::new).push(b),
        }
    }
    if quoted {
        return Err(format!("directory: unclosed \" in '{text}'"));
    }
    if let Some(w) = cur {
        words.push(w);
    }
    let dirs: Vec<PathBuf> = words
        .iter()
        .map(|w| {
            let mut b = unescape(w);
            while b.len() > 1 && b.ends_with(b"/") {
                b.pop();
            }
            PathBuf::from(OsStr::from_bytes(&b))
        })
        .collect();
    if dirs.is_empty() {
        return Err("directory is empty".into());
    }
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etab_lines_with_escapes_and_several_clients() {
        let etab = b"/srv/nfs/export\t127.0.0.0/8(rw,sync,wdelay,hide,nocrossmnt,secure,no_root_squash,no_all_squash,no_subtree_check,secure_locks,acl,no_pnfs,fsid=1,anonuid=65534,anongid=65534,sec=sys,rw,secure,no_root_squash,no_all_squash)\n\
/srv/my\\040share\\134x\t2001:db8::/64(ro)\n\
/srv/a\t*(rw)\n\
/srv/a\t@trusted(rw)\n\
\n# comment\n/etc/exports/style a(rw) b(ro)\n/no/client\n";
        let e = parse(etab);
        assert_eq!(e.len(), 6);
        assert_eq!(e[0].path, Path::new("/srv/nfs/export"));
        assert_eq!(e[0].client, "127.0.0.0/8");
        assert!(e[0].options.contains("fsid=1,"));
        assert!(!e[0].options.ends_with(')'));
        assert_eq!(e[1].path, Path::new("/srv/my share\\x"));
        assert_eq!(e[1].client, "2001:db8::/64");
        assert_eq!(
            (e[2].client.as_str(), e[3].client.as_str()),
            ("*", "@trusted")
        );
        assert_eq!(e[4].client, "a");
        assert_eq!(e[5].client, "b");
        assert_eq!(e[5].options, "ro");
    }

    #[test]
    fn kernel_cache_lines() {
        let content = b"#path domain(flags)\n# expiry=1700000000 refcnt=2 flags=1\n\
/srv/nfs/export\t127.0.0.0/8,*(rw,no_root_squash,sync,wdelay,no_subtree_check,uuid=1:2:3:4,sec=1)\n\
/srv/dir\\040x\t-test-client-\n";
        let e = parse(content);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].client, "127.0.0.0/8,*");
        assert_eq!(e[1].path, Path::new("/srv/dir x"));
        assert_eq!(e[1].options, "");
    }

    #[test]
    fn escapes_round_trip() {
        let p = Path::new("/srv/my share/\"q\"\\b\ttab/é");
        let esc = escape(p);
        assert!(!esc.contains(' ') && !esc.contains('\t'), "{esc}");
        assert_eq!(unescape(esc.as_bytes()), p.as_os_str().as_bytes());
        // Not an escape: too short, not octal, over 255.
        assert_eq!(unescape(b"a\\04"), b"a\\04");
        assert_eq!(unescape(b"a\\089"), b"a\\089");
        assert_eq!(unescape(b"\\777"), b"\\777");
    }

    #[test]
    fn directories_split_like_exports() {
        let d = |s: &str| split_directories(s).unwrap();
        assert_eq!(d("/a /b//"), vec![PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(
            d("\"/srv/my share\" /srv/my\\040other /"),
            vec![
                PathBuf::from("/srv/my share"),
                PathBuf::from("/srv/my other"),
                PathBuf::from("/")
            ]
        );
        assert!(split_directories("  ").is_err());
        assert!(split_directories("\"/srv/a").is_err());
    }
}
