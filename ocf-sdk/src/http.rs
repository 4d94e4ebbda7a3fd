//! An HTTP/1.1 client for status pages: one `GET` or `HEAD`, inside a deadline, in process.
//!
//! What a monitor needs from a web server and nothing more: the status code, the headers and
//! the body (capped, see [`Request::max_body`]) of one request, with a `Host` header, optional
//! basic authentication, no redirects followed (a 3xx is returned as it is), no proxy, no
//! cookies, no compression, `Connection: close`. Name resolution, connect, TLS handshake,
//! sending and every read are bounded by the caller's [`Deadline`]: a server that accepts the
//! connection and then says nothing costs the monitor its budget, never more (a name lookup
//! that hangs in the resolver is left behind in a thread; literal addresses need none).
//!
//! ```no_run
//! use ocf::http::{Request, Url};
//! use ocf::Deadline;
//! use std::time::Duration;
//! let url = Url::parse("http://127.0.0.1:8080/server-status?auto").unwrap();
//! let r = Request::get(&url).send(Deadline::after(Duration::from_secs(5))).unwrap();
//! assert_eq!(r.status, 200);
//! println!("{}", r.text());
//! ```
//!
//! # HTTPS and certificates
//! With the crate feature `tls` (the ocfrs agents enable it), `https://` URLs are fetched over
//! TLS 1.2/1.3 with [rustls](https://docs.rs/rustls) (ring provider). The server's
//! certificate is checked as curl does by default: it must chain to a trusted CA and name the
//! host of the URL (a DNS name, or an IP address in its subjectAltName). The trusted CAs are,
//! in this order: the file given with [`Tls::CaFile`]; else the file named by the
//! `SSL_CERT_FILE` environment variable; else the system bundle
//! (`/etc/ssl/certs/ca-certificates.crt` on Debian, `/etc/pki/tls/certs/ca-bundle.crt` on
//! RHEL, `/etc/ssl/ca-bundle.pem` on SUSE). [`Tls::Insecure`] (curl's `-k`) skips the
//! certificate check but still encrypts and checks the handshake signatures. Without the
//! feature, an `https://` URL fails with an error that says so.
//!
//! # Why a small module, rustls, and what they cost
//! The HTTP part is a few hundred lines over `std::net`: a status check needs one request
//! and none of what `ureq` or `reqwest` bring (redirects, proxies, cookies, pools, their own
//! URL and header crates). TLS is the one part not written here: rustls with the ring
//! provider (no aws-lc, so no cmake or C++ toolchain), behind this crate's `tls` feature.
//!
//! All agents share one multicall binary, so what matters is what linking costs *every*
//! agent's start. Code costs nothing until it runs (pages load lazily); what does cost is
//! static data holding pointers, which a position-independent executable relocates at every
//! exec. Measured with `perf stat -r 300` on a Dummy monitor (the cheapest action), the same
//! commit with and without the apache agent (this module, rustls, the regex crate), on the
//! 2-core test VM under load (task-clock ±1 %, page faults exact):
//!
//! | build | stripped size | relative relocations | page faults | task-clock |
//! |---|---:|---:|---:|---:|
//! | without apache | 2.30 MB | 3,613 | 101 | 1.09 ms |
//! | with apache: ocf::http + rustls + regex (bytes, no Unicode, no `perf`) | 4.35 MB | 6,539 | 116 | 1.21 ms |
//! | the same with regex's Unicode tables and `perf` (first attempt) | 5.28 MB | 15,263 | 164 | 1.36 ms |
//!
//! rustls + ring account for about 1,840 of the added relocations (7–8 page faults, about
//! 0.05 ms per exec); the rest is the regex crate. The first attempt (Unicode case folding,
//! whose tables are pointer-filled statics) cost +60 % page faults for every agent, hence
//! the apache agent's C-locale byte regexes. Building the SDK without `tls` removes the TLS
//! share (HTTPS is then refused with a clear error); a non-PIE link of the multicall binary
//! would remove all load-time relocations, for every agent (a build-wide choice, not made
//! here).

use crate::deadline::Deadline;
use crate::exit::{Error, Result};
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (default port 80).
    Http,
    /// HTTP over TLS (default port 443).
    Https,
}

