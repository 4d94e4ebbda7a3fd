//! nfsserver (ours, direct mode and systemd-mode detection) in the NFS guest.
use crate::nfs::guest::nfs_cases;

/// rpcbind starts and answers in the guest (what the agent's direct mode builds on).
fn rpcbind_runs() {
    let started = crate::nfs::guest::start_rpcbind();
    assert!(
        std::net::TcpStream::connect("127.0.0.1:111").is_ok(),
        "rpcbind does not listen on 127.0.0.1:111"
    );
    if let Some(pid) = started {
        crate::nfs::guest::stop_pid(pid);
    }
}

nfs_cases! {
    "nfsserver";
    rpcbind_runs,
}
