//! Logging as `ocf_log` does it, read back where an admin looks: a real syslog daemon
//! (busybox syslogd, started by the test on a private `/dev/log`), `HA_LOGFILE` and
//! `HA_DEBUGLOG` files. (Pacemaker's own log: `tests/cluster/switch_provider.rs`.)
use crate::common::{agent, dummy_logs_in_private_namespace, sh, TempDir};
use std::process::Command;

/// Waits (up to 3 s) until the ERROR line is in syslogd's file.
const WAIT_FOR_ERROR: &str = r#"i=0; while ! grep -q "ERROR:" "$t/messages" 2>/dev/null && [ $i -lt 60 ]; do sleep 0.05; i=$((i+1)); done
"#;

/// busybox syslogd on the private `/dev/log` (killed by pid on exit): libc's syslog(3) always
/// writes to `/dev/log`, and the host's (or nobody's) must not be touched.
const SYSLOGD: &str = r#"
busybox syslogd -n -O "$t/messages" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
i=0; while [ ! -S /dev/log ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
[ -S /dev/log ] || { echo "syslogd did not create /dev/log" >&2; exit 97; }
"#;

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (mount namespace) and busybox (tests/run.sh setup)"
)]
fn syslog_lines_have_ocf_logs_tag_facility_and_level() {
    let t = TempDir::new("ocfadm-syslog");
    let (_, err) = dummy_logs_in_private_namespace("ocfadm-log", SYSLOGD, WAIT_FOR_ERROR, t.path());
    let messages = std::fs::read_to_string(t.join("messages")).unwrap_or_default();
    let line = |prio: &str, text: &str| {
        messages.lines().find(|l| {
            l.contains(&format!(" {prio} Dummy(ocfadm-log)[")) && l.contains(&format!("]: {text}"))
        })
    };
    assert!(
        line(
            "local3.warn",
            "WARNING: ignoring unknown parameter ocfadm_unknown"
        )
        .is_some(),
        "{messages}"
    );
    assert!(line("local3.err", "ERROR: ").is_some(), "{messages}");
    // With syslog configured, stderr carries the exit reason only (Pacemaker's execd logs it).
    assert!(!err.contains("WARNING"), "{err}");
    assert!(err.contains("ocf-exit-reason:"), "{err}");
}

#[test]
fn logfile_and_debuglog_lines_as_ocf_log_writes_them() {
    let t = TempDir::new("ocfadm-logfile");
    let (log, dbg) = (t.join("ha.log"), t.join("ha-debug.log"));
    let (rc, _, err) = sh(Command::new(agent("Dummy"))
        .arg("validate-all")
        .env_clear()
        .env("OCF_ROOT", "/usr/lib/ocf")
        .env("OCF_RESOURCE_INSTANCE", "ocfadm-file")
        .env("OCF_RESKEY_ocfadm_unknown", "1")
        .env("HA_LOGFILE", &log)
        .env("HA_DEBUGLOG", &dbg)
        .env("HA_debug", "1"));
    assert_eq!(rc, 0, "{err}");
    let log = std::fs::read_to_string(&log).expect("HA_LOGFILE written");
    let dbg = std::fs::read_to_string(&dbg).expect("HA_DEBUGLOG written");
    let warn = "]: WARNING: ignoring unknown parameter ocfadm_unknown";
    for (name, text) in [("HA_LOGFILE", &log), ("HA_DEBUGLOG", &dbg)] {
        let l = text
            .lines()
            .find(|l| l.contains(warn))
            .unwrap_or_else(|| panic!("{name}: {text}"));
        // "<Mon DD HH:MM:SS> Dummy(ocfadm-file)[pid]: WARNING: ..."
        let (date, rest) = l.split_at(15);
        assert_eq!(date.matches(':').count(), 2, "{name}: {l}");
        assert!(rest.starts_with(" Dummy(ocfadm-file)["), "{name}: {l}");
    }
    assert!(
        !log.contains("DEBUG:"),
        "debug lines only in HA_DEBUGLOG: {log}"
    );
    assert!(
        err.is_empty(),
        "nothing on stderr when files are configured: {err}"
    );
}
