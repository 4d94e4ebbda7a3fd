//! What the agent reads from apache's configuration: ServerRoot, PidFile, Listen, Port,
//! DefaultRuntimeDir, ErrorLog and the location of the `server-status` handler.
//!
//! The file is read as apache reads it, as far as these directives go: comments and blank
//! lines skipped, backslash-continued lines joined, `Include` and `IncludeOptional` followed
//! (a file, a directory read recursively, or a wildcard pattern in the last component, in
//! alphabetical order; relative to ServerRoot), `${NAME}` replaced by `Define`d names and by
//! the environment (the variables exported by `envfiles` included), the first `Listen` and
//! the last `<Location>` whose block says `SetHandler server-status` kept. Conditional blocks
//! (`<IfModule>`, `<IfDefine>`) are not evaluated: their directives count, as in the shell
//! agent. `Include` of a missing file is an error, as in apache; `IncludeOptional` is not.
//! Includes nested deeper than 32 levels (a loop) are an error.

use ocf::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The directives the agent needs, with `${...}` already expanded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApacheConf {
    /// `ServerRoot` (first one), unquoted.
    pub server_root: Option<String>,
    /// `PidFile` (last one wins in apache; the shell agent takes the first).
    pub pid_file: Option<String>,
    /// `DefaultRuntimeDir`.
    pub runtime_dir: Option<String>,
    /// First `Listen` argument (address:port or port).
    pub listen: Option<String>,
    /// `Port` (apache 1.3).
    pub port: Option<String>,
    /// `ErrorLog` (first), when a file.
    pub error_log: Option<String>,
    /// The last `<Location>` holding `SetHandler server-status`.
    pub status_location: Option<String>,
    /// Files read, in order (for messages).
    pub files: Vec<PathBuf>,
}

struct Reader<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    defines: BTreeMap<String, String>,
    base: PathBuf,
    conf: ApacheConf,
    location: Option<String>,
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
        .unwrap_or(s)
        .to_string()
}

