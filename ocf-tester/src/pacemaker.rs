//! `--via-pacemaker`: run the agent's actions through Pacemaker's own executor code (its
//! services library, as `crm_resource --force-*` uses it) instead of the tester's imitation.
//!
//! How: the agent is made visible as `ocf:ocf-tester-PID:TYPE` (a symlink in
//! `$OCF_ROOT/resource.d/ocf-tester-PID/`, removed at the end), and every run of `start`,
//! `stop`, `monitor`, `promote`, `demote` and `validate-all` is
//! `crm_resource -r NAME --force-start|--force-stop|--force-check[=DEPTH]|--force-promote|
//! --force-demote|--validate --output-as xml --timeout MS` against a scratch CIB
//! (`CIB_file`, one primitive with the run's parameters): no cluster has to run. `meta-data`
//! is `crm_resource --show-metadata ocf:PROVIDER:TYPE`. Pacemaker sets the agent's
//! environment, its timeout and its process handling; variables a check adds (clone
//! notification variables, `OCF_TESTER_FAIL_HAVE_BINARY`) reach the agent through
//! crm_resource's own environment, which the services library passes on. Actions
//! crm_resource cannot run (`notify`, `migrate_*`, `reload*`, unknown actions) and the
//! tester's portability variants (empty environment, unprivileged, closed stdio) use the
//! imitation.
//!
//! Differences between the imitation and the real executor are collected as findings: the
//! environment each gives the agent (a small probe agent dumps it), and the code of every
//! read-only run (`meta-data`, `validate-all`, `monitor`), which is run both ways.

use crate::exec::{spawn_bounded, RunResult, Runner, Spec, PACEMAKER_PATH};
use crate::inspect::Document;
use ocf::Env;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// What `--via-pacemaker` needs and holds for one run of the tester.
pub struct Executor {
    /// Provider directory created for the agent (removed on drop).
    provider_dir: PathBuf,
    /// Provider name (`ocf-tester-PID`).
    provider: String,
    /// Agent type (the link's name).
    type_name: String,
    /// Scratch directory for the CIB files (removed on drop).
    scratch: PathBuf,
    /// The resource id in the scratch CIB.
    id: String,
    /// Counter for scratch CIB file names (runs may be concurrent).
    seq: AtomicUsize,
    /// Differences found between the imitation and Pacemaker's executor.
    pub findings: Mutex<Vec<String>>,
    /// Pacemaker's version (`crm_resource --version`).
    pub version: String,
}

/// crm_resource's binary.
const CRM_RESOURCE: &str = "crm_resource";

