//! Telling the link about an address, over an `AF_PACKET` socket (no child process):
//! gratuitous ARP (REQUEST or REPLY), IPv6 unsolicited neighbour advertisements, and the
//! RFC 5227 ARP probe that detects another holder of an IPv4 address before it is added.
//!
//! Every series is bounded by a deadline: a packet whose turn comes after the deadline is
//! not sent, and the caller is told how many went out.

use ocf::net::Link;
use ocf::Deadline;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86DD;
const BROADCAST_MAC: [u8; 6] = [0xff; 6];

/// A raw packet socket on one interface.
struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
}

impl PacketSocket {
    fn open(ifindex: u32, protocol: u16, bind: bool) -> io::Result<PacketSocket> {
        let ifindex =
            i32::try_from(ifindex).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: socket(2) with constant arguments; the result is checked.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(protocol.to_be()),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let s = PacketSocket { fd, ifindex };
        if bind {
            let sll = s.addr(protocol, &[0; 6]);
            // SAFETY: bind reads a sockaddr_ll of the size given.
            let r = unsafe {
                libc::bind(
                    s.fd.as_raw_fd(),
                    (&sll as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(s)
    }

    fn addr(&self, protocol: u16, dst: &[u8; 6]) -> libc::sockaddr_ll {
        let mut addr = [0u8; 8];
        addr[..6].copy_from_slice(dst);
        libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: protocol.to_be(),
            sll_ifindex: self.ifindex,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 6,
            sll_addr: addr,
        }
    }

    fn send(&self, frame: &[u8], protocol: u16, dst: &[u8; 6]) -> io::Result<()> {
        let sll = self.addr(protocol, dst);
        ocf::net::send_to(&self.fd, frame, &sll).map(|_| ())
    }

    /// Receive one frame, waiting at most `wait`; `None` on timeout.
    fn recv(&self, buf: &mut [u8], wait: Duration) -> io::Result<Option<usize>> {
        ocf::net::recv_within(&self.fd, buf, wait)
    }
}

fn mac_of(link: &Link) -> io::Result<[u8; 6]> {
    <[u8; 6]>::try_from(link.mac.as_slice()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{} has no Ethernet hardware address", link.name),
        )
    })
}

/// An ARP frame (Ethernet, IPv4).
pub fn arp_frame(
    op: u16,
    eth_dst: [u8; 6],
    sha: [u8; 6],
    spa: Ipv4Addr,
    tha: [u8; 6],
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&eth_dst);
    f.extend_from_slice(&sha);
    f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    f.extend_from_slice(&1u16.to_be_bytes()); // Ethernet
    f.extend_from_slice(&0x0800u16.to_be_bytes()); // IPv4
    f.push(6);
    f.push(4);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sha);
    f.extend_from_slice(&spa.octets());
    f.extend_from_slice(&tha);
    f.extend_from_slice(&tpa.octets());
    f
}

fn checksum(data: &[u8], mut sum: u32) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An unsolicited neighbour advertisement for `ip` (override flag set) to all nodes.
pub fn na_frame(mac: [u8; 6], ip: Ipv6Addr) -> Vec<u8> {
    let dst = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    let eth_dst = [0x33, 0x33, 0, 0, 0, 1];
    // ICMPv6: type 136, code 0, checksum, flags (O), target, option 2 (target LL address).
    let mut icmp = Vec::with_capacity(32);
    icmp.push(136);
    icmp.push(0);
    icmp.extend_from_slice(&[0, 0]);
    icmp.extend_from_slice(&0x2000_0000u32.to_be_bytes());
    icmp.extend_from_slice(&ip.octets());
    icmp.push(2);
    icmp.push(1);
    icmp.extend_from_slice(&mac);
    let len = icmp.len() as u32;
    let mut pseudo = Vec::with_capacity(40);
    pseudo.extend_from_slice(&ip.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&len.to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    let mut sum: u32 = 0;
    for c in pseudo.chunks_exact(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    let ck = checksum(&icmp, sum);
    icmp[2..4].copy_from_slice(&ck.to_be_bytes());

    let mut f = Vec::with_capacity(14 + 40 + icmp.len());
    f.extend_from_slice(&eth_dst);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ETH_P_IPV6.to_be_bytes());
    f.extend_from_slice(&0x6000_0000u32.to_be_bytes());
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.push(58); // ICMPv6
    f.push(255); // hop limit, required by RFC 4861
    f.extend_from_slice(&ip.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&icmp);
    f
}

/// What an announcement series achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Packets sent.
    pub sent: u32,
    /// Packets asked for.
    pub wanted: u32,
}

