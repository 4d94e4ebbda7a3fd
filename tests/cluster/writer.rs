//! The database client of the MariaDB scenarios (`lamp`, `soak`): numbered rows, one commit
//! each, inserted through the floating address from the client namespace, with the time of
//! every acknowledgement. A commit whose acknowledgement a failure swallowed is found again
//! as a duplicate key (1062) when retried: present, never acknowledged, not counted (kept in
//! `unacked`).
use super::harness::*;
use ocf::Deadline;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `dir/my.cnf` (the server's: every address, no binary log, the ext4 `lost+found` ignored)
/// and `dir/client.cnf` (0600: `user` with `password` through `vip`); returns the latter's
/// path.
pub fn mysql_files(dir: &str, vip: &str, user: &str, password: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let write = |path: &str, text: &str, mode: u32| {
        std::fs::write(path, text).unwrap_or_else(|e| panic!("{path}: {e}"));
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    write(
        &format!("{dir}/my.cnf"),
        "[mysqld]\nport=3306\nbind-address=0.0.0.0\nskip-name-resolve\nskip-log-bin\n\
         ignore-db-dirs=lost+found\n",
        0o644,
    );
    let client = format!("{dir}/client.cnf");
    write(
        &client,
        &format!("[client]\nhost={vip}\nport=3306\nuser={user}\npassword=\"{password}\"\n"),
        0o600,
    );
    client
}

/// `ocf:ocfrs:mysql` primitive `id`: the server of `dir/my.cnf` (see [`mysql_files`]) on the
/// datadir `datadir` (initialised by the first start), with its pid file, socket and error
/// log under `run`.
pub fn mysql_primitive(
    id: &str,
    dir: &str,
    datadir: &str,
    run: &str,
    ops: &[(&str, &str, &str, &str)],
) -> String {
    primitive(
        id,
        "ocf:ocfrs:mysql",
        &[
            ("config", &format!("{dir}/my.cnf")),
            ("datadir", datadir),
            ("pid", &format!("{run}/mysqld.pid")),
            ("socket", &format!("{run}/mysqld.sock")),
            ("log", &format!("{run}/error.log")),
            ("enable_creation", "true"),
            ("client_binary", "/usr/bin/mariadb"),
        ],
        &[],
        ops,
    )
}

/// One insert of row `n` into `table` through the client options file `cnf`: `Ok` when the
/// server acknowledged it, else the client's error.
pub fn insert(cnf: &str, table: &str, n: u32) -> Result<(), String> {
    let (rc, _, err) = host(
        &[
            "ip",
            "netns",
            "exec",
            CLIENT_NS,
            "mariadb",
            &format!("--defaults-extra-file={cnf}"),
            "--connect-timeout=2",
            "-e",
            &format!("INSERT INTO {table} VALUES ({n})"),
        ],
        Duration::from_secs(10),
    );
    if rc == 0 {
        Ok(())
    } else {
        Err(err.trim().to_string())
    }
}

/// The writer thread and what it saw.
pub struct Writer {
    acked: Arc<Mutex<Vec<(u32, Instant)>>>,
    unacked: Arc<Mutex<Vec<u32>>>,
    last_error: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Start writing rows 1, 2, ... into `table` through the client options file `cnf`.
    pub fn start(cnf: String, table: &str) -> Writer {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let unacked = Arc::new(Mutex::new(Vec::new()));
        let last_error = Arc::new(Mutex::new(String::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, u, e, s) = (
            acked.clone(),
            unacked.clone(),
            last_error.clone(),
            stop.clone(),
        );
        let table = table.to_string();
        let thread = std::thread::spawn(move || {
            let mut n = 1;
            while !s.load(Ordering::SeqCst) {
                match insert(&cnf, &table, n) {
                    Ok(()) => {
                        a.lock().unwrap().push((n, Instant::now()));
                        n += 1;
                    }
                    Err(err) if err.contains("ERROR 1062") => {
                        u.lock().unwrap().push(n);
                        n += 1;
                    }
                    Err(err) => {
                        *e.lock().unwrap() = err;
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        });
        Writer {
            acked,
            unacked,
            last_error,
            stop,
            thread: Some(thread),
        }
    }

    /// How many rows were acknowledged so far.
    pub fn acked_count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// Wait up to `within` for `more` acknowledgements after `since` (the cluster test
    /// fails with the client's last error otherwise); the time of the first one.
    pub fn wait_acks_after(
        &self,
        c: &Cluster,
        since: Instant,
        more: usize,
        within: Duration,
    ) -> Instant {
        let got = Deadline::after(within).wait_until(Duration::from_millis(100), || {
            let a = self.acked.lock().unwrap();
            let after: Vec<Instant> = a.iter().map(|(_, t)| *t).filter(|t| *t > since).collect();
            (after.len() >= more).then(|| after[0])
        });
        got.unwrap_or_else(|| {
            c.fail(&format!(
                "service not restored: fewer than {more} rows acknowledged in {within:?}; \
                 last client error: {}",
                self.last_error.lock().unwrap()
            ))
        })
    }

    /// The longest time without an acknowledgement since `t0` (from `t0` to the first
    /// acknowledgement after it, then between consecutive ones): the outage.
    pub fn longest_gap_since(&self, t0: Instant) -> Duration {
        let a = self.acked.lock().unwrap();
        let mut last = t0;
        let mut gap = Duration::ZERO;
        for (_, t) in a.iter().filter(|(_, t)| *t > t0) {
            gap = gap.max(*t - last);
            last = *t;
        }
        gap
    }

    /// Stop writing; the acknowledged rows and those committed without acknowledgement.
    pub fn finish(mut self) -> (Vec<u32>, Vec<u32>) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        let acked = self.acked.lock().unwrap().iter().map(|(n, _)| *n).collect();
        let unacked = self.unacked.lock().unwrap().clone();
        (acked, unacked)
    }
}