/// Split arguments, keeping quoted ones whole.
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                any = true;
            }
            None if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            None => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Reader<'_> {
    fn expand(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            match after.find('}') {
                Some(j) => {
                    let name = &after[..j];
                    match self.defines.get(name).cloned().or_else(|| (self.env)(name)) {
                        Some(v) => out.push_str(&v),
                        // apache leaves an undefined ${NAME} as it is (and warns)
                        None => out.push_str(&rest[i..i + 3 + j]),
                    }
                    rest = &after[j + 1..];
                }
                None => {
                    out.push_str(&rest[i..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn relative(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            let root = self
                .conf
                .server_root
                .as_deref()
                .map(PathBuf::from)
                .unwrap_or_else(|| self.base.clone());
            root.join(path)
        }
    }

    fn read_file(&mut self, path: &Path, depth: usize) -> Result<()> {
        if depth > 32 {
            return Err(Error::configured(format!(
                "{}: Include nested more than 32 levels deep (a loop?)",
                path.display()
            )));
        }
        let text = std::fs::read(path).map_err(|e| {
            let what = format!("cannot read {}: {e}", path.display());
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::installed(what)
            } else {
                Error::generic(what)
            }
        })?;
        self.conf.files.push(path.to_path_buf());
        let text = String::from_utf8_lossy(&text);
        let mut pending = String::new();
        for raw in text.lines() {
            let line = raw.trim_end();
            if let Some(cont) = line.strip_suffix('\\') {
                pending.push_str(cont);
                pending.push(' ');
                continue;
            }
            pending.push_str(line);
            let full = std::mem::take(&mut pending);
            self.directive(full.trim(), depth)?;
        }
        if !pending.is_empty() {
            self.directive(pending.trim(), depth)?;
        }
        Ok(())
    }

    fn directive(&mut self, line: &str, depth: usize) -> Result<()> {
        if line.is_empty() || line.starts_with('#') {
            return Ok(());
        }
        let line = self.expand(line);
        let (name, args) = match line.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (line.as_str(), ""),
        };
        let first = || words(args).into_iter().next().unwrap_or_default();
        let lname = name.to_ascii_lowercase();
        match lname.as_str() {
            "include" | "includeoptional" => {
                for spec in words(args) {
                    self.include(&spec, lname == "includeoptional", depth)?;
                }
            }
            "define" => {
                let w = words(args);
                if let Some(n) = w.first() {
                    self.defines
                        .insert(n.clone(), w.get(1).cloned().unwrap_or_default());
                }
            }
            "serverroot" if self.conf.server_root.is_none() => {
                self.conf.server_root = Some(first());
            }
            "pidfile" => self.conf.pid_file = Some(first()),
            "defaultruntimedir" => self.conf.runtime_dir = Some(first()),
            "listen" if self.conf.listen.is_none() => self.conf.listen = Some(first()),
            "port" if self.conf.port.is_none() => self.conf.port = Some(first()),
            "errorlog" if self.conf.error_log.is_none() => self.conf.error_log = Some(first()),
            "sethandler" if first().eq_ignore_ascii_case("server-status") => {
                if let Some(loc) = &self.location {
                    self.conf.status_location = Some(loc.clone());
                }
            }
            _ if lname.starts_with("<location") => {
                let arg = args.trim_end_matches('>');
                self.location = Some(unquote(arg.split_whitespace().next().unwrap_or("")));
            }
            _ => {}
        }
        Ok(())
    }

    fn include(&mut self, spec: &str, optional: bool, depth: usize) -> Result<()> {
        let path = self.relative(&unquote(spec));
        let files = expand_include(&path);
        if files.is_empty() && !optional && !has_wildcard(&path.to_string_lossy()) {
            return Err(Error::installed(format!(
                "Include {}: no such file or directory",
                path.display()
            )));
        }
        for f in files {
            self.read_file(&f, depth + 1)?;
        }
        Ok(())
    }
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// The files an Include names: a file; every file below a directory (sorted, recursive); or
/// the matches of a wildcard pattern (wildcards allowed in any component).
fn expand_include(path: &Path) -> Vec<PathBuf> {
    let text = path.to_string_lossy();
    if !has_wildcard(&text) {
        if path.is_dir() {
            let mut out = Vec::new();
            walk(path, &mut out);
            return out;
        }
        return if path.exists() {
            vec![path.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let mut current = vec![PathBuf::from("/")];
    let comps: Vec<String> = path
        .components()
        .skip(1)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let mut next = Vec::new();
        for dir in &current {
            if has_wildcard(comp) {
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.') && fnmatch(comp.as_bytes(), n.as_bytes()))
                    .collect();
                names.sort();
                next.extend(names.into_iter().map(|n| dir.join(n)));
            } else {
                next.push(dir.join(comp));
            }
        }
        current = next
            .into_iter()
            .filter(|p| if last { p.is_file() } else { p.is_dir() })
            .collect();
    }
    current
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            walk(&e, out);
        } else if e.is_file() {
            out.push(e);
        }
    }
}

/// Shell-style matching of one path component: `*`, `?`, `[...]` (with `!`/`^` and ranges).
fn fnmatch(pat: &[u8], name: &[u8]) -> bool {
    match (pat.first(), name.first()) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some(b'*'), _) => {
            fnmatch(&pat[1..], name) || (!name.is_empty() && fnmatch(pat, &name[1..]))
        }
        (Some(_), None) => false,
        (Some(b'?'), Some(_)) => fnmatch(&pat[1..], &name[1..]),
        (Some(b'['), Some(&c)) => {
            let Some(end) = pat.iter().skip(2).position(|&b| b == b']').map(|p| p + 2) else {
                return c == b'[' && fnmatch(&pat[1..], &name[1..]);
            };
            let mut set = &pat[1..end];
            let negate = matches!(set.first(), Some(b'!' | b'^'));
            if negate {
                set = &set[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && fnmatch(&pat[end + 1..], &name[1..])
        }
        (Some(&p), Some(&c)) => p == c && fnmatch(&pat[1..], &name[1..]),
    }
}

/// Read `file` and everything it includes. `env` looks up `${NAME}` not `Define`d in the
/// configuration; `default_root` stands for ServerRoot until the file sets one.
///
/// # Errors
/// 5 when the file or a non-optional Include is missing, 6 for an Include loop, 1 when a
/// file cannot be read.
pub fn read(
    file: &Path,
    default_root: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ApacheConf> {
    let mut r = Reader {
        env,
        defines: BTreeMap::new(),
        base: default_root.to_path_buf(),
        conf: ApacheConf::default(),
        location: None,
    };
    r.read_file(file, 0)?;
    Ok(r.conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(fnmatch(b"*.conf", b"status.conf"));
        assert!(!fnmatch(b"*.conf", b"status.load"));
        assert!(fnmatch(b"a?c", b"abc"));
        assert!(fnmatch(b"[a-c]x", b"bx"));
        assert!(!fnmatch(b"[!a-c]x", b"bx"));
    }

    #[test]
    fn includes_variables_and_status_location() {
        let d = std::env::temp_dir().join(format!("ocfapache-conf-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("mods")).unwrap();
        std::fs::create_dir_all(d.join("conf.d/sub")).unwrap();
        std::fs::write(
            d.join("main.conf"),
            format!(
                "# comment\nServerRoot \"{}\"\nDefine RUN /run/x\nPidFile ${{RUN}}/httpd.pid\n\
                 Include ports.conf\nIncludeOptional mods/*.conf\nIncludeOptional nothing/*.conf\n\
                 IncludeOptional conf.d\nErrorLog ${{LOGDIR}}/error.log\n",
                d.display()
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("ports.conf"),
            "Listen 127.0.0.1:18080\nListen 18081\n",
        )
        .unwrap();
        std::fs::write(
            d.join("mods/status.conf"),
            "<Location \"/server-status\">\n  SetHandler server-status\n</Location>\n",
        )
        .unwrap();
        std::fs::write(d.join("mods/status.load"), "SetHandler server-status\n").unwrap();
        std::fs::write(
            d.join("conf.d/sub/x.conf"),
            "<Location /other>\nSetHandler \\\n  server-status\n</Location>\n",
        )
        .unwrap();
        let env = |n: &str| (n == "LOGDIR").then(|| "/var/log/x".to_string());
        let c = read(&d.join("main.conf"), Path::new("/nonexistent"), &env).unwrap();
        assert_eq!(c.pid_file.as_deref(), Some("/run/x/httpd.pid"));
        assert_eq!(c.listen.as_deref(), Some("127.0.0.1:18080"));
        assert_eq!(c.error_log.as_deref(), Some("/var/log/x/error.log"));
        assert_eq!(c.status_location.as_deref(), Some("/other"));
        assert_eq!(c.files.len(), 4, "{:?}", c.files);
        std::fs::write(d.join("main.conf"), "Include missing.conf\n").unwrap();
        let e = read(&d.join("main.conf"), &d, &env).unwrap_err();
        assert_eq!(e.rc(), ocf::Rc::ErrInstalled);
        std::fs::write(d.join("main.conf"), "Include main.conf\n").unwrap();
        let e = read(&d.join("main.conf"), &d, &env).unwrap_err();
        assert!(e.reason().contains("loop"), "{}", e.reason());
        std::fs::remove_dir_all(d).unwrap();
    }
}
