//! The benchmark rows of nfsserver and exportfs (issue 14): `ocfrs-bench-nfs` (bench/src/nfs.rs,
//! the runner of bench/) run inside the NFS guest, ours beside Debian's shell agents in the
//! same run; its table is printed in this case's log.
//!
//! In the test suite it is a short pass (2 runs per figure, debug binaries): it proves the
//! benchmark works, its figures are not a result. `bash bench/run.sh --nfs` selects this case
//! alone (`OCFRS_NFS_CASES=bench::` exactly), which makes it the real run: release binaries
//! (target/release, built by bench/run.sh), 50 runs per figure, 3 strace passes; the script
//! takes the table from the log into bench/results/nfs-latest.md (and bench/README.md).
use crate::common::agents_bin;
use crate::nfs::guest::{self, nfs_cases};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn nfs_rows() {
    let full = std::env::var("OCFRS_NFS_CASES").is_ok_and(|f| f == "bench::");
    let debug_dir = agents_bin().parent().unwrap().to_path_buf();
    let (dir, runs, straces) = if full {
        let release = debug_dir.parent().unwrap().join("release");
        (release, "50", "3")
    } else {
        (debug_dir, "2", "1")
    };
    let bench: PathBuf = dir.join("ocfrs-bench-nfs");
    let agents = dir.join("ocfrs-agents");
    for p in [&bench, &agents] {
        assert!(
            p.exists(),
            "{} missing: build it first (`cargo build --workspace --bins`, or bash bench/run.sh --nfs for release)",
            p.display()
        );
    }
    // what every monitor of both sides asks first: rpcbind answering in time
    let t = std::time::Instant::now();
    let rc = guest::run_bounded(
        Command::new("rpcinfo").args(["-p", "127.0.0.1"]),
        Duration::from_secs(30),
    );
    eprintln!(
        "rpcinfo -p before the benchmark: {rc:?} in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let out = PathBuf::from("/tmp/ocfrs-nc-bench.md");
    let rc = guest::run_bounded(
        Command::new(&bench)
            .arg("--agents-bin")
            .arg(&agents)
            .args(["--runs", runs, "--strace-runs", straces, "--markdown"])
            .arg(&out),
        Duration::from_secs(if full { 1700 } else { 280 }),
    );
    assert_eq!(
        rc,
        Some(0),
        "{} failed (its errors are above)",
        bench.display()
    );
    let table = std::fs::read_to_string(&out).unwrap();
    println!("<!-- bench-nfs:table -->\n{table}<!-- bench-nfs:table-end -->");
    for want in ["#### nfsserver", "#### exportfs", "processes spawned"] {
        assert!(table.contains(want), "no {want:?} in the table:\n{table}");
    }
}

nfs_cases! {
    "bench";
    nfs_rows timeout 1800,
}
