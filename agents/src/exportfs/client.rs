//! Client specifications (`clientspec`): parsing, the argument exportfs(8) takes, and
//! matching against the client field of the export table.
//!
//! What exportfs writes to `etab` for each kind (nfs-utils): `*` stays `*` (its screen
//! output says `<world>`); an IPv6 client given as `[2001:db8::1]:/dir` or
//! `[2001:db8::]/64:/dir` is stored without brackets; everything else as given. Names are
//! compared without regard to case (exportfs does), addresses and subnets as addresses
//! (`2001:DB8:0::1` is `2001:db8::1`, `/255.255.255.0` is `/24`).

use std::net::IpAddr;

/// One parsed client specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSpec {
    /// As configured (trimmed).
    pub raw: String,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// `*`.
    World,
    /// An address or subnet.
    Ip { addr: IpAddr, prefix: Option<u8> },
    /// A host name, wildcard, netgroup (`@g`), `gss/krb5` and the like.
    Name,
}

/// `addr`, `addr/len` or (IPv4) `addr/netmask`, brackets already removed.
fn parse_ip(text: &str) -> Option<(IpAddr, Option<u8>)> {
    let (a, p) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        None => None,
        Some(p) => {
            if let Ok(n) = p.parse::<u8>() {
                (n <= max).then_some(n)?;
                Some(n)
            } else {
                // A dotted netmask (IPv4 only), contiguous ones.
                let IpAddr::V4(_) = addr else { return None };
                let m: std::net::Ipv4Addr = p.parse().ok()?;
                let bits = u32::from(m);
                let ones = bits.leading_ones();
                (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(())?;
                Some(u8::try_from(ones).ok()?)
            }
        }
    };
    Some((addr, prefix))
}

/// Remove IPv6 brackets: `[v6]` or `[v6]/len` → `v6` / `v6/len`; anything else unchanged
/// (a bracket wildcard such as `[ab]*.example.com` has no `:` inside).
fn unbracket(text: &str) -> String {
    if let Some(rest) = text.strip_prefix('[') {
        if let Some((inner, after)) = rest.split_once(']') {
            if inner.contains(':') {
                return format!("{inner}{after}");
            }
        }
    }
    text.to_string()
}

impl ClientSpec {
    /// Parse `clientspec`.
    ///
    /// # Errors
    /// The reason, when the value can never be a single client (empty, several clients,
    /// options in it, a stray `:`).
    pub fn parse(text: &str) -> Result<ClientSpec, String> {
        let raw = text.trim().to_string();
        if raw.is_empty() {
            return Err("clientspec is empty".into());
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(format!(
                "clientspec '{raw}' names several clients: give one client per resource \
                 (create one exportfs resource per subnet or host)"
            ));
        }
        if raw.contains('(') || raw.contains(')') {
            return Err(format!(
                "clientspec '{raw}' contains export options: put them in the options parameter"
            ));
        }
        if raw == "*" {
            return Ok(ClientSpec {
                raw,
                kind: Kind::World,
            });
        }
        let plain = unbracket(&raw);
        if let Some((addr, prefix)) = parse_ip(&plain) {
            return Ok(ClientSpec {
                raw,
                kind: Kind::Ip { addr, prefix },
            });
        }
        if plain.contains(':') {
            return Err(format!(
                "clientspec '{raw}' is neither an IPv6 address or subnet nor a host name \
                 (a ':' is only allowed in IPv6 addresses)"
            ));
        }
        Ok(ClientSpec {
            raw,
            kind: Kind::Name,
        })
    }

    /// The client part of exportfs' `CLIENT:/dir` argument: IPv6 in brackets (exportfs splits
    /// at the first `:` otherwise), anything else as given.
    pub fn exportfs_arg(&self) -> String {
        match &self.kind {
            Kind::Ip {
                addr: IpAddr::V6(_),
                ..
            } => {
                let plain = unbracket(&self.raw);
                match plain.split_once('/') {
                    Some((a, len)) => format!("[{a}]/{len}"),
                    None => format!("[{plain}]"),
                }
            }
            _ => self.raw.clone(),
        }
    }

    /// Whether `client`, the client field of an export table entry (etab, or the kernel's
    /// export cache), is this client.
    pub fn matches(&self, client: &str) -> bool {
        match &self.kind {
            Kind::World => client == "*" || client == "<world>",
            Kind::Ip { addr, prefix } => {
                parse_ip(&unbracket(client)).is_some_and(|(a, p)| a == *addr && p == *prefix)
            }
            Kind::Name => client.eq_ignore_ascii_case(&self.raw),
        }
    }