/// An absolute `http(s)://` URL, split into what a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The scheme.
    pub scheme: Scheme,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// The port (explicit or the scheme's default).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// `user:password` from the URL, if any (sent as basic authentication).
    pub userinfo: Option<(String, String)>,
}

impl Url {
    /// Parse an absolute URL. Errors (code 1) name what is wrong.
    ///
    /// # Errors
    /// Not `http://` or `https://`, no host, a bad port.
    pub fn parse(text: &str) -> Result<Url> {
        let t = text.trim();
        let bad = |why: &str| Error::generic(format!("invalid URL \"{t}\": {why}"));
        let (scheme, rest) = match t.split_once("://") {
            Some((s, r)) if s.eq_ignore_ascii_case("http") => (Scheme::Http, r),
            Some((s, r)) if s.eq_ignore_ascii_case("https") => (Scheme::Https, r),
            Some((s, _)) => return Err(bad(&format!("scheme {s} is not http or https"))),
            None => return Err(bad("not an absolute http:// or https:// URL")),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let mut path = tail.split('#').next().unwrap_or("").to_string();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => {
                let (user, pass) = u.split_once(':').unwrap_or((u, ""));
                (Some((percent_decode(user), percent_decode(pass))), h)
            }
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed [ in host"))?;
            (h, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None | Some("") => match scheme {
                Scheme::Http => 80,
                Scheme::Https => 443,
            },
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(bad(&format!("bad port {p}"))),
            },
        };
        Ok(Url {
            scheme,
            host: host.to_string(),
            port,
            path,
            userinfo,
        })
    }

    fn default_port(&self) -> bool {
        matches!(
            (self.scheme, self.port),
            (Scheme::Http, 80) | (Scheme::Https, 443)
        )
    }

    /// The `Host` header's value: host (bracketed when IPv6) and the port unless default.
    pub fn host_header(&self) -> String {
        let h = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.default_port() {
            h
        } else {
            format!("{h}:{}", self.port)
        }
    }
}

impl std::fmt::Display for Url {
    /// The URL without its user information (never shown: it may hold a password).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let h = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{s}://{h}:{}{}", self.port, self.path)
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `GET` or `HEAD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Status, headers and body.
    Get,
    /// Status and headers only.
    Head,
}

/// How an `https://` server's certificate is checked (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Tls {
    /// Against `SSL_CERT_FILE` or the system bundle.
    #[default]
    System,
    /// Against the CAs in this PEM file only.
    CaFile(PathBuf),
    /// Not at all (curl's `-k`): encrypted, but anyone can pose as the server.
    Insecure,
}

/// Which address family to try first when a name resolves to both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    /// IPv4 addresses first.
    #[default]
    V4First,
    /// IPv6 addresses first.
    V6First,
}

/// One request. Built with [`Request::get`] or [`Request::head`], sent with [`Request::send`].
#[derive(Clone)]
pub struct Request<'a> {
    url: &'a Url,
    method: Method,
    auth: Option<(String, String)>,
    tls: Tls,
    family: Family,
    max_body: usize,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never appears in debug output.
        f.debug_struct("Request")
            .field("url", &self.url.to_string())
            .field("method", &self.method)
            .field("auth", &self.auth.as_ref().map(|(u, _)| (u, "<secret>")))
            .field("tls", &self.tls)
            .field("family", &self.family)
            .field("max_body", &self.max_body)
            .finish()
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code (200, 404, ...).
    pub status: u16,
    /// Reason phrase as sent.
    pub reason: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (empty for `HEAD`), at most [`Request::max_body`] bytes.
    pub body: Vec<u8>,
    /// Whether the body was cut at the cap.
    pub truncated: bool,
}

impl Response {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The status line, e.g. `404 Not Found`.
    pub fn status_line(&self) -> String {
        format!("{} {}", self.status, self.reason)
    }
}