/// How to announce an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpMode {
    /// Gratuitous ARP REQUEST (sender = target = the address).
    Request,
    /// Gratuitous ARP REPLY, for equipment that ignores gratuitous requests.
    Reply,
}

fn series(
    count: u32,
    interval: Duration,
    deadline: Deadline,
    mut send_one: impl FnMut() -> io::Result<()>,
) -> io::Result<Sent> {
    let mut sent = 0;
    let mut next = Instant::now();
    while sent < count {
        if next > deadline.instant() {
            break;
        }
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        send_one()?;
        sent += 1;
        next += interval;
    }
    Ok(Sent {
        sent,
        wanted: count,
    })
}

/// A ready-to-send announcement: the socket and the frame.
pub struct Prepared {
    s: PacketSocket,
    frame: Vec<u8>,
    protocol: u16,
    dst: [u8; 6],
}

impl Prepared {
    /// Gratuitous ARP for `ip` on `link`.
    ///
    /// # Errors
    /// When the packet socket cannot be opened (no `CAP_NET_RAW`) or the link has no
    /// Ethernet address.
    pub fn arp(link: &Link, ip: Ipv4Addr, mode: ArpMode) -> io::Result<Prepared> {
        let mac = mac_of(link)?;
        let frame = match mode {
            ArpMode::Request => arp_frame(1, BROADCAST_MAC, mac, ip, [0; 6], ip),
            ArpMode::Reply => arp_frame(2, BROADCAST_MAC, mac, ip, BROADCAST_MAC, ip),
        };
        Ok(Prepared {
            s: PacketSocket::open(link.index, ETH_P_ARP, false)?,
            frame,
            protocol: ETH_P_ARP,
            dst: BROADCAST_MAC,
        })
    }

    /// Unsolicited neighbour advertisement for `ip` on `link`.
    ///
    /// # Errors
    /// As [`Prepared::arp`].
    pub fn na(link: &Link, ip: Ipv6Addr) -> io::Result<Prepared> {
        let mac = mac_of(link)?;
        Ok(Prepared {
            s: PacketSocket::open(link.index, ETH_P_IPV6, false)?,
            frame: na_frame(mac, ip),
            protocol: ETH_P_IPV6,
            dst: [0x33, 0x33, 0, 0, 0, 1],
        })
    }

    /// Send `count` packets `interval` apart, in the foreground, until `deadline`.
    ///
    /// # Errors
    /// When a send fails.
    pub fn send(&self, count: u32, interval: Duration, deadline: Deadline) -> io::Result<Sent> {
        series(count, interval, deadline, || {
            self.s.send(&self.frame, self.protocol, &self.dst)
        })
    }

    /// Send the series from a detached child process (own session, standard streams on
    /// /dev/null) that stops after `count` packets or after `limit`, whichever comes first,
    /// and return its pid. The child only calls async-signal-safe functions (`sendto`,
    /// `nanosleep`, `clock_gettime`, `_exit`) on data prepared before the fork.
    ///
    /// # Errors
    /// When /dev/null cannot be opened or fork fails.
    pub fn spawn(self, count: u32, interval: Duration, limit: Duration) -> io::Result<i32> {
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")?;
        let null_fd = null.as_raw_fd();
        // SAFETY: the child runs only async-signal-safe code on memory prepared before the
        // fork and leaves with _exit, never returning into the parent's code.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        if pid == 0 {
            // SAFETY: plain syscalls on valid descriptors; _exit never returns.
            unsafe {
                libc::setsid();
                libc::dup2(null_fd, 0);
                libc::dup2(null_fd, 1);
                libc::dup2(null_fd, 2);
            }
            let start = Instant::now();
            let mut next = start;
            let sll = self.s.addr(self.protocol, &self.dst);
            for _ in 0..count {
                let now = Instant::now();
                if next.duration_since(start) > limit {
                    break;
                }
                if next > now {
                    std::thread::sleep(next - now);
                }
                // The frame and address were prepared before the fork (nothing allocates).
                let _ = ocf::net::send_to(&self.s.fd, &self.frame, &sll);
                next += interval;
            }
            // SAFETY: terminate the child without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        Ok(pid)
    }
}

