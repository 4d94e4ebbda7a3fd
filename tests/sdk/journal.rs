//! Logging to the journal when systemd-journald runs, read back with journalctl. journald
//! runs without systemd as PID 1: the test starts `/lib/systemd/systemd-journald` by hand in a
//! private mount namespace whose `/run/systemd` and `/run/log` are fresh tmpfs (journald
//! creates its sockets under `/run/systemd/journal` and a volatile journal under
//! `/run/log/journal`) and whose `/dev` holds only null/zero/random nodes (no `/dev/log`, no
//! `/dev/kmsg`: the lines can only have come through the native socket, and journald reads no
//! kernel messages). journald is killed by PID on exit; its journal vanishes with the
//! namespace.
use crate::common::{dummy_logs_in_private_namespace, TempDir};

/// journald on fresh tmpfs under /run (killed by pid on exit).
const JOURNALD: &str = r#"
mkdir -p /run/systemd /run/log
mount -t tmpfs ocfrs-adm-journal /run/systemd
mount -t tmpfs ocfrs-adm-journal /run/log
/lib/systemd/systemd-journald > "$t/journald.out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
i=0; while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
[ -S /run/systemd/journal/socket ] || { echo "journald did not start" >&2; cat "$t/journald.out" >&2; exit 97; }
"#;

/// The instance's entries in journalctl's export format, once both lines are in.
const READ_BACK: &str = r#"
i=0
while [ $i -lt 100 ]; do
  journalctl -D /run/log/journal --no-pager -o export OCF_RESOURCE_INSTANCE=ocfrs-adm-jrn > "$t/export" 2>&1
  [ "$(grep -c '^MESSAGE=' "$t/export")" -ge 2 ] && break
  sleep 0.05; i=$((i+1))
done
cat "$t/export"
"#;

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root (mount namespace) and systemd-journald (tests/run.sh setup)"
)]
fn lines_reach_a_running_journald_with_their_fields() {
    let t = TempDir::new("adm-journal");
    let (out, err) =
        dummy_logs_in_private_namespace("ocfrs-adm-jrn", JOURNALD, READ_BACK, t.path());
    // journalctl's export format: one KEY=value per line, entries separated by a blank line.
    let entries: Vec<Vec<&str>> = out
        .split("\n\n")
        .map(|e| e.lines().collect())
        .filter(|e: &Vec<&str>| e.iter().any(|l| l.starts_with("MESSAGE=")))
        .collect();
    let find = |msg: &str| {
        entries
            .iter()
            .find(|e| e.iter().any(|l| l.starts_with(&format!("MESSAGE={msg}"))))
            .unwrap_or_else(|| panic!("no journal entry {msg:?} in:\n{out}\n{err}"))
    };
    let warn = find("WARNING: ignoring unknown parameter ocfadm_unknown");
    for f in [
        "PRIORITY=4",
        "SYSLOG_FACILITY=19",
        "SYSLOG_IDENTIFIER=Dummy(ocfrs-adm-jrn)",
        "OCF_RESOURCE_TYPE=Dummy",
        "OCF_RESOURCE_INSTANCE=ocfrs-adm-jrn",
    ] {
        assert!(warn.contains(&f), "{f} missing in {warn:?}");
    }
    assert!(
        warn.iter().any(|l| l.starts_with("SYSLOG_PID=")),
        "{warn:?}"
    );
    let error = find("ERROR: ");
    assert!(error.contains(&"PRIORITY=3"), "{error:?}");
    // The exit reason is still on stderr for Pacemaker; the log line went to the journal.
    assert!(err.contains("ocf-exit-reason:"), "{err}");
    assert!(!err.contains("WARNING"), "{err}");
}