impl<'a> Request<'a> {
    /// A `GET` of `url`.
    pub fn get(url: &'a Url) -> Request<'a> {
        Request {
            url,
            method: Method::Get,
            auth: url.userinfo.clone(),
            tls: Tls::default(),
            family: Family::default(),
            max_body: 1 << 20,
        }
    }

    /// A `HEAD` of `url`.
    pub fn head(url: &'a Url) -> Request<'a> {
        Request {
            method: Method::Head,
            ..Request::get(url)
        }
    }

    /// Basic authentication (replaces user information from the URL).
    pub fn basic_auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_string(), password.to_string()));
        self
    }

    /// How the certificate of an `https://` server is checked.
    pub fn tls(mut self, tls: Tls) -> Self {
        self.tls = tls;
        self
    }

    /// Which address family to try first.
    pub fn family(mut self, family: Family) -> Self {
        self.family = family;
        self
    }

    /// Keep at most this many bytes of body (default 1 MiB); the rest is not read.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Send the request and read the answer, all before `deadline`.
    ///
    /// # Errors
    /// Code 1, with the URL (never its password) and what failed: resolution, connection,
    /// TLS, timeout, a malformed answer.
    pub fn send(&self, deadline: Deadline) -> Result<Response> {
        let url = self.url;
        let what = format!(
            "{} {url}",
            match self.method {
                Method::Get => "GET",
                Method::Head => "HEAD",
            }
        );
        self.send_inner(deadline)
            .map_err(|e| Error::generic(format!("{what}: {}", e.reason())))
    }

    fn send_inner(&self, deadline: Deadline) -> Result<Response> {
        let url = self.url;
        let addrs = resolve(&url.host, url.port, self.family, deadline)?;
        let tcp = connect(&addrs, deadline)?;
        let _ = tcp.set_nodelay(true);
        let request = self.request_bytes();
        match url.scheme {
            Scheme::Http => exchange(Timed::new(tcp, deadline), &request, self),
            Scheme::Https => tls::exchange_tls(tcp, deadline, &request, self),
        }
    }

    fn request_bytes(&self) -> Vec<u8> {
        let m = match self.method {
            Method::Get => "GET",
            Method::Head => "HEAD",
        };
        let mut r = format!(
            "{m} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: ocfrs/{}\r\nAccept: */*\r\nConnection: close\r\n",
            self.url.path,
            self.url.host_header(),
            env!("CARGO_PKG_VERSION"),
        );
        if let Some((u, p)) = &self.auth {
            r.push_str("Authorization: Basic ");
            r.push_str(&base64(format!("{u}:{p}").as_bytes()));
            r.push_str("\r\n");
        }
        r.push_str("\r\n");
        r.into_bytes()
    }
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn timeout(deadline: Deadline) -> Result<Duration> {
    let r = deadline.remaining();
    if r.is_zero() {
        Err(Error::generic("timed out"))
    } else {
        Ok(r)
    }
}

/// Resolve without outliving the deadline: literal addresses directly, names in a thread.
fn resolve(host: &str, port: u16, family: Family, deadline: Deadline) -> Result<Vec<SocketAddr>> {
    let mut addrs: Vec<SocketAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
        vec![SocketAddr::new(ip, port)]
    } else {
        let (tx, rx) = std::sync::mpsc::channel();
        let h = host.to_string();
        std::thread::Builder::new()
            .name("resolve".into())
            .spawn(move || {
                let _ = tx.send((h.as_str(), port).to_socket_addrs().map(Vec::from_iter));
            })
            .map_err(|e| Error::generic(format!("cannot start the resolver thread: {e}")))?;
        match rx.recv_timeout(timeout(deadline)?) {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => return Err(Error::generic(format!("cannot resolve {host}: {e}"))),
            Err(_) => return Err(Error::generic(format!("resolving {host} timed out"))),
        }
    };
    if addrs.is_empty() {
        return Err(Error::generic(format!("{host} has no address")));
    }
    // Stable: the resolver's order within each family.
    addrs.sort_by_key(|a| match family {
        Family::V4First => a.is_ipv6(),
        Family::V6First => a.is_ipv4(),
    });
    Ok(addrs)
}

fn connect(addrs: &[SocketAddr], deadline: Deadline) -> Result<TcpStream> {
    let mut last = None;
    for a in addrs {
        match TcpStream::connect_timeout(a, timeout(deadline)?) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(format!("connect to {a}: {e}")),
        }
    }
    Err(Error::generic(
        last.unwrap_or_else(|| "no address to connect to".into()),
    ))
}

/// A TCP stream whose every read and write is bounded by the deadline.
struct Timed {
    tcp: TcpStream,
    deadline: Deadline,
}

impl Timed {
    fn new(tcp: TcpStream, deadline: Deadline) -> Self {
        Timed { tcp, deadline }
    }

