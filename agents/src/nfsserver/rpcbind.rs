//! Asking rpcbind which RPC programs are registered: PMAP_GETPORT (portmapper version 2,
//! RFC 1833) over TCP to 127.0.0.1:111, in process and bounded (no `rpcinfo` fork).

use ocf::Deadline;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// rpcbind's own program number.
pub const PMAP: u32 = 100_000;
/// rpc.statd (NSM).
pub const STATD: u32 = 100_024;
/// rpc.mountd.
pub const MOUNTD: u32 = 100_005;
/// nfsd.
pub const NFS: u32 = 100_003;
const IPPROTO_TCP: u32 = 6;

/// The GETPORT call for (`prog`, `vers`, TCP) with transaction id `xid`, record-marked.
pub fn getport_call(xid: u32, prog: u32, vers: u32) -> Vec<u8> {
    let words = [
        xid,
        0, // CALL
        2, // RPC version
        PMAP,
        2,
        3, // portmapper v2, PMAPPROC_GETPORT
        0,
        0, // credentials AUTH_NULL
        0,
        0, // verifier AUTH_NULL
        prog,
        vers,
        IPPROTO_TCP,
        0,
    ];
    let body: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    let mut out = (0x8000_0000u32 | body.len() as u32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

/// The port in a GETPORT reply (record mark included) to `xid`; 0: not registered.
///
/// # Errors
/// A message when the reply is not an accepted, successful answer to `xid`.
pub fn parse_getport_reply(xid: u32, reply: &[u8]) -> Result<u32, String> {
    let words: Vec<u32> = reply
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // mark, xid, REPLY, MSG_ACCEPTED, verifier (flavor, length 0), SUCCESS, port
    match words.as_slice() {
        [_, x, 1, 0, _, 0, 0, port, ..] if *x == xid => Ok(*port),
        [_, x, 1, 0, _, len, ..] if *x == xid && *len != 0 => {
            Err("rpcbind answered with a verifier body (unexpected)".into())
        }
        [_, x, 1, 0, _, 0, stat, ..] if *x == xid => {
            Err(format!("rpcbind refused the call (accept status {stat})"))
        }
        [_, x, 1, 1, ..] if *x == xid => Err("rpcbind denied the call".into()),
        _ => Err(format!("unexpected rpcbind reply ({} bytes)", reply.len())),
    }
}

/// The TCP port `prog` version `vers` is registered on (0: not registered), asked of the
/// rpcbind at `addr` within `deadline` (at most 5 s).
///
/// # Errors
/// A message when rpcbind does not answer in time or answers nonsense.
pub fn getport(addr: SocketAddr, prog: u32, vers: u32, deadline: Deadline) -> Result<u32, String> {
    let limit = deadline.within(Duration::from_secs(5)).remaining();
    if limit.is_zero() {
        return Err("no time left to ask rpcbind".into());
    }
    let mut s =
        TcpStream::connect_timeout(&addr, limit).map_err(|e| format!("rpcbind at {addr}: {e}"))?;
    let left = deadline
        .within(Duration::from_secs(5))
        .remaining()
        .max(Duration::from_millis(10));
    s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(left)).map_err(|e| e.to_string())?;
    let xid = std::process::id() ^ prog ^ (vers << 24);
    s.write_all(&getport_call(xid, prog, vers))
        .map_err(|e| format!("rpcbind at {addr}: {e}"))?;
    let mut buf = [0u8; 64];
    let mut got = 0;
    while got < 32 {
        match s.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) => return Err(format!("rpcbind at {addr} did not answer: {e}")),
        }
    }
    parse_getport_reply(xid, &buf[..got])
}

/// The local rpcbind.
pub fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 111))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_is_record_marked_getport() {
        let c = getport_call(7, STATD, 1);
        assert_eq!(c.len(), 4 + 14 * 4);
        assert_eq!(&c[..4], &[0x80, 0, 0, 56]);
        assert_eq!(&c[4..8], &7u32.to_be_bytes());
        assert_eq!(&c[44..48], &STATD.to_be_bytes());
    }

    #[test]
    fn replies() {
        let mk = |w: &[u32]| w.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<u8>>();
        assert_eq!(
            parse_getport_reply(9, &mk(&[0x8000_001c, 9, 1, 0, 0, 0, 0, 2049])),
            Ok(2049)
        );
        assert_eq!(
            parse_getport_reply(9, &mk(&[0x8000_001c, 9, 1, 0, 0, 0, 0, 0])),
            Ok(0)
        );
        assert!(parse_getport_reply(8, &mk(&[0x8000_001c, 9, 1, 0, 0, 0, 0, 1])).is_err());
        assert!(parse_getport_reply(9, &mk(&[0x8000_001c, 9, 1, 1, 0, 0])).is_err());
        assert!(parse_getport_reply(9, &[1, 2, 3]).is_err());
    }
}