impl Executor {
    /// Prepare: check crm_resource, link the agent under a private provider, make the
    /// scratch directory.
    ///
    /// # Errors
    /// A sentence saying what is missing (crm_resource, root, the OCF root).
    pub fn new(
        agent: &Path,
        type_name: &str,
        instance: &str,
        ocf_root: &str,
    ) -> Result<Executor, String> {
        let ver = std::process::Command::new(CRM_RESOURCE)
            .arg("--version")
            .env("PATH", PACEMAKER_PATH)
            .output()
            .map_err(|e| format!("--via-pacemaker needs Pacemaker's crm_resource (package pacemaker-cli-utils): {e}"))?;
        let version = String::from_utf8_lossy(&ver.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        if !nix::unistd::Uid::effective().is_root() {
            return Err("--via-pacemaker needs root (it adds a provider directory under the OCF root and runs the agent as Pacemaker does)".into());
        }
        let abs = std::fs::canonicalize(agent).map_err(|e| format!("{}: {e}", agent.display()))?;
        let provider = format!("ocf-tester-{}", std::process::id());
        let provider_dir = Path::new(ocf_root).join("resource.d").join(&provider);
        std::fs::create_dir_all(&provider_dir)
            .map_err(|e| format!("{}: {e}", provider_dir.display()))?;
        let type_name = sanitize(type_name);
        let link = provider_dir.join(&type_name);
        let _ = std::fs::remove_file(&link);
        let scratch = std::env::temp_dir().join(format!("ocf-tester-pcmk-{}", std::process::id()));
        let ex = Executor {
            provider_dir: provider_dir.clone(),
            provider,
            type_name: type_name.clone(),
            scratch: scratch.clone(),
            id: sanitize(instance),
            seq: AtomicUsize::new(0),
            findings: Mutex::new(Vec::new()),
            version,
        };
        std::os::unix::fs::symlink(&abs, &link).map_err(|e| format!("{}: {e}", link.display()))?;
        std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        Ok(ex)
    }

    /// `ocf:PROVIDER:TYPE` of the agent as Pacemaker sees it here.
    pub fn spec_name(&self) -> String {
        format!("ocf:{}:{}", self.provider, self.type_name)
    }

    fn finding(&self, f: String) {
        if let Ok(mut v) = self.findings.lock() {
            if !v.contains(&f) {
                v.push(f);
            }
        }
    }

    /// A scratch CIB with one primitive carrying `params`.
    fn cib(&self, params: &[(String, String)]) -> Result<PathBuf, String> {
        let esc = |t: &str| quick_xml::escape::escape(t).into_owned();
        let mut nv = String::new();
        for (i, (k, v)) in params.iter().enumerate() {
            nv.push_str(&format!(
                "<nvpair id=\"{}-ia-{i}\" name=\"{}\" value=\"{}\"/>",
                esc(&self.id),
                esc(k),
                esc(v)
            ));
        }
        let xml = format!(
            "<cib crm_feature_set=\"3.0.0\" validate-with=\"pacemaker-3.0\" epoch=\"1\" num_updates=\"0\" admin_epoch=\"0\">\
<configuration><crm_config><cluster_property_set id=\"ocf-tester-opts\">\
<nvpair id=\"ocf-tester-opts-stonith\" name=\"stonith-enabled\" value=\"false\"/></cluster_property_set></crm_config>\
<nodes/><resources><primitive id=\"{id}\" class=\"ocf\" provider=\"{p}\" type=\"{t}\">\
<instance_attributes id=\"{id}-ia\">{nv}</instance_attributes></primitive></resources>\
<constraints/></configuration><status/></cib>\n",
            id = esc(&self.id),
            p = esc(&self.provider),
            t = esc(&self.type_name),
        );
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        let path = self.scratch.join(format!("cib-{n}.xml"));
        std::fs::write(&path, xml).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    /// Run `spec` through crm_resource, or `None` when it has to use the imitation.
    pub fn execute(
        &self,
        r: &Runner,
        spec: &Spec,
        action: &str,
        limit: Duration,
    ) -> Option<RunResult> {
        if spec.empty_env || spec.user.is_some() || spec.close_stdio {
            return None;
        }
        let op: Vec<String> = match action {
            "start" => vec!["--force-start".into()],
            "stop" => vec!["--force-stop".into()],
            "monitor" => vec![match spec.depth {
                Some(d) => format!("--force-check={d}"),
                None => "--force-check".into(),
            }],
            "promote" => vec!["--force-promote".into()],
            "demote" => vec!["--force-demote".into()],
            "validate-all" => vec!["--validate".into()],
            "meta-data" => vec![format!("--show-metadata={}", self.spec_name())],
            _ => return None,
        };
        let params = spec.params.clone().unwrap_or_else(|| r.params.clone());
        let mut env = Env::new();
        env.set("PATH", PACEMAKER_PATH);
        if r.debug {
            env.set("HA_debug", "1");
        }
        for (k, v) in r.extra_env.iter().chain(&spec.set) {
            env.set(k, v);
        }
        let mut argv: Vec<String> = Vec::new();
        if action != "meta-data" {
            let cib = match self.cib(&params) {
                Ok(c) => c,
                Err(e) => {
                    let mut res = RunResult::blank(action, limit);
                    res.rc = Some(1);
                    res.spawn_error = Some(e);
                    return Some(res);
                }
            };
            env.set("CIB_file", cib.to_string_lossy().as_ref());
            argv.extend(["-r".to_string(), self.id.clone()]);
            argv.extend(op);
            argv.extend([
                "--output-as".to_string(),
                "xml".to_string(),
                "--timeout".to_string(),
                format!("{}ms", limit.as_millis()),
            ]);
        } else {
            argv.extend(op);
        }
        let crm = Path::new("/usr/sbin/crm_resource");
        let prog = if crm.exists() {
            crm.to_path_buf()
        } else {
            PathBuf::from(CRM_RESOURCE)
        };
        // crm_resource enforces the limit itself; ours is a safety net a little later.
        let mut all = argv.clone();
        let first = all.remove(0);
        let res = spawn_argv(&prog, &first, &all, &env, limit + Duration::from_secs(5));
        let mut out = RunResult::blank(action, limit);
        out.elapsed = res.elapsed;
        out.timed_out = res.timed_out;
        out.spawn_error = res.spawn_error.clone();
        if action == "meta-data" {
            out.rc = res.rc;
            out.stdout = res.stdout;
            out.stderr = res.stderr;
        } else {
            match parse_result(&res.stdout) {
                Some(p) => {
                    out.rc = if p.timed_out { None } else { Some(p.code) };
                    out.timed_out |= p.timed_out;
                    out.stdout = p.stdout.into_bytes();
                    out.stderr = p.stderr.into_bytes();
                }
                None => {
                    let code = res.rc_text();
                    out.rc = res.rc;
                    out.stdout = res.stdout;
                    out.stderr = res.stderr;
                    out.spawn_error = Some(format!("crm_resource gave no result (exit {code})"));
                }
            }
        }
        // Read-only actions are run both ways and their codes compared.
        if matches!(action, "meta-data" | "validate-all" | "monitor") && !out.timed_out {
            let mut imitation = r.env_for(spec);
            if action == "monitor" {
                // crm_resource passes no interval: compare with a probe.
                imitation.set("OCF_RESKEY_CRM_meta_interval", "0");
            }
            let own = spawn_bounded(&r.agent, action, &imitation, spec, limit);
            if own.rc != out.rc {
                self.finding(format!(
                    "{action}{}: Pacemaker's executor got {}, the imitation {}",
                    spec.depth
                        .map(|d| format!(" (depth {d})"))
                        .unwrap_or_default(),
                    out.rc_text(),
                    own.rc_text()
                ));
            }
        }
        Some(out)
    }

    /// Compare the environment Pacemaker gives an agent with the imitation's, using a
    /// probe agent that writes its environment to a file.
    pub fn compare_environment(&self, r: &Runner) {
        let dump = self.scratch.join("env");
        let probe = self.provider_dir.join("ocf-tester-env");
        let script = format!("#!/bin/sh\nenv > '{}'\nexit 0\n", dump.display());
        if std::fs::write(&probe, script).is_err() {
            return;
        }
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o755));
        let mut ex_params = r.params.clone();
        ex_params.retain(|(k, _)| !k.is_empty());
        let Ok(cib) = self.cib(&ex_params) else {
            return;
        };
        let Ok(text) = std::fs::read_to_string(&cib) else {
            return;
        };
        let text = text.replace(
            &format!("type=\"{}\"", quick_xml::escape::escape(&self.type_name)),
            "type=\"ocf-tester-env\"",
        );
        if std::fs::write(&cib, text).is_err() {
            return;
        }
        let mut env = Env::new();
        env.set("PATH", PACEMAKER_PATH);
        env.set("CIB_file", cib.to_string_lossy().as_ref());
        let limit = r.limit("start");
        let _ = spawn_argv(
            Path::new("/usr/sbin/crm_resource"),
            "-r",
            &[
                self.id.clone(),
                "--force-start".into(),
                "--timeout".into(),
                format!("{}ms", limit.as_millis()),
            ],
            &env,
            limit + Duration::from_secs(5),
        );
        let _ = std::fs::remove_file(&probe);
        let Ok(real) = std::fs::read_to_string(&dump) else {
            self.finding(
                "could not capture the environment Pacemaker's executor gives an agent".into(),
            );
            return;
        };
        let real: Vec<(String, String)> = real
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .filter(|(k, _)| k != "PWD" && k != "SHLVL" && k != "_" && k != "CIB_file")
            .collect();
        let ours = r.env_for(&Spec::new("start"));
        let ours: Vec<(String, String)> = ours
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        for (k, v) in &real {
            match ours.iter().find(|(ok, _)| ok == k) {
                None => self.finding(format!(
                    "start: Pacemaker sets {k}={v}; the imitation does not"
                )),
                Some((_, ov))
                    if ov != v
                        && k != "OCF_RESOURCE_TYPE"
                        && k != "OCF_RESOURCE_PROVIDER"
                        && k != "OCF_RESOURCE_INSTANCE" =>
                {
                    self.finding(format!(
                        "start: Pacemaker sets {k}={v}; the imitation {k}={ov}"
                    ))
                }
                _ => {}
            }
        }
        for (k, v) in &ours {
            if !real.iter().any(|(rk, _)| rk == k) {
                self.finding(format!(
                    "start: the imitation sets {k}={v}; Pacemaker's crm_resource does not"
                ));
            }
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.provider_dir);
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// A resource id / agent name Pacemaker accepts.
fn sanitize(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match t.chars().next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => t,
        _ => format!("r{t}"),
    }
}

/// Run `prog first args...` with `env` under `limit`.
fn spawn_argv(prog: &Path, first: &str, args: &[String], env: &Env, limit: Duration) -> RunResult {
    let mut s = Spec::new(first);
    s.extra_args = args.to_vec();
    spawn_bounded(prog, first, env, &s, limit)
}

/// What crm_resource's XML result says about the agent's run.
struct Parsed {
    code: i32,
    timed_out: bool,
    stdout: String,
    stderr: String,
}

fn parse_result(xml: &[u8]) -> Option<Parsed> {
    let doc = Document::parse(xml).ok()?;
    let action = doc.root.child("resource-agent-action")?;
    let status = action.child("agent-status")?;
    let code = status.attr("code")?.parse().ok()?;
    // PCMK_EXEC_TIMEOUT is 2.
    let timed_out = status.attr("execution_code") == Some("2");
    let mut p = Parsed {
        code,
        timed_out,
        stdout: String::new(),
        stderr: String::new(),
    };
    if let Some(cmd) = action.child("command") {
        for o in cmd.children_named("output") {
            match o.attr("source") {
                Some("stdout") => p.stdout.push_str(&o.text),
                Some("stderr") => p.stderr.push_str(&o.text),
                _ => {}
            }
        }
    }
    Some(p)
}