    fn arm(&self) -> std::io::Result<()> {
        let r = self.deadline.remaining();
        if r.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out",
            ));
        }
        self.tcp.set_read_timeout(Some(r))?;
        self.tcp.set_write_timeout(Some(r))
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.tcp.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

fn io_err(e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            Error::generic("timed out waiting for the server")
        }
        _ => Error::generic(e.to_string()),
    }
}

/// Write the request, read and parse the answer.
fn exchange<S: Read + Write>(mut s: S, request: &[u8], req: &Request<'_>) -> Result<Response> {
    s.write_all(request).map_err(io_err)?;
    s.flush().map_err(io_err)?;
    let mut reader = Buffered {
        inner: s,
        buf: Vec::with_capacity(8192),
        pos: 0,
        eof: false,
    };
    // 1xx answers (100 Continue) are skipped.
    loop {
        let head = reader.read_head()?;
        let (status, reason, headers) = parse_head(&head)?;
        if (100..200).contains(&status) {
            continue;
        }
        let no_body = req.method == Method::Head || status == 204 || status == 304;
        let (body, truncated) = if no_body {
            (Vec::new(), false)
        } else {
            read_body(&mut reader, &headers, req.max_body)?
        };
        return Ok(Response {
            status,
            reason,
            headers,
            body,
            truncated,
        });
    }
}

struct Buffered<S> {
    inner: S,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
}

const MAX_HEAD: usize = 64 * 1024;

impl<S: Read> Buffered<S> {
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut tmp = [0u8; 8192];
        match self.inner.read(&mut tmp) {
            Ok(0) => {
                self.eof = true;
                Ok(false)
            }
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                Ok(true)
            }
            // A TLS peer that closes without close_notify: treat as the end of the data.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.eof = true;
                Ok(false)
            }
            Err(e) => Err(io_err(e)),
        }
    }

    fn available(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    fn read_head(&mut self) -> Result<Vec<u8>> {
        loop {
            if let Some(i) = find(self.available(), b"\r\n\r\n") {
                let head = self.available()[..i].to_vec();
                self.pos += i + 4;
                return Ok(head);
            }
            if self.available().len() > MAX_HEAD {
                return Err(Error::generic("answer headers larger than 64 KiB"));
            }
            if !self.fill()? {
                return Err(Error::generic(if self.available().is_empty() {
                    "the server closed the connection without answering".to_string()
                } else {
                    "the server closed the connection in the middle of the headers".to_string()
                }));
            }
        }
    }

    fn read_line(&mut self) -> Result<String> {
        loop {
            if let Some(i) = find(self.available(), b"\r\n") {
                let line = String::from_utf8_lossy(&self.available()[..i]).into_owned();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.available().len() > MAX_HEAD {
                return Err(Error::generic("chunk header too long"));
            }
            if !self.fill()? {
                return Err(Error::generic("connection closed inside a chunked body"));
            }
        }
    }

    /// Take up to `n` bytes into `out` (at most `room` kept); false at end of data.
    fn take(&mut self, n: usize, out: &mut Vec<u8>, room: usize) -> Result<usize> {
        if self.available().is_empty() && !self.fill()? {
            return Ok(0);
        }
        let k = n.min(self.available().len());
        let keep = k.min(room.saturating_sub(out.len()));
        out.extend_from_slice(&self.available()[..keep]);
        self.pos += k;
        Ok(k)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

type Head = (u16, String, Vec<(String, String)>);

fn parse_head(head: &[u8]) -> Result<Head> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/") {
        return Err(Error::generic(format!(
            "not an HTTP answer: \"{}\"",
            status_line.chars().take(60).collect::<String>()
        )));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| Error::generic(format!("bad status line \"{status_line}\"")))?;
    let reason = parts.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok((status, reason, headers))
}

fn read_body<S: Read>(
    r: &mut Buffered<S>,
    headers: &[(String, String)],
    cap: usize,
) -> Result<(Vec<u8>, bool)> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let mut body = Vec::new();
    let chunked =
        get("Transfer-Encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            if body.len() >= cap {
                return Ok((body, true));
            }
            let line = r.read_line()?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| Error::generic(format!("bad chunk size \"{size_text}\"")))?;
            if size == 0 {
                return Ok((body, false));
            }
            let mut left = size;
            while left > 0 {
                let k = r.take(left, &mut body, cap)?;
                if k == 0 {
                    return Err(Error::generic("connection closed inside a chunk"));
                }
                left -= k;
            }
            r.read_line()?; // the CRLF after the chunk
        }
    }
    if let Some(len) = get("Content-Length") {
        let len: usize = len
            .parse()
            .map_err(|_| Error::generic(format!("bad Content-Length \"{len}\"")))?;
        let mut left = len.min(cap);
        while left > 0 {
            let k = r.take(left, &mut body, cap)?;
            if k == 0 {
                return Err(Error::generic(format!(
                    "connection closed after {} of {len} body bytes",
                    body.len()
                )));
            }
            left -= k;
        }
        return Ok((body, len > cap));
    }
    // Delimited by the end of the connection.
    loop {
        if body.len() >= cap {
            return Ok((body, true));
        }
        if r.take(cap - body.len(), &mut body, cap)? == 0 {
            return Ok((body, false));
        }
    }
}

