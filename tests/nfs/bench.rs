//! The benchmark rows of nfsserver and exportfs (issue 14): `ocfrs-bench-nfs` (bench/src/nfs.rs,
//! the runner of bench/) run inside the NFS guest, ours beside Debian's shell agents in the
//! same run; its table is printed in this case's log.
//!
//! In the test suite it only checks that the benchmark can run (its binary starts, the shell
//! agents and strace are there): a measuring pass costs minutes in the emulated guest.
//! `bash bench/run.sh --nfs` selects this case alone (`OCFRS_NFS_CASES=bench::` exactly),
//! which makes it the real run: the per-agent release binaries `ocfrs-nfsserver` and
//! `ocfrs-exportfs` as `make install` ships them (target/release, built by bench/run.sh),
//! 8 runs per figure, 1 strace pass; the script takes the table from the log into
//! bench/results/nfs-latest.md (and bench/README.md).
use crate::common::agents_bin;
use crate::nfs::guest::{self, nfs_cases};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn nfs_rows() {
    let full = std::env::var("OCFRS_NFS_CASES").is_ok_and(|f| f == "bench::");
    let debug_dir = agents_bin().parent().unwrap().to_path_buf();
    let dir = if full {
        debug_dir.parent().unwrap().join("release")
    } else {
        debug_dir
    };
    let bench: PathBuf = dir.join("ocfrs-bench-nfs");
    for p in [
        bench.clone(),
        dir.join("ocfrs-nfsserver"),
        dir.join("ocfrs-exportfs"),
        PathBuf::from("/usr/lib/ocf/resource.d/heartbeat/nfsserver"),
        PathBuf::from("/usr/lib/ocf/resource.d/heartbeat/exportfs"),
        PathBuf::from("/usr/bin/strace"),
    ] {
        assert!(
            p.exists(),
            "{} missing (the benchmark's binaries: `cargo build --workspace --bins`, or \
             bash bench/run.sh --nfs for release; the rest: tests/run.sh setup)",
            p.display()
        );
    }
    if !full {
        // The suite's check: the benchmark's prerequisites are here and it starts; a
        // measuring pass costs about 6 minutes in the emulated guest (a shell agent's call
        // forks about 30 processes: 3-15 s per call under TCG), so it runs only under
        // bash bench/run.sh --nfs.
        let (rc, out, err) = crate::common::sh(Command::new(&bench).arg("--help"));
        assert_eq!(rc, 0, "{} --help: {out}{err}", bench.display());
        assert!(out.contains("--agents-dir"), "{out}");
        let (rc, out, err) = crate::common::sh(Command::new(&bench).args(["--runs", "0"]));
        assert_ne!(rc, 0, "--runs 0 accepted: {out}{err}");
        return;
    }
    let out = PathBuf::from("/tmp/ocfrs-nc-bench.md");
    let rc = guest::run_bounded(
        Command::new(&bench)
            .arg("--agents-dir")
            .arg(&dir)
            .args(["--runs", "8", "--strace-runs", "1", "--markdown"])
            .arg(&out),
        Duration::from_secs(2900),
    );
    assert_eq!(
        rc,
        Some(0),
        "{} failed (its errors are above)",
        bench.display()
    );
    // the runner printed the table between its markers (bench/run.sh takes it from there)
    let table = std::fs::read_to_string(&out).unwrap();
    for want in ["#### nfsserver", "#### exportfs", "processes spawned"] {
        assert!(table.contains(want), "no {want:?} in the table:\n{table}");
    }
}

nfs_cases! {
    "bench";
    nfs_rows timeout 3000,
}