/// Probe for another holder of `ip` (RFC 5227: ARP REQUEST with sender address 0.0.0.0):
/// `probes` probes one second apart, listening until one second after the last or the
/// deadline. Returns the hardware address of a holder, if one answered.
///
/// # Errors
/// As [`Prepared::arp`].
pub fn arp_probe(
    link: &Link,
    ip: Ipv4Addr,
    probes: u32,
    deadline: Deadline,
) -> io::Result<Option<[u8; 6]>> {
    let mac = mac_of(link)?;
    let s = PacketSocket::open(link.index, ETH_P_ARP, true)?;
    let frame = arp_frame(1, BROADCAST_MAC, mac, Ipv4Addr::UNSPECIFIED, [0; 6], ip);
    let mut buf = [0u8; 1514];
    for _ in 0..probes {
        if deadline.expired() {
            break;
        }
        s.send(&frame, ETH_P_ARP, &BROADCAST_MAC)?;
        let until = Instant::now() + Duration::from_secs(1);
        let until = until.min(deadline.instant());
        loop {
            let now = Instant::now();
            if now >= until {
                break;
            }
            let Some(n) = s.recv(&mut buf, until - now)? else {
                continue;
            };
            if let Some(holder) = arp_claims(&buf[..n], ip, mac) {
                return Ok(Some(holder));
            }
        }
    }
    Ok(None)
}

/// Whether an Ethernet frame is an ARP packet from another host whose sender address is
/// `ip`; returns that host's hardware address.
pub fn arp_claims(frame: &[u8], ip: Ipv4Addr, own_mac: [u8; 6]) -> Option<[u8; 6]> {
    if frame.len() < 42 || frame[12..14] != ETH_P_ARP.to_be_bytes() {
        return None;
    }
    let arp = &frame[14..];
    if arp[0..2] != [0, 1] || arp[2..4] != [8, 0] || arp[4] != 6 || arp[5] != 4 {
        return None;
    }
    let sha: [u8; 6] = arp[8..14].try_into().ok()?;
    let spa = Ipv4Addr::new(arp[14], arp[15], arp[16], arp[17]);
    (spa == ip && sha != own_mac).then_some(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arp_frames_have_the_wire_layout() {
        let mac = [2, 0, 0, 0, 0, 1];
        let ip = Ipv4Addr::new(192, 0, 2, 7);
        let f = arp_frame(1, BROADCAST_MAC, mac, ip, [0; 6], ip);
        assert_eq!(f.len(), 42);
        assert_eq!(&f[12..14], &[8, 6]);
        assert_eq!(&f[20..22], &[0, 1]);
        assert_eq!(&f[28..32], &[192, 0, 2, 7]);
        assert_eq!(&f[38..42], &[192, 0, 2, 7]);
        assert_eq!(arp_claims(&f, ip, mac), None, "our own packet is no claim");
        assert_eq!(arp_claims(&f, ip, [2, 0, 0, 0, 0, 9]), Some(mac));
        assert_eq!(arp_claims(&f, Ipv4Addr::new(192, 0, 2, 8), [0; 6]), None);
    }

    #[test]
    fn na_checksum_verifies() {
        let mac = [2, 0, 0, 0, 0, 1];
        let ip: Ipv6Addr = "2001:db8::7".parse().unwrap();
        let f = na_frame(mac, ip);
        assert_eq!(f.len(), 14 + 40 + 32);
        assert_eq!(f[14 + 7], 255);
        // Recomputing the checksum over pseudo-header + message (checksum included) gives 0.
        let icmp = &f[54..];
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&f[22..38]);
        pseudo.extend_from_slice(&f[38..54]);
        pseudo.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 58]);
        let mut sum = 0u32;
        for c in pseudo.chunks_exact(2) {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        assert_eq!(checksum(icmp, sum), 0);
    }

    #[test]
    fn series_is_bounded_by_the_deadline() {
        let t = Instant::now();
        let mut n = 0;
        let s = series(
            100,
            Duration::from_millis(50),
            Deadline::after(Duration::from_millis(120)),
            || {
                n += 1;
                Ok(())
            },
        )
        .unwrap();
        assert!(t.elapsed() < Duration::from_millis(300));
        assert_eq!(s.sent, n);
        assert!((2..=4).contains(&s.sent), "{s:?}");
    }
}