    /// Whether this is a plain host name, which exportfs stores under its canonical name
    /// (so the table may show another spelling than the one configured).
    pub fn is_host_name(&self) -> bool {
        matches!(self.kind, Kind::Name)
            && !self.raw.starts_with('@')
            && !self.raw.contains(['*', '?', '[', '/'])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> ClientSpec {
        ClientSpec::parse(s).unwrap()
    }

    #[test]
    fn exportfs_arguments_bracket_ipv6_only() {
        assert_eq!(spec("2001:db8::1").exportfs_arg(), "[2001:db8::1]");
        assert_eq!(spec("[2001:db8::1]").exportfs_arg(), "[2001:db8::1]");
        assert_eq!(spec("[2001:db8::]/64").exportfs_arg(), "[2001:db8::]/64");
        assert_eq!(spec("2001:db8::/64").exportfs_arg(), "[2001:db8::]/64");
        assert_eq!(spec("10.0.0.0/8").exportfs_arg(), "10.0.0.0/8");
        assert_eq!(spec(" * ").exportfs_arg(), "*");
        assert_eq!(spec("@trusted").exportfs_arg(), "@trusted");
        assert_eq!(
            spec("[ab]*.example.com").exportfs_arg(),
            "[ab]*.example.com"
        );
    }

    #[test]
    fn etab_clients_match_exactly() {
        // The world: etab says *, exportfs' screen output <world>.
        assert!(spec("*").matches("*"));
        assert!(spec("*").matches("<world>"));
        assert!(!spec("*").matches("*.example.com"));
        // Wildcards are names, not patterns to apply: *.example.com is not host.example.com.
        let w = spec("*.example.com");
        assert!(w.matches("*.EXAMPLE.com"));
        assert!(!w.matches("*"));
        assert!(!w.matches("a.example.com"));
        // IPv6: brackets stripped, addresses compared as addresses.
        let v6 = spec("[2001:DB8:0::1]");
        assert!(v6.matches("2001:db8::1"));
        assert!(v6.matches("[2001:db8::1]"));
        assert!(!v6.matches("2001:db8::10"));
        assert!(!v6.matches("2001:db8::1/128"));
        let net6 = spec("[2001:db8::]/64");
        assert!(net6.matches("2001:db8::/64"));
        assert!(!net6.matches("2001:db8::/48"));
        assert!(!net6.matches("2001:db8::"));
        // IPv4 subnets: netmask or prefix length, the same subnet.
        let net4 = spec("192.0.2.0/24");
        assert!(net4.matches("192.0.2.0/255.255.255.0"));
        assert!(net4.matches("192.0.2.0/24"));
        assert!(!net4.matches("192.0.2.0/25"));
        assert!(!net4.matches("192.0.2.0"));
        assert!(!net4.matches("192.0.2.0/24x"));
        // One address is not a prefix of another (the grep -F trap).
        assert!(!spec("10.0.0.1").matches("10.0.0.10"));
        // Names and netgroups: whole, case-insensitive.
        assert!(spec("Client.Example.com").matches("client.example.com"));
        assert!(!spec("client").matches("client.example.com"));
        assert!(spec("@trusted").matches("@trusted"));
        assert!(!spec("@trusted").matches("@trusted2"));
        assert!(!spec("@trusted").matches("trusted"));
    }

    #[test]
    fn one_client_per_resource() {
        for bad in [
            "",
            "  ",
            "10.0.0.0/8 192.168.0.0/16",
            "10.0.0.0/8(rw)",
            "host:name",
            "[2001:db8::1",
        ] {
            assert!(ClientSpec::parse(bad).is_err(), "{bad:?}");
        }
        assert!(spec("client.example.com").is_host_name());
        for not_host in [
            "*",
            "*.example.com",
            "@g",
            "10.0.0.1",
            "[2001:db8::1]",
            "gss/krb5",
        ] {
            assert!(!spec(not_host).is_host_name(), "{not_host}");
        }
        // Odd netmasks and lengths are not addresses.
        assert_eq!(parse_ip("10.0.0.0/33"), None);
        assert_eq!(parse_ip("10.0.0.0/255.0.255.0"), None);
        assert_eq!(
            parse_ip("10.0.0.0/255.0.0.0"),
            Some(("10.0.0.0".parse().unwrap(), Some(8)))
        );
    }
}
