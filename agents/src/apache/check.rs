//! The HTTP checks of monitor and start: the status page (depth 0), the index fallback, and
//! the depth-10 test (testurl/testregex10 or a testconffile block). All requests are made in
//! process with [`ocf::http`], inside the action's deadline.

use ocf::http::{Family, Request, Tls, Url};
use ocf::{Deadline, Error, Result};
use regex::bytes::Regex;
use std::path::{Path, PathBuf};

/// Compile an ERE as the shell agent's `grep -Ei` uses it: case-insensitive, on bytes, in
/// the C locale (ocf-shellfuncs sets `LC_ALL=C`), so classes and case folding are ASCII.
///
/// Why bytes and no Unicode: the regex crate's Unicode case-folding and class tables are
/// static data full of pointers, which a position-independent executable relocates at
/// every start of every agent of the multicall binary (measured: +10,000 relocations, +56
/// page faults and +0.3 ms CPU for a Dummy monitor); the C locale needs none of them.
///
/// # Errors
/// 6 when the expression does not compile.
pub fn ere(param: &str, text: &str) -> Result<Regex> {
    regex::bytes::RegexBuilder::new(text)
        .unicode(false)
        .case_insensitive(true)
        .build()
        .map_err(|e| {
            let first = e
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string();
            Error::configured(format!(
                "{param} \"{text}\" is not a valid regular expression: {first}"
            ))
        })
}

/// Whether some line of `text` matches, as `grep` matches (`^` and `$` at line ends).
pub fn matches_a_line(re: &Regex, text: &[u8]) -> bool {
    text.split(|b| *b == b'\n')
        .any(|l| re.is_match(l.strip_suffix(b"\r").unwrap_or(l)))
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered as expected.
    Ok,
    /// No answer (refused, timed out, reset): worth retrying while apache starts.
    NoAnswer(String),
    /// An answer that is wrong, or a URL that cannot work: retrying will not help.
    Wrong(String),
}

/// One test: where to go, what to find, how.
#[derive(Debug, Clone)]
pub struct Test {
    /// Absolute URL, or relative to the local URL.
    pub url: String,
    /// What the body must contain.
    pub regex: Regex,
    /// Basic authentication.
    pub auth: Option<(String, String)>,
    /// Certificate checking.
    pub tls: Tls,
}

/// An URL as the shell agent completes it: absolute when it starts with "http", else
/// appended to the local URL.
pub fn complete(local: &str, url: &str) -> String {
    if url.starts_with("http") {
        url.to_string()
    } else {
        format!("{local}{url}")
    }
}

/// GET `test.url` and look for `test.regex` in the body.
pub fn fetch_and_match(test: &Test, family: Family, deadline: Deadline) -> Outcome {
    let url = match Url::parse(&test.url) {
        Ok(u) => u,
        Err(e) => return Outcome::Wrong(e.reason().to_string()),
    };
    let mut req = Request::get(&url).family(family).tls(test.tls.clone());
    if let Some((u, p)) = &test.auth {
        req = req.basic_auth(u, p);
    }
    match req.send(deadline) {
        Err(e) => Outcome::NoAnswer(e.reason().to_string()),
        Ok(r) if matches_a_line(&test.regex, &r.body) => Outcome::Ok,
        Ok(r) => Outcome::Wrong(format!(
            "GET {url}: answer {} does not match /{}/",
            r.status_line(),
            test.regex.as_str()
        )),
    }
}

/// HEAD of the local index: any answer below 500 means the server is alive (a 403 or 404
/// index is still a working server, RA#300).
pub fn index_alive(local: &str, family: Family, deadline: Deadline) -> Outcome {
    let url = match Url::parse(local) {
        Ok(u) => u,
        Err(e) => return Outcome::Wrong(e.reason().to_string()),
    };
    match Request::head(&url).family(family).send(deadline) {
        Err(e) => Outcome::NoAnswer(e.reason().to_string()),
        Ok(r) if r.status < 500 => Outcome::Ok,
        Ok(r) => Outcome::Wrong(format!("HEAD {url}: answer {}", r.status_line())),
    }
}

/// A block of a testconffile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestBlock {
    /// `url`.
    pub url: String,
    /// `match`.
    pub regex: String,
    /// `user`.
    pub user: String,
    /// `password`.
    pub password: String,
    /// `client_opts`, as far as they concern certificates.
    pub tls: Option<TlsOpt>,
}