#[cfg(feature = "tls")]
mod tls {
    use super::{exchange, io_err, Request, Response, Timed, Tls};
    use crate::deadline::Deadline;
    use crate::exit::{Error, Result};
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{
        ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
    };
    use std::net::TcpStream;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    /// System CA bundles, Debian first.
    const BUNDLES: &[&str] = &[
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    ];

    fn bundle(tls: &Tls) -> Result<PathBuf> {
        if let Tls::CaFile(p) = tls {
            return Ok(p.clone());
        }
        if let Some(p) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        BUNDLES
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .map(Path::to_path_buf)
            .ok_or_else(|| {
                Error::generic(
                    "no CA bundle to check the certificate against (install ca-certificates, or set SSL_CERT_FILE)",
                )
            })
    }

    fn roots(path: &Path) -> Result<RootCertStore> {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| Error::generic(format!("cannot read CA file {}: {e}", path.display())))?
            .filter_map(std::result::Result::ok);
        let mut store = RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(certs);
        if added == 0 {
            return Err(Error::generic(format!(
                "no usable CA certificate in {}",
                path.display()
            )));
        }
        Ok(store)
    }

    #[derive(Debug)]
    struct NoCheck(Arc<CryptoProvider>);

    impl ServerCertVerifier for NoCheck {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp_response: &[u8],
            _now: UnixTime,
        ) -> std::result::Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(
                message,
                cert,
                dss,
                &self.0.signature_verification_algorithms,
            )
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }

    fn config(tls: &Tls) -> Result<ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::generic(format!("TLS setup: {e}")))?;
        Ok(match tls {
            Tls::Insecure => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoCheck(provider)))
                .with_no_client_auth(),
            _ => builder
                .with_root_certificates(roots(&bundle(tls)?)?)
                .with_no_client_auth(),
        })
    }

    pub(super) fn exchange_tls(
        tcp: TcpStream,
        deadline: Deadline,
        request: &[u8],
        req: &Request<'_>,
    ) -> Result<Response> {
        let cfg = config(&req.tls)?;
        let name = ServerName::try_from(req.url.host.clone())
            .map_err(|e| Error::generic(format!("{} as a TLS server name: {e}", req.url.host)))?;
        let conn = ClientConnection::new(Arc::new(cfg), name)
            .map_err(|e| Error::generic(format!("TLS: {e}")))?;
        let timed = Timed::new(tcp, deadline);
        let mut stream = rustls::StreamOwned::new(conn, timed);
        // Complete the handshake first, so a certificate problem reads as one.
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock).map_err(|e| {
                match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    Some(t) => Error::generic(format!("TLS handshake: {t}")),
                    None => Error::generic(format!("TLS handshake: {}", io_err(e).reason())),
                }
            })?;
        }
        exchange(stream, request, req)
    }
}

#[cfg(not(feature = "tls"))]
mod tls {
    use super::{Request, Response};
    use crate::deadline::Deadline;
    use crate::exit::{Error, Result};
    use std::net::TcpStream;

