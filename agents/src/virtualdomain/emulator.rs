//! The domain's emulator process, found through /proc when libvirtd does not answer.
//!
//! A QEMU process started by libvirt carries the domain's name and UUID on its command line:
//! `-name guest=NAME,debug-threads=on` (older libvirt: `-name NAME`) and `-uuid UUID`. A
//! process is the domain's only when the `guest=` value (QEMU's `,,` escapes undone) equals
//! the domain's name **exactly** and its `-uuid` equals the domain's UUID: `web` never matches
//! `web2`, and a domain of the same name with another UUID (a stale copy) is not ours. When
//! the UUID is unknown (no `<uuid>` in the XML and libvirt never told it to this node), the
//! name alone decides, and the log says so.

use ocf::process::{self, ProcRef};
use std::ffi::OsString;

/// The value of QEMU's `-name` argument's guest name: `guest=NAME,...` or plain `NAME,...`,
/// with `,,` standing for a comma.
pub fn qemu_guest_name(arg: &str) -> String {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = arg.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ',' {
            if chars.peek() == Some(&',') {
                chars.next();
                cur.push(',');
            } else {
                parts.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    let first = parts.first().cloned().unwrap_or_default();
    parts
        .iter()
        .find_map(|p| p.strip_prefix("guest=").map(str::to_string))
        .unwrap_or_else(|| {
            if first.contains('=') {
                String::new()
            } else {
                first
            }
        })
}

/// Whether a command line is the emulator of domain `name` (with `uuid`, when known).
pub fn is_domain(cmdline: &[OsString], name: &str, uuid: Option<&str>) -> bool {
    let args: Vec<String> = cmdline
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let Some(n) = value("-name") else {
        return false;
    };
    if qemu_guest_name(n) != name {
        return false;
    }
    match uuid {
        Some(u) => value("-uuid").is_some_and(|v| v.eq_ignore_ascii_case(u)),
        None => true,
    }
}

/// The live emulator processes of the domain (normally one).
pub fn find(name: &str, uuid: Option<&str>) -> Vec<ProcRef> {
    let me = std::process::id() as i32;
    process::processes()
        .into_iter()
        .filter(|p| p.pid != me && !p.is_zombie())
        .filter(|p| is_domain(&p.cmdline(), name, uuid))
        .map(|p| p.identity())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<OsString> {
        s.split(' ').map(OsString::from).collect()
    }

    #[test]
    fn guest_names() {
        assert_eq!(qemu_guest_name("guest=vm1,debug-threads=on"), "vm1");
        assert_eq!(qemu_guest_name("guest=a,,b,debug-threads=on"), "a,b");
        assert_eq!(qemu_guest_name("vm1"), "vm1");
        assert_eq!(qemu_guest_name("process=x"), "");
    }

    #[test]
    fn exact_name_and_uuid() {
        let u = "0e2c7a9b-1111-4222-8333-944445555666";
        let line = argv(&format!(
            "/usr/bin/qemu-system-x86_64 -name guest=web,debug-threads=on -S -uuid {u} -m 64"
        ));
        assert!(is_domain(&line, "web", Some(u)));
        assert!(is_domain(&line, "web", Some(&u.to_uppercase())));
        assert!(is_domain(&line, "web", None));
        assert!(!is_domain(&line, "we", Some(u)));
        assert!(!is_domain(&line, "web2", Some(u)));
        assert!(!is_domain(
            &line,
            "web",
            Some("11111111-1111-4222-8333-944445555666")
        ));
        let other = argv(&format!(
            "/usr/bin/qemu-system-x86_64 -name guest=web2,debug-threads=on -uuid {u}"
        ));
        assert!(!is_domain(&other, "web", Some(u)));
        assert!(!is_domain(&argv("vi -name web -uuid x"), "web", Some(u)));
        assert!(!is_domain(&argv("/bin/sleep 100"), "web", None));
    }
}