/// Certificate options understood from `client_opts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsOpt {
    /// `-k`, `--insecure`, `--no-check-certificate`.
    Insecure,
    /// `--cacert FILE`, `--ca-certificate=FILE`.
    CaFile(PathBuf),
}

fn tls_from_opts(opts: &str) -> Option<TlsOpt> {
    let w: Vec<&str> = opts.split_whitespace().collect();
    let mut out = None;
    let mut i = 0;
    while i < w.len() {
        match w[i] {
            "-k" | "--insecure" | "--no-check-certificate" => out = Some(TlsOpt::Insecure),
            "--cacert" | "--ca-certificate" => {
                if let Some(f) = w.get(i + 1) {
                    out = Some(TlsOpt::CaFile(PathBuf::from(f)));
                    i += 1;
                }
            }
            o => {
                if let Some(f) = o
                    .strip_prefix("--cacert=")
                    .or_else(|| o.strip_prefix("--ca-certificate="))
                {
                    out = Some(TlsOpt::CaFile(PathBuf::from(f)));
                }
            }
        }
        i += 1;
    }
    out
}

/// Read the block named `name` (the first block when empty) from `file`.
///
/// # Errors
/// 5 when unreadable, 6 for an unknown keyword or a missing block.
pub fn read_testconf(file: &Path, name: &str) -> Result<TestBlock> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::installed(format!("testconffile {}: {e}", file.display())))?;
    let mut inside = false;
    let mut b = TestBlock::default();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        let (key, value) = match line.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => (line, ""),
        };
        if !inside {
            inside = key == "test" && (name.is_empty() || value == name);
            continue;
        }
        match key {
            "url" => b.url = value.to_string(),
            "user" => b.user = value.to_string(),
            "password" => b.password = value.to_string(),
            "client" => {}
            "client_opts" => b.tls = tls_from_opts(value),
            "match" => b.regex = value.to_string(),
            "end" => return Ok(b),
            "" => {}
            k if k.starts_with('#') => {}
            k => {
                return Err(Error::configured(format!(
                    "testconffile {} line {}: {k}: unknown keyword",
                    file.display(),
                    n + 1
                )))
            }
        }
    }
    if inside {
        return Ok(b);
    }
    Err(Error::configured(format!(
        "testconffile {}: no test block{}",
        file.display(),
        if name.is_empty() {
            String::new()
        } else {
            format!(" named {name}")
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testconf_blocks() {
        let f = std::env::temp_dir().join(format!("ocfapache-testconf-{}", std::process::id()));
        std::fs::write(
            &f,
            "# tests\ntest first\nurl /a\nmatch ok\nend\n\ntest second\n  url https://h/b\n  match x y\n  \
             user u\n  password p w\n  client curl\n  client_opts -s --cacert /etc/ca.pem\nend\n\
             test bad\nurl /\nfoo bar\nend\n",
        )
        .unwrap();
        let b = read_testconf(&f, "").unwrap();
        assert_eq!((b.url.as_str(), b.regex.as_str()), ("/a", "ok"));
        let b = read_testconf(&f, "second").unwrap();
        assert_eq!(b.regex, "x y");
        assert_eq!(b.password, "p w");
        assert_eq!(b.tls, Some(TlsOpt::CaFile("/etc/ca.pem".into())));
        assert!(read_testconf(&f, "bad")
            .unwrap_err()
            .reason()
            .contains("unknown keyword"));
        assert!(read_testconf(&f, "none").is_err());
        std::fs::remove_file(f).unwrap();
        assert_eq!(tls_from_opts("-k"), Some(TlsOpt::Insecure));
    }

    #[test]
    fn regex_is_ere_case_insensitive() {
        let r = ere("testregex", "</ *html *>").unwrap();
        assert!(r.is_match(b"<p>x</HTML >"));
        let up = ere("m", "^ServerUptime").unwrap();
        assert!(matches_a_line(&up, b"Total: 1\r\nServerUptime: 3\r\n"));
        assert!(!matches_a_line(&up, b"x ServerUptime"));
        assert!(ere("testregex", "Server[[:space:]]+uptime")
            .unwrap()
            .is_match(b"server   Uptime"));
        assert_eq!(
            ere("testregex", "(").unwrap_err().rc(),
            ocf::Rc::ErrConfigured
        );
    }

    #[test]
    fn relative_urls() {
        assert_eq!(
            complete("http://127.0.0.1:80", "/x"),
            "http://127.0.0.1:80/x"
        );
        assert_eq!(complete("http://l", "https://h/"), "https://h/");
    }
}