    pub(super) fn exchange_tls(
        _tcp: TcpStream,
        _deadline: Deadline,
        _request: &[u8],
        _req: &Request<'_>,
    ) -> Result<Response> {
        Err(Error::generic(
            "https is not available: ocf-sdk was built without its \"tls\" feature",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A one-shot server on loopback: answers the first connection with `answer` and returns
    /// the request it received.
    fn serve(answer: &'static [u8]) -> (u16, std::thread::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut req = Vec::new();
            let mut b = [0u8; 4096];
            while find(&req, b"\r\n\r\n").is_none() {
                let n = s.read(&mut b).unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&b[..n]);
            }
            s.write_all(answer).unwrap();
            String::from_utf8_lossy(&req).into_owned()
        });
        (port, h)
    }

    fn dl() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    #[test]
    fn urls() {
        let u = Url::parse("http://localhost/server-status").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("localhost", 80, "/server-status")
        );
        let u = Url::parse("HTTPS://[::1]:8443?x=1#frag").unwrap();
        assert_eq!(u.scheme, Scheme::Https);
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 8443, "/?x=1")
        );
        assert_eq!(u.host_header(), "[::1]:8443");
        let u = Url::parse("http://bob:s%40cret@127.0.0.1:81/").unwrap();
        assert_eq!(u.userinfo, Some(("bob".into(), "s@cret".into())));
        assert!(!u.to_string().contains("cret"));
        assert!(Url::parse("yoyoyoyo").is_err());
        assert!(Url::parse("ftp://x/").is_err());
        assert!(Url::parse("http://:80/").is_err());
        assert!(Url::parse("http://h:99999/").is_err());
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn get_with_length_host_header_and_auth() {
        let (port, h) = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA");
        let url = Url::parse(&format!("http://127.0.0.1:{port}/s?auto")).unwrap();
        let r = Request::get(&url).basic_auth("u", "p").send(dl()).unwrap();
        assert_eq!((r.status, r.text().as_str()), (200, "hello"));
        let req = h.join().unwrap();
        assert!(req.starts_with("GET /s?auto HTTP/1.1\r\n"), "{req}");
        assert!(
            req.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")),
            "{req}"
        );
        assert!(req.contains("\r\nAuthorization: Basic dTpw\r\n"), "{req}");
    }

    #[test]
    fn chunked_and_close_delimited_bodies() {
        let (port, _h) = serve(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n",
        );
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        assert_eq!(Request::get(&url).send(dl()).unwrap().text(), "Wikipedia");
        let (port, _h) = serve(b"HTTP/1.0 200 OK\r\n\r\n<html>body</html>");
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let r = Request::get(&url).max_body(6).send(dl()).unwrap();
        assert_eq!((r.text().as_str(), r.truncated), ("<html>", true));
    }

    #[test]
    fn redirects_are_not_followed_and_head_has_no_body() {
        let (port, _h) = serve(
            b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere/\r\nContent-Length: 3\r\n\r\nabc",
        );
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let r = Request::get(&url).send(dl()).unwrap();
        assert_eq!(
            (r.status, r.header("location")),
            (302, Some("http://elsewhere/"))
        );
        let (port, h) = serve(b"HTTP/1.1 404 Not Found\r\nContent-Length: 100\r\n\r\n");
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let r = Request::head(&url).send(dl()).unwrap();
        assert_eq!(
            (r.status_line().as_str(), r.body.len()),
            ("404 Not Found", 0)
        );
        assert!(h.join().unwrap().starts_with("HEAD / HTTP/1.1\r\n"));
    }

    #[test]
    fn a_silent_server_costs_the_deadline_only() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!(
            "http://127.0.0.1:{}/",
            l.local_addr().unwrap().port()
        ))
        .unwrap();
        let t = std::time::Instant::now();
        let e = Request::get(&url)
            .send(Deadline::after(Duration::from_millis(300)))
            .unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(e.reason().contains("timed out"), "{}", e.reason());
        drop(l);
    }

    #[test]
    fn refused_and_garbage_are_errors_with_the_url() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
        let e = Request::get(&url).send(dl()).unwrap_err();
        assert!(
            e.reason()
                .contains(&format!("GET http://127.0.0.1:{port}/x: connect")),
            "{}",
            e.reason()
        );
        let (port, _h) = serve(b"SSH-2.0-OpenSSH\r\n\r\n");
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let e = Request::get(&url).send(dl()).unwrap_err();
        assert!(e.reason().contains("not an HTTP answer"), "{}", e.reason());
    }
}
