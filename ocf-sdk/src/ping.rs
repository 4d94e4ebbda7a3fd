//! ICMP echo to an address, in process (no `ping` child): the check IPaddr's depth 10 makes
//! ("does the address answer?"). Needs `CAP_NET_RAW` (raw ICMP socket), as `ping` had.

use crate::Deadline;
use std::io;
use std::net::IpAddr;
use std::os::fd::{FromRawFd, OwnedFd};

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]);
        sum = sum.wrapping_add(u32::from(w));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Send one ICMP (v4) or ICMPv6 echo request to `ip` and wait until `deadline` for its
/// reply. `Ok(true)`: answered; `Ok(false)`: no answer in time.
///
/// # Errors
/// The socket's errors (`EPERM` without `CAP_NET_RAW`, `ENETUNREACH`, ...).
pub fn echo(ip: IpAddr, seq: u16, deadline: Deadline) -> io::Result<bool> {
    let (domain, proto, request, reply) = match ip {
        IpAddr::V4(_) => (libc::AF_INET, libc::IPPROTO_ICMP, 8u8, 0u8),
        IpAddr::V6(_) => (libc::AF_INET6, libc::IPPROTO_ICMPV6, 128u8, 129u8),
    };
    // SAFETY: socket(2) with constant arguments; the result is checked before use.
    let raw = unsafe {
        libc::socket(
            domain,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            proto,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new, valid descriptor owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let id = (std::process::id() & 0xffff) as u16;
    let mut pkt = [0u8; 16];
    pkt[0] = request;
    pkt[4..6].copy_from_slice(&id.to_be_bytes());
    pkt[6..8].copy_from_slice(&seq.to_be_bytes());
    pkt[8..16].copy_from_slice(b"ocfrs-ip");
    if ip.is_ipv4() {
        // ICMPv6 checksums are filled in by the kernel; ICMPv4 ones are ours.
        let c = checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
    }
    match ip {
        IpAddr::V4(a) => {
            // SAFETY: zeroed sockaddr_in is a valid value; fields set below.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
            crate::net::send_to(&fd, &pkt, &sa)
        }
        IpAddr::V6(a) => {
            // SAFETY: zeroed sockaddr_in6 is a valid value; fields set below.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_addr.s6_addr = a.octets();
            crate::net::send_to(&fd, &pkt, &sa)
        }
    }?;
    let mut buf = [0u8; 2048];
    loop {
        let left = deadline.remaining();
        if left.is_zero() {
            return Ok(false);
        }
        let Some(n) = crate::net::recv_within(&fd, &mut buf, left)? else {
            continue;
        };
        let got = &buf[..n];
        // An IPv4 raw socket delivers the IP header too; ICMPv6 comes without it.
        let icmp = if ip.is_ipv4() {
            let ihl = usize::from(got.first().copied().unwrap_or(0) & 0x0f) * 4;
            got.get(ihl..).unwrap_or(&[])
        } else {
            got
        };
        if icmp.len() >= 8
            && icmp[0] == reply
            && icmp[4..6] == id.to_be_bytes()
            && icmp[6..8] == seq.to_be_bytes()
        {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_an_echo_request() {
        // Type 8, id 1, seq 1, no payload: 0xf7fd.
        let mut p = [8u8, 0, 0, 0, 0, 1, 0, 1];
        assert_eq!(checksum(&p), 0xf7fd);
        p[2..4].copy_from_slice(&0xf7fdu16.to_be_bytes());
        assert_eq!(checksum(&p), 0);
    }
}
