//! mysql as a promotable clone on a real 2-node cluster: Pacemaker promotes one MariaDB, the
//! other replicates from it (GTID), the agent keeps the promotion scores and the reader
//! attribute in the real CIB; a replica whose IO thread is stopped loses both; when the
//! promoted node crashes, the replica is promoted and holds every row written before.
//!
//! Fencing: relies on `stonith-enabled=false` (the harness's crash kills every process of the
//! node, which is what fencing guarantees; no shared storage is involved).
//!
//! Each node's MariaDB lives in the node's private `/run/ocfmysql` (one datadir per node, the
//! same path in the clone's parameters); the test initialises it and creates the replication
//! account in bootstrap mode (grant tables written directly: no CREATE USER there) before the
//! resource exists. Replication is asynchronous: the
//! test waits until the replica has every row before crashing the source, and says so.
use super::harness::*;
use std::time::Duration;

const PW: &str = "ocfmysql-Cl-Pw-3b9d";
const DIR: &str = "/run/ocfmysql";
const SOCK: &str = "/run/ocfmysql/mysqld.sock";

fn prepare(c: &Cluster, i: usize) {
    let d = c.node_path(i, DIR);
    std::fs::create_dir_all(d.join("data")).unwrap();
    std::fs::write(
        d.join("my.cnf"),
        format!(
            "[mysqld]\nserver-id={i}\nlog-bin=ocfmysql-bin\nbinlog_format=ROW\n\
             log_slave_updates=1\nport=3306\nbind-address={NET}.1{i}\nskip-name-resolve\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("users.sql"),
        format!(
            "INSERT INTO mysql.global_priv (Host, User, Priv) VALUES \
             ('%', 'ocfmysqlrepl', JSON_OBJECT('access', 18446744073709551615, \
             'plugin', 'mysql_native_password', 'authentication_string', PASSWORD('{PW}'))), \
             ('localhost', 'ocfmysqlrepl', JSON_OBJECT('access', 18446744073709551615, \
             'plugin', 'mysql_native_password', 'authentication_string', PASSWORD('{PW}')));\n"
        ),
    )
    .unwrap();
    c.on_ok(i, &["chown", "-R", "mysql:mysql", DIR]);
    c.on_ok(
        i,
        &[
            "mariadb-install-db",
            "--defaults-file=/run/ocfmysql/my.cnf",
            "--datadir=/run/ocfmysql/data",
            "--user=mysql",
            "--skip-test-db",
        ],
    );
    c.on_ok(
        i,
        &[
            "sh",
            "-c",
            "mariadbd --defaults-file=/run/ocfmysql/my.cnf --datadir=/run/ocfmysql/data \
             --user=mysql --bootstrap --skip-log-bin < /run/ocfmysql/users.sql",
        ],
    );
    std::fs::remove_file(d.join("users.sql")).unwrap();
}

/// `SELECT ...` as root over node `i`'s socket; `None` when the server does not answer.
fn query(c: &Cluster, i: usize, sql: &str) -> Option<String> {
    let out = c.on_within(
        i,
        &[
            "mariadb",
            &format!("--socket={SOCK}"),
            "-N",
            "-B",
            "-e",
            sql,
        ],
        Duration::from_secs(10),
    );
    if !out.success() {
        log(format!("{} on {}: {}", sql, name(i), out.one_line()));
    }
    out.success().then(|| out.stdout_text().trim().to_string())
}

/// The node whose server is writable (promoted), when exactly one of the running ones is.
fn writable(c: &Cluster, nodes: &[usize]) -> Option<usize> {
    let w: Vec<usize> = nodes
        .iter()
        .copied()
        .filter(|&i| query(c, i, "SELECT @@read_only").as_deref() == Some("0"))
        .collect();
    (w.len() == 1).then(|| w[0])
}

fn node_attr(c: &Cluster, node: &str, args: &[&str]) -> Option<String> {
    let i = c.any_node()?;
    let mut argv = vec!["crm_attribute", "-N", node, "-G", "-q"];
    argv.extend_from_slice(args);
    let out = c.on_within(i, &argv, Duration::from_secs(10));
    out.success().then(|| out.stdout_text().trim().to_string())
}

fn reader(c: &Cluster, node: &str) -> Option<String> {
    node_attr(c, node, &["-l", "reboot", "-n", "readable"])
}

fn score(c: &Cluster, node: &str) -> Option<String> {
    node_attr(c, node, &["-l", "reboot", "-n", "master-db"])
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, corosync, crmsh, mariadb-server (tests/run.sh setup)"
)]
fn mysql_promotable_clone_replicates_and_fails_over() {
    let mut c = Cluster::up(2);
    for i in 1..=2 {
        prepare(&c, i);
        c.run(&[
            "crm_attribute",
            "-N",
            &name(i),
            "-l",
            "forever",
            "-n",
            "db_mysql_master_IP",
            "-v",
            &format!("{NET}.1{i}"),
        ]);
    }
    c.crm_configure(&format!(
        "primitive db ocf:ocfrs:mysql params config={DIR}/my.cnf datadir={DIR}/data \
         pid={DIR}/mysqld.pid socket={SOCK} log={DIR}/error.log client_binary=/usr/bin/mariadb \
         replication_user=ocfmysqlrepl replication_passwd={PW} max_slave_lag=60 \
         op start timeout=60s op stop timeout=60s op promote timeout=60s \
         op demote timeout=60s op notify timeout=60s \
         op monitor interval=3s timeout=30s role=Promoted \
         op monitor interval=4s timeout=30s role=Unpromoted\n\
         clone dbc db meta promotable=true notify=true promoted-max=1 clone-max=2\n"
    ));
    let mut source = 0;
    c.wait_for(
        "one promoted (writable) server and one replica",
        WAIT,
        |c| {
            if c.view()?.locate("db").len() != 2 {
                return Some(false);
            }
            // Only after the promotion: a replica's mysqld is writable for a moment during
            // its start, before the agent sets read_only.
            let i = c.any_node()?;
            let located = c.on_within(
                i,
                &["crm_resource", "--locate", "-r", "db"],
                Duration::from_secs(10),
            );
            if !located.stdout_text().contains("Promoted") {
                return Some(false);
            }
            source = writable(c, &[1, 2])?;
            Some(true)
        },
    );
    let replica = 3 - source;
    log(format!(
        "source {}, replica {}",
        name(source),
        name(replica)
    ));
    query(
        &c,
        source,
        "CREATE DATABASE ocfmysqlc; CREATE TABLE ocfmysqlc.t (id INT PRIMARY KEY); \
         INSERT INTO ocfmysqlc.t VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15), (16), (17), (18), (19), (20)",
    )
    .unwrap_or_else(|| c.fail("write on the source"));
    c.wait_for("the replica has the 20 rows", WAIT, |c| {
        Some(query(c, replica, "SELECT COUNT(*) FROM ocfmysqlc.t").as_deref() == Some("20"))
    });
    c.wait_for(
        "reader 1 on both nodes, a score for the replica",
        WAIT,
        |c| {
            Some(
                reader(c, &name(source)).as_deref() == Some("1")
                    && reader(c, &name(replica)).as_deref() == Some("1")
                    && score(c, &name(replica)).is_some(),
            )
        },
    );
    // A broken replica (IO thread stopped): the next monitor clears its reader attribute and
    // removes its promotion score in the real CIB; repaired, both come back.
    query(&c, replica, "STOP SLAVE IO_THREAD").unwrap_or_else(|| c.fail("stop IO thread"));
    c.wait_for("reader 0 and no score on the broken replica", WAIT, |c| {
        Some(
            reader(c, &name(replica)).as_deref() == Some("0") && score(c, &name(replica)).is_none(),
        )
    });
    query(&c, replica, "START SLAVE").unwrap_or_else(|| c.fail("start slave"));
    c.wait_for("reader 1 and a score on the repaired replica", WAIT, |c| {
        Some(
            reader(c, &name(replica)).as_deref() == Some("1") && score(c, &name(replica)).is_some(),
        )
    });
    // The source's node crashes: the replica is promoted and has every row.
    c.crash(source);
    c.wait_for("the surviving replica promoted (writable)", WAIT, |c| {
        Some(writable(c, &[replica]) == Some(replica))
    });
    assert_eq!(
        query(&c, replica, "SELECT COUNT(*) FROM ocfmysqlc.t").as_deref(),
        Some("20"),
        "{}",
        c.report()
    );
    query(&c, replica, "INSERT INTO ocfmysqlc.t VALUES (21)")
        .unwrap_or_else(|| c.fail("write on the new source"));
    c.cib_delete("dbc");
    c.wait_stopped("db");
}
