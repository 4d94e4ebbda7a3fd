//! What a promotable mysql publishes in the cluster (the shell agent's names, so the two can
//! be mixed during a migration):
//!
//! * the reader attribute (`reader_attribute`, node attribute, lifetime reboot): 1 where reads
//!   may go;
//! * `<instance>_REPL_INFO` (cluster property, set `mysql_replication`): `host|file|pos` of
//!   the source, written on promote;
//! * `<instance>_mysql_master_IP` (node attribute, permanent, set by the admin): the address
//!   replicas use to reach the source on that node instead of its node name.
//!
//! The node attributes go through the SDK's [`NodeAttributes`] (`attrd_updater` for the
//! transient reader attribute, `crm_attribute -l forever` for the address); the cluster
//! property through `crm_attribute --type crm_config`. Every call has a deadline and a
//! failure is reported to the caller, which decides whether it matters (a monitor only logs it). The reader attribute is written only when it changes:
//! the last value written is kept in this instance's run directory (tmpfs, emptied at boot
//! like the attribute itself), so a steady monitor forks nothing here.

use ocf::cluster::{Lifetime, NodeAttributes};
use ocf::process::Cmd;
use ocf::{cluster, files, Context, Error, Result};
use std::time::Duration;

/// The instance name without a clone suffix (`db:1` → `db`), as the shell agent names its
/// cluster-wide attributes.
pub fn instance_base(cx: &Context) -> String {
    cx.instance
        .split(':')
        .next()
        .unwrap_or(&cx.instance)
        .to_string()
}

fn crm_attribute() -> Cmd {
    super::quiet_cmd("crm_attribute")
}

fn run(cx: &Context, cmd: &Cmd) -> Result<String> {
    let out = cmd.run(cx.deadline.within(Duration::from_secs(10)))?;
    if out.success() {
        Ok(out.stdout_text().trim().to_string())
    } else {
        Err(Error::generic(format!(
            "crm_attribute failed: {}",
            out.one_line()
        )))
    }
}

/// Set the reader attribute on this node (transient, through the SDK's node attributes),
/// unless it was already set to `value` by us.
///
/// # Errors
/// 1 when the attribute manager refuses it.
pub fn set_reader(cx: &Context, name: &str, value: bool) -> Result<()> {
    let v = if value { "1" } else { "0" };
    let cache = files::instance_file(cx, "reader");
    if files::read_if_exists(&cache)?.as_deref().map(str::trim) == Some(v) {
        return Ok(());
    }
    let node = cluster::local_node_name(cx);
    NodeAttributes::new().node(&node).set(
        name,
        v,
        Lifetime::Reboot,
        cx.deadline.within(Duration::from_secs(10)),
    )?;
    let _ = cluster::state_dir(cx);
    files::write_atomic(&cache, v.as_bytes())
}

/// Forget the cached reader value (after stop, the next start writes it again).
pub fn forget_reader(cx: &Context) {
    let _ = files::remove_if_exists(&files::instance_file(cx, "reader"));
}

/// crm_attribute on the cluster property `<instance>_REPL_INFO` (set `mysql_replication`).
fn repl_info_attr(cx: &Context) -> Cmd {
    let name = format!("{}_REPL_INFO", instance_base(cx));
    crm_attribute().args([
        "--type",
        "crm_config",
        "--name",
        &name,
        "-s",
        "mysql_replication",
    ])
}

/// Read `<instance>_REPL_INFO`; `None` when unset.
///
/// # Errors
/// 1 when crm_attribute cannot be run.
pub fn repl_info(cx: &Context) -> Result<Option<String>> {
    let out = repl_info_attr(cx)
        .args(["--query", "-q"])
        .run(cx.deadline.within(Duration::from_secs(10)))?;
    let text = out.stdout_text().trim().to_string();
    Ok((out.success() && !text.is_empty()).then_some(text))
}

/// Publish `<instance>_REPL_INFO`.
///
/// # Errors
/// 1 when crm_attribute fails.
pub fn set_repl_info(cx: &Context, value: &str) -> Result<()> {
    run(cx, &repl_info_attr(cx).args(["-v", value])).map(|_| ())
}

/// The address replicas should use to reach the source on `node`: the permanent node
/// attribute `<instance>_mysql_master_IP` when set, else the node name.
pub fn source_address(cx: &Context, node: &str) -> String {
    let name = format!("{}_mysql_master_IP", instance_base(cx));
    NodeAttributes::new()
        .node(node)
        .get(
            &name,
            Lifetime::Forever,
            cx.deadline.within(Duration::from_secs(10)),
        )
        .ok()
        .flatten()
        .unwrap_or_else(|| node.to_string())
}
