//! The test sequence: the shell tool's 27 steps, meta-data rules and our extra checks.

use crate::cli::Profile;
use crate::exec::{RunResult, Runner, Spec};
use crate::inspect::{self, Document, MetaData};
use crate::report::{secs, Check, Group, Verdict};
use std::time::Duration;

/// A fatal step failed: the run stops here (exit status 1).
pub struct Abort;

/// Drives one agent through the checks and prints the shell tool's lines as it goes.
pub struct Tester {
    /// The runner.
    pub r: Runner,
    /// Checks so far.
    pub checks: Vec<Check>,
    /// -q.
    pub quiet: bool,
    /// Text output on stdout.
    pub text: bool,
    /// The agent path as given (for messages).
    pub agent_display: String,
    /// `--strict`: portability warnings are failures.
    pub strict: bool,
    /// The running-state checks ran already (before step 22).
    pub running_done: bool,
    /// The steps being checked are portability rules ([`Tester::portability`]).
    pub portability: bool,
}

const UNKNOWN_ACTION: &str = "ocf-tester-no-such-action";
/// The actions Pacemaker's executor runs for an OCF agent.
const PACEMAKER_ACTIONS: &[&str] = &[
    "start",
    "stop",
    "monitor",
    "promote",
    "demote",
    "notify",
    "migrate_to",
    "migrate_from",
    "reload",
    "reload-agent",
    "validate-all",
    "meta-data",
];
/// Name of the stdout rule.
const STDOUT_RULE: &str = "no stdout outside meta-data";
/// Name of the exit-reason rule.
const REASON_RULE: &str = "one exit reason per failure";
/// One step of a fixed sequence: (action, step name, expected exit code, message on
/// failure, fatal).
type Step = (&'static str, &'static str, i32, &'static str, bool);

/// Codes that are failures and need an exit reason.
const FAILURE_CODES: &[i32] = &[1, 2, 4, 5, 6, 9];

impl Tester {
    fn legacy(&self) -> bool {
        self.r.profile == Profile::Legacy
    }

    /// An informational line (suppressed by -q).
    pub fn info(&self, msg: &str) {
        if self.text && !self.quiet {
            println!("{msg}");
        }
    }

    fn push(&mut self, mut c: Check) {
        // A portability rule is a warning in the pacemaker profile unless --strict: Pacemaker
        // itself would not trip over it. Under rgmanager (no PATH, no OCF_ROOT of its own)
        // the same rules are real failures; the legacy profile keeps the shell tool's verdict.
        if c.verdict == Verdict::Fail
            && c.portability
            && !self.strict
            && self.r.profile == Profile::Pacemaker
        {
            c.verdict = Verdict::Warn;
        }
        if !matches!(c.verdict, Verdict::Fail | Verdict::Warn) {
            c.output = None;
        }
        if self.text && matches!(c.verdict, Verdict::Fail | Verdict::Warn) {
            let rc = c.rc.clone().unwrap_or_else(|| "-".into());
            match (c.verdict, c.group, c.counted) {
                (Verdict::Warn, _, _) => println!("- warning: rc={rc}: {}", c.message),
                (_, Group::Compat, _) | (_, _, true) => println!("* rc={rc}: {}", c.message),
                (_, _, false) => println!(
                    "- extra (not counted in the legacy profile): rc={rc}: {}",
                    c.message
                ),
            }
            for d in &c.details {
                println!("    {d}");
            }
        }
        self.checks.push(c);
    }

    fn step_check(&self, group: Group, name: &str, run: Option<&RunResult>) -> Check {
        let mut c = Check::pass(group, name);
        c.portability = self.portability;
        if let Some(r) = run {
            c.action = Some(r.action.clone());
            c.rc = Some(r.rc_text());
            c.seconds = Some(secs(r.elapsed));
            c.advertised_timeout = r.advertised.map(secs);
            c.output = Some(r.output_text());
        }
        c
    }

    /// Record the steps `f` checks as portability rules when `portability` holds (a warning
    /// in the pacemaker profile unless --strict).
    fn portability<T>(&mut self, portability: bool, f: impl FnOnce(&mut Tester) -> T) -> T {
        let outer = std::mem::replace(&mut self.portability, portability);
        let out = f(self);
        self.portability = outer;
        out
    }

    /// The shell tool's `assert`: compare, print `* rc=N: msg` on mismatch, abort if fatal.
    fn assert(
        &mut self,
        name: &str,
        run: &RunResult,
        expected: &[i32],
        msg: &str,
        fatal: bool,
    ) -> Result<bool, Abort> {
        let mut c = self.step_check(Group::Compat, name, Some(run));
        c.expected = expected.to_vec();
        if run.is(expected) {
            self.push(c);
            return Ok(true);
        }
        c.verdict = Verdict::Fail;
        c.message = format!("{msg}{}", run.hang_note());
        if fatal && !self.r.verbose {
            let out = run.output_text();
            c.details = out.lines().map(str::to_string).collect();
        }
        self.push(c);
        if fatal {
            return Err(Abort);
        }
        Ok(false)
    }

    fn fail_plain(
        &mut self,
        group: Group,
        name: &str,
        rc: &str,
        msg: String,
        details: Vec<String>,
    ) {
        let mut c = Check::pass(group, name);
        c.verdict = Verdict::Fail;
        c.rc = Some(rc.to_string());
        c.message = msg;
        c.details = details;
        c.counted = !(self.legacy() && group != Group::Compat);
        self.push(c);
    }

    fn extra(
        &mut self,
        group: Group,
        name: &str,
        run: Option<&RunResult>,
        expected: &[i32],
        ok: bool,
        msg: String,
    ) {
        let mut c = self.step_check(group, name, run);
        c.expected = expected.to_vec();
        c.counted = !self.legacy();
        if !ok {
            c.verdict = Verdict::Fail;
            c.message = format!("{msg}{}", run.map(RunResult::hang_note).unwrap_or_default());
        }
        self.push(c);
    }

    fn note(&mut self, group: Group, name: &str, verdict: Verdict, msg: &str) {
        let mut c = Check::pass(group, name);
        c.verdict = verdict;
        c.message = msg.to_string();
        self.checks.push(c);
    }

    fn info_check(&mut self, name: &str, run: &RunResult, msg: &str) {
        let mut c = self.step_check(Group::Compat, name, Some(run));
        c.verdict = Verdict::Info;
        c.message = msg.to_string();
        c.output = None;
        self.info(msg);
        self.checks.push(c);
    }

    /// Run everything for the pacemaker and legacy profiles.
    pub fn run_all(&mut self) -> Result<(), Abort> {
        self.info(&format!("Beginning tests for {}...", self.agent_display));
        self.compat_metadata();
        self.compat_behaviour()?;
        self.behaviour_extras();
        self.aggregate_checks();
        Ok(())
    }

    /// A meta-data variant (`ok`: it exited 0 with valid XML), a portability rule.
    fn meta_data_variant(&mut self, name: &str, run: &RunResult, ok: bool, msg: String) {
        let g = Group::Metadata;
        self.portability(true, |t| t.extra(g, name, Some(run), &[0], ok, msg));
    }

    /// Steps 1-4 and the meta-data rules: every meta-data variant runs at once (they are
    /// independent), the document is parsed once.
    fn compat_metadata(&mut self) {
        let path = self.r.agent.clone();
        if !path.is_file() {
            self.fail_plain(
                Group::Compat,
                "1 file exists",
                "7",
                format!("Could not find file: {}", self.agent_display),
                Vec::new(),
            );
        } else {
            self.checks
                .push(Check::pass(Group::Compat, "1 file exists"));
        }
        let root = nix::unistd::Uid::effective().is_root();
        let md = |f: &dyn Fn(&mut Spec)| {
            let mut s = Spec::new("meta-data");
            s.no_instance = true;
            f(&mut s);
            s
        };
        let mut specs = vec![
            md(&|s| s.close_stdio = self.r.profile == Profile::Rgmanager),
            md(&|s| {
                s.set
                    .push(("OCF_TESTER_FAIL_HAVE_BINARY".into(), "1".into()))
            }),
            md(&|s| s.empty_env = true),
            md(&|s| {
                s.set
                    .push(("OCF_TESTER_FAIL_HAVE_BINARY".into(), "1".into()));
                s.set.push(("PATH".into(), String::new()));
            }),
        ];
        if root {
            specs.push(md(&|s| s.user = nobody()));
        }
        let mut runs = self.r.run_many(&specs).into_iter();
        let (Some(plain), Some(nobin), Some(empty_env), Some(empty_path)) =
            (runs.next(), runs.next(), runs.next(), runs.next())
        else {
            return;
        };
        let unprivileged = runs.next();
        // Step 2.
        match &unprivileged {
            // Pacemaker runs meta-data as root: a portability rule there.
            Some(run) => {
                let _ = self.portability(true, |t| {
                    t.assert(
                        "2 meta-data as nobody",
                        run,
                        &[0],
                        "Your agent has too restrictive permissions: should be 755",
                        false,
                    )
                });
            }
            None => {
                self.info(
                    "WARN: Can't check agent's permissions because we're not root; they should be 755",
                );
                self.note(
                    Group::Compat,
                    "2 meta-data as nobody",
                    Verdict::Skip,
                    "not root",
                );
            }
        }
        let parsed = Document::parse(&plain.stdout);
        if let Ok(doc) = &parsed {
            self.r.md = Some(MetaData::from_document(doc));
        }
        // Step 3: the schema check. Legacy: ra-api-1.dtd as the shell tool applies it.
        // Pacemaker: the OCF 1.1 structure (what pcs checks before it creates a resource);
        // the DTD's extra demands are a portability rule below.
        let (problems, schema) = match &parsed {
            Err(e) => (vec![e.clone()], "ra-api-1.dtd"),
            Ok(doc) => match self.r.profile {
                Profile::Legacy => (inspect::check_dtd(doc), "ra-api-1.dtd"),
                Profile::Rgmanager => (inspect::check_rgmanager(doc), "rgmanager's rules"),
                Profile::Pacemaker => (inspect::check_ocf11(doc), "the OCF 1.1 schema"),
            },
        };
        let mut c = self.step_check(Group::Compat, "3 meta-data schema", Some(&plain));
        if !problems.is_empty() {
            c.verdict = Verdict::Fail;
            // xmllint's codes: 1 not well-formed, 4 no DTD found, 3 invalid.
            let no_dtd =
                parsed.as_ref().is_ok_and(|d| d.doctype.is_none()) && schema == "ra-api-1.dtd";
            c.rc = Some(
                if parsed.is_err() {
                    "1"
                } else if no_dtd {
                    "4"
                } else {
                    "3"
                }
                .into(),
            );
            c.message = format!("Your agent produces meta-data which does not conform to {schema}");
            c.details = problems;
            if parsed
                .as_ref()
                .is_err_and(|e| e.starts_with(inspect::TEXT_OUTSIDE_ROOT))
            {
                // Noise on meta-data's stdout is the one stdout rule Pacemaker trips over.
                c.details.push(
                    "Pacemaker parses meta-data's stdout as one XML document: pcs, crmsh and the \
                     controller reject the agent's meta-data"
                        .into(),
                );
            }
        } else {
            c.rc = Some("0".into());
        }
        self.push(c);
        // Step 4: meta-data with binaries missing.
        let msg = if nobin.rc == Some(3) {
            "Your agent does not support the meta-data action"
        } else {
            "The meta-data action cannot fail and must return 0"
        };
        let _ = self.assert("4 meta-data without binaries", &nobin, &[0], msg, false);
        self.metadata_extras(
            &plain,
            parsed,
            &empty_env,
            &empty_path,
            unprivileged.as_ref(),
        );
    }

    /// Our meta-data rules (after step 4), on the runs made for steps 2-4.
    fn metadata_extras(
        &mut self,
        plain: &RunResult,
        parsed: Result<Document, String>,
        empty_env: &RunResult,
        empty_path: &RunResult,
        unprivileged: Option<&RunResult>,
    ) {
        let g = Group::Metadata;
        let doc = match parsed {
            Ok(d) => d,
            Err(e) => {
                self.extra(
                    g,
                    "meta-data is pure XML",
                    Some(plain),
                    &[0],
                    false,
                    format!("meta-data output is not one XML document: {e}"),
                );
                return;
            }
        };
        self.extra(
            g,
            "meta-data is pure XML",
            Some(plain),
            &[0],
            true,
            String::new(),
        );
        let v = inspect::check_version(&doc);
        self.extra(
            g,
            "<version> is 1.0 or 1.1",
            None,
            &[],
            v.is_empty(),
            v.join("; "),
        );
        if self.r.profile != Profile::Pacemaker {
            // (The pacemaker profile's step 3 is this check.)
            let p = inspect::check_ocf11(&doc);
            let n = p.len();
            let mut c = self.step_check(g, "OCF 1.1 structure", None);
            c.counted = !self.legacy();
            if n > 0 {
                c.verdict = Verdict::Fail;
                c.message = format!("meta-data breaks {n} OCF 1.1 structure rule(s)");
                c.details = p;
            }
            self.push(c);
        }
        if !MetaData::from_document(&doc).claims_11() && self.r.profile == Profile::Pacemaker {
            // Pacemaker never applies the DTD (xmllint and the shell tool do): portability.
            let p = inspect::check_dtd(&doc);
            let mut c = self.step_check(g, "ra-api-1.dtd (claims 1.0)", None);
            c.portability = true;
            if !p.is_empty() {
                c.verdict = Verdict::Fail;
                c.message = "meta-data claims OCF 1.0 but does not conform to ra-api-1.dtd".into();
                c.details = p;
            }
            self.push(c);
        }
        // Empty environment: Pacemaker always sets OCF_ROOT and PATH; rgmanager's
        // meta-data call and hand-run tools may not.
        let ok = empty_env.rc == Some(0) && Document::parse(&empty_env.stdout).is_ok();
        self.meta_data_variant(
            "meta-data with an empty environment",
            empty_env,
            ok,
            "meta-data must print valid XML and exit 0 with an empty environment \
             (rgmanager, hand-run tools)"
                .into(),
        );
        // Binaries missing: empty PATH.
        let parsed = Document::parse(&empty_path.stdout)
            .err()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        let ok = empty_path.rc == Some(0) && parsed.is_empty();
        self.meta_data_variant(
            "meta-data with an empty PATH",
            empty_path,
            ok,
            format!(
                "meta-data must print valid XML and exit 0 when no binary can be found{parsed}"
            ),
        );
        // Unprivileged (Pacemaker runs meta-data as root).
        if let Some(run) = unprivileged {
            let ok = run.rc == Some(0) && Document::parse(&run.stdout).is_ok();
            self.meta_data_variant(
                "meta-data as nobody prints XML",
                run,
                ok,
                "meta-data must print valid XML as an unprivileged user".into(),
            );
        }
        // The rgmanager rules are step 3 of that profile.
    }

    /// `--via-pacemaker`: the differences between the imitation and Pacemaker's executor.
    pub fn pacemaker_findings(&mut self, p: &crate::pacemaker::Executor) {
        p.compare_environment(&self.r);
        let findings = p.findings.lock().map(|f| f.clone()).unwrap_or_default();
        let mut c = Check::pass(Group::Extra, "imitation vs Pacemaker's executor");
        c.verdict = Verdict::Info;
        c.message = if findings.is_empty() {
            "no difference".into()
        } else {
            format!(
                "{} difference(s) between the imitation and Pacemaker's executor",
                findings.len()
            )
        };
        c.details = findings;
        if self.text && !self.quiet {
            println!("* findings: {}", c.message);
            for d in &c.details {
                println!("    {d}");
            }
        }
        self.checks.push(c);
    }

    fn probe(&mut self) -> Spec {
        Spec::new("monitor").interval(0)
    }

    fn recurring(&self) -> Spec {
        let ms = match self.r.profile {
            Profile::Legacy => 20_000,
            _ => self.r.recurring_interval_ms(),
        };
        Spec::new("monitor").interval(ms)
    }

    /// Steps 5-27.
    fn compat_behaviour(&mut self) -> Result<(), Abort> {
        let interval0 = if self.legacy() {
            10_000
        } else {
            self.recurring().interval_ms.unwrap_or(10_000)
        };
        let run = self
            .r
            .run(&Spec::new("validate-all").interval(if self.legacy() { interval0 } else { 0 }));
        if run.rc == Some(3) {
            self.assert(
                "5 validate-all",
                &run,
                &[0],
                "Your agent does not support the validate-all action",
                false,
            )?;
        } else if run.rc != Some(0) {
            self.assert(
                "5 validate-all",
                &run,
                &[0],
                "Validation failed.  Did you supply enough options with -o ?",
                true,
            )?;
        } else {
            self.assert("5 validate-all", &run, &[0], "", false)?;
        }
        let mon = Spec::new("monitor").interval(interval0);
        if self.r.verbose && self.text {
            println!("Checking current state");
        }
        let run = self.r.run(&mon);
        if run.rc == Some(3) {
            self.assert(
                "6 current state",
                &run,
                &[7],
                "Your agent does not support the monitor action",
                true,
            )?;
        } else if run.rc == Some(8) {
            let d = self.r.run(&Spec::new("demote"));
            self.assert(
                "6 cleanup demote",
                &d,
                &[0],
                "Your agent was promoted and could not be demoted",
                true,
            )?;
            let s = self.r.run(&Spec::new("stop"));
            self.assert(
                "6 cleanup stop",
                &s,
                &[0],
                "Your agent was promoted and could not be stopped",
                true,
            )?;
        } else if run.rc != Some(7) {
            let s = self.r.run(&Spec::new("stop"));
            self.assert(
                "6 cleanup stop",
                &s,
                &[0],
                "Your agent was active and could not be stopped",
                true,
            )?;
        }
        let run = self.r.run(&mon);
        self.assert(
            "7 monitor stopped",
            &run,
            &[7],
            "Monitoring a stopped resource should return 7",
            false,
        )?;
        let p = self.probe().set("OCF_TESTER_FAIL_HAVE_BINARY", "1");
        let run = self.r.run(&p);
        self.assert("8 probe without binaries", &run, &[7, 5],
            "The initial probe for a stopped resource should return 7 or 5 even if all binaries are missing", false)?;
        let rec = self.recurring();
        let run = self
            .r
            .run(&Spec::new("start").interval(if self.legacy() { 20_000 } else { 0 }));
        self.assert(
            "9 start",
            &run,
            &[0],
            "Start failed.  Did you supply enough options with -o ?",
            true,
        )?;
        let run = self.r.run(&rec);
        self.assert(
            "10 monitor running",
            &run,
            &[0],
            "Monitoring an active resource should return 0",
            false,
        )?;
        let p = self.probe();
        let run = self.r.run(&p);
        self.assert(
            "11 probe running",
            &run,
            &[0],
            "Probing an active resource should return 0",
            false,
        )?;
        let l = self.legacy_interval();
        let run = self.r.run(&Spec::new("notify").interval(l));
        if run.rc == Some(3) {
            self.info_unsupported("12 notify", &run, "notify");
        } else {
            self.assert(
                "12 notify",
                &run,
                &[0],
                "The notify action cannot fail and must return 0",
                false,
            )?;
        }
        // 13/14: detection. The results other than 3 are checked too (the shell tool
        // ignores them): demoting an unpromoted and promoting a started resource succeed.
        let has_demote = self.optional_transition(
            "demote",
            l,
            "13 demote supported",
            "13 demote of an unpromoted resource",
            "Demoting a started (unpromoted) resource should succeed",
        );
        let has_promote = self.optional_transition(
            "promote",
            l,
            "14 promote supported",
            "14 promote of a started resource",
            "Promoting a started resource should succeed",
        );
        if has_promote && has_demote {
            // The shell tool's order.
            const DEMOTE_STARTED: &str = "Demoting a start resource should not fail";
            const DEMOTE_DEMOTED: &str = "Demoting a demoted resource should not fail";
            const PROMOTE_PROMOTED: &str = "Promoting a promoted resource should not fail";
            const CYCLE: &[Step] = &[
                ("demote", "15 demote started", 0, DEMOTE_STARTED, false),
                ("promote", "15 promote", 0, "Promote failed", false),
                ("demote", "15 demote", 0, "Demote failed", true),
                ("demote", "15 demote demoted", 0, DEMOTE_DEMOTED, false),
                ("promote", "15 promote again", 0, "Promote failed", true),
                ("promote", "15 promote promoted", 0, PROMOTE_PROMOTED, false),
                ("demote", "15 demote again", 0, "Demote failed", true),
            ];
            self.steps(CYCLE, &rec, l)?;
        } else if !has_promote && !has_demote {
            self.info("* Your agent does not support promotable clones (optional)");
            self.note(
                Group::Compat,
                "15 promotable clones",
                Verdict::Info,
                "not supported (optional)",
            );
        } else {
            if self.text {
                println!("* Your agent partially supports promotable clones");
            }
            let mut c = Check::pass(Group::Compat, "15 promotable clones");
            c.verdict = Verdict::Fail;
            c.rc = Some(
                if has_promote {
                    "promote only"
                } else {
                    "demote only"
                }
                .into(),
            );
            c.message = "Your agent partially supports promotable clones".into();
            self.checks.push(c);
        }
        // 16-25; the running-state checks come after step 21.
        const STOPPED: &str = "Monitoring a stopped resource should return 7";
        const RUNNING: &str = "Monitoring an active resource should return 0";
        const STARTED: &str = "Starting a running resource is required to succeed";
        const STARTS: &str = "Stop could not clean up after multiple starts";
        const STOP_STOPPED: &str = "Stopping a stopped resource is required to succeed";
        const RESTART: &[Step] = &[
            ("stop", "16 stop", 0, "Stop failed", true),
            ("monitor", "17 monitor stopped", 7, STOPPED, false),
            ("start", "18 restart", 0, "Start failed", true),
            ("monitor", "19 monitor running", 0, RUNNING, false),
            ("start", "20 start started", 0, STARTED, false),
            ("monitor", "21 monitor running", 0, RUNNING, false),
            ("stop", "22 stop", 0, STARTS, true),
            ("monitor", "23 monitor stopped", 7, STOPPED, false),
            ("stop", "24 stop stopped", 0, STOP_STOPPED, false),
            ("monitor", "25 monitor stopped", 7, STOPPED, false),
        ];
        let (restart, final_stop) = RESTART.split_at(6);
        self.steps(restart, &rec, l)?;
        if !self.legacy() {
            // The running-state checks use the resource steps 18-21 started (one start and
            // one stop fewer); the legacy profile keeps the shell tool's sequence.
            self.running_extras();
            self.running_done = true;
        }
        self.steps(final_stop, &rec, l)?;
        // 26: migrate detection; the note is printed when either half is missing.
        let mt = self.r.run(&Spec::new("migrate_to").interval(l));
        let unsupported = if mt.rc == Some(3) {
            true
        } else {
            let mf = self.r.run(&Spec::new("migrate_from").interval(l));
            mf.rc == Some(3)
        };
        if unsupported {
            self.info_unsupported("26 migrate", &mt, "migrate");
        } else {
            self.note(
                Group::Compat,
                "26 migrate",
                Verdict::Info,
                "migrate_to/migrate_from answered",
            );
        }
        let rl = self.r.run(&Spec::new("reload").interval(l));
        if rl.rc == Some(3) {
            self.info_unsupported("27 reload", &rl, "reload");
        } else {
            self.note(Group::Compat, "27 reload", Verdict::Info, "reload answered");
        }
        Ok(())
    }

    /// Run each step of `steps` in order and check its exit code: a monitor is the recurring
    /// one (`rec`), any other action runs with interval `l`.
    fn steps(&mut self, steps: &[Step], rec: &Spec, l: u64) -> Result<(), Abort> {
        for &(action, name, expected, msg, fatal) in steps {
            let spec = if action == "monitor" {
                rec.clone()
            } else {
                Spec::new(action).interval(l)
            };
            let run = self.r.run(&spec);
            self.assert(name, &run, &[expected], msg, fatal)?;
        }
        Ok(())
    }

    /// Record step `name` as an optional `action` the agent does not support.
    fn info_unsupported(&mut self, name: &str, run: &RunResult, action: &str) {
        let msg = format!("* Your agent does not support the {action} action (optional)");
        self.info_check(name, run, &msg);
    }

    /// Steps 13/14: whether the agent supports `action` (it does not answer 3), and when it
    /// does, that it succeeds on a started resource (the shell tool ignores that result).
    fn optional_transition(
        &mut self,
        action: &str,
        l: u64,
        step_supported: &str,
        step_ok: &str,
        msg: &str,
    ) -> bool {
        let run = self.r.run(&Spec::new(action).interval(l));
        let supported = run.rc != Some(3);
        if supported {
            let ok = run.is(&[0]);
            self.extra(Group::Extra, step_ok, Some(&run), &[0], ok, msg.into());
        } else {
            self.info_unsupported(step_supported, &run, action);
        }
        supported
    }

    fn legacy_interval(&self) -> u64 {
        if self.legacy() {
            20_000
        } else {
            0
        }
    }

    fn advertises(&self, a: &str) -> bool {
        self.r.md.as_ref().is_some_and(|m| m.advertises(a))
    }

    fn cleanup_stop(&mut self) {
        let _ = self.r.run(&Spec::new("stop"));
    }

    /// Checks the shell tool lacks (resource stopped before and after).
    fn behaviour_extras(&mut self) {
        let g = Group::Extra;
        let l = self.legacy_interval();
        let none: Vec<(String, String)> = Vec::new();
        // Stop of a never-started resource with a bad configuration first (it may clean
        // up); then the read-only runs at once: the unknown action, the probe without
        // parameters and validate-all without each required parameter.
        let mut s = Spec::new("stop").interval(l);
        s.params = Some(none.clone());
        let stop_run = self.r.run(&s);
        let required: Vec<String> = self
            .r
            .md
            .as_ref()
            .map(|m| {
                m.params
                    .iter()
                    .filter(|p| p.required)
                    .map(|p| p.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        let without = |t: &Tester, name: &str, action: &str| {
            let mut s = Spec::new(action).interval(l);
            s.params = Some(
                t.r.params
                    .iter()
                    .filter(|(k, _)| *k != name)
                    .cloned()
                    .collect(),
            );
            s.unset.push(format!("OCF_RESKEY_{name}"));
            s
        };
        let mut probe = self.probe();
        probe.params = Some(none);
        let mut batch = vec![Spec::new(UNKNOWN_ACTION).interval(l), probe];
        let validate = self.advertises("validate-all");
        if validate {
            for name in &required {
                batch.push(without(self, name, "validate-all"));
            }
        }
        let mut runs = self.r.run_many(&batch).into_iter();
        let (Some(unknown), Some(probe_run)) = (runs.next(), runs.next()) else {
            return;
        };
        let validate_runs: Vec<RunResult> = runs.collect();
        let ok = unknown.is(&[3]);
        self.extra(
            g,
            "unknown action returns 3",
            Some(&unknown),
            &[3],
            ok,
            "An unknown action must return 3 (OCF_ERR_UNIMPLEMENTED)".into(),
        );
        let ok = stop_run.is(&[0]);
        self.extra(
            g,
            "stop without parameters (never started)",
            Some(&stop_run),
            &[0],
            ok,
            "Stopping a resource that cannot be running must succeed even with a bad configuration"
                .into(),
        );
        let run = probe_run;
        // Without its required parameters the configuration is invalid on every node: 6 is
        // then the right answer (Pacemaker stops the resource everywhere and bans it, which
        // is what such a configuration deserves). Without any required parameter, nothing
        // was removed: 6 means the defaults themselves are rejected on a clean host.
        let has_required = !required.is_empty();
        let (ok, portability, msg) = match run.rc {
            Some(7) => (true, false, String::new()),
            Some(6) if has_required => (true, false, String::new()),
            Some(5) | Some(2) => (false, true, "A probe of a stopped resource with a bad configuration should return 7 (Pacemaker >= 2.1.3 masks 5/2 as stopped; older versions record a failure)".to_string()),
            Some(6) => (false, false, "A probe without parameters returned 6 though the agent requires none: Pacemaker stops the resource everywhere and bans it".to_string()),
            _ => (false, false, "A probe of a stopped resource with a bad configuration must return 7".to_string()),
        };
        let expected: &[i32] = if has_required { &[7, 6] } else { &[7] };
        self.portability(portability, |t| {
            t.extra(g, "probe without parameters", Some(&run), expected, ok, msg)
        });
        // Missing required parameters: validate-all (run above), then start, one by one.
        let mut validate_runs = validate_runs.into_iter();
        for name in &required {
            let mut accepted = false;
            for action in ["validate-all", "start"] {
                let run = match action {
                    "validate-all" if !validate => continue,
                    "validate-all" => match validate_runs.next() {
                        Some(r) => r,
                        None => continue,
                    },
                    _ if accepted => {
                        // validate-all accepts the configuration without it: start would
                        // only repeat that warning (and cost a start and a stop).
                        self.note(
                            g,
                            &format!("start without required {name}"),
                            Verdict::Skip,
                            &format!("validate-all accepts the configuration without {name}"),
                        );
                        continue;
                    }
                    _ => {
                        let s = without(self, name, action);
                        self.r.run(&s)
                    }
                };
                accepted = action == "validate-all" && run.rc == Some(0);
                let ok = run.is(&[6, 2, 5]);
                // Succeeding without it (the agent copes, e.g. by detecting the value) harms
                // nothing under Pacemaker, which never enforces `required`: a warning that
                // meta-data and behaviour disagree. Any other code is a failure.
                let portability = run.rc == Some(0);
                let msg = if portability {
                    format!("{action} without the required parameter {name} succeeded: either it is not required (fix the meta-data) or {action} should fail with 6")
                } else {
                    format!("{action} without the required parameter {name} must fail with 6 (or 2/5 where the host is at fault)")
                };
                self.portability(portability, |t| {
                    t.extra(
                        g,
                        &format!("{action} without required {name}"),
                        Some(&run),
                        &[6, 2, 5],
                        ok,
                        msg,
                    )
                });
                if run.rc == Some(0) && action == "start" {
                    // Stop it with what it was started with; once more with every
                    // parameter only if that failed.
                    let mut st = Spec::new("stop");
                    st.params = without(self, name, "stop").params;
                    st.unset.push(format!("OCF_RESKEY_{name}"));
                    if !self.r.run(&st).is(&[0]) {
                        self.cleanup_stop();
                    }
                }
            }
        }
        // Running-state checks (in the legacy profile: here, on a resource started for
        // them; in the others they ran before step 22, on the resource steps 18-21 started).
        if !self.running_done {
            self.running_extras_on_a_new_start();
        }
        // Every advertised action is handled.
        let advertised: Vec<String> = self
            .r
            .md
            .as_ref()
            .map(|m| m.actions.iter().map(|a| a.name.clone()).collect())
            .unwrap_or_default();
        let mut done: Vec<String> = Vec::new();
        for a in advertised {
            if done.contains(&a) {
                continue;
            }
            done.push(a.clone());
            let three: Vec<&RunResult> = self
                .r
                .history
                .iter()
                .filter(|h| h.action == a && h.rc == Some(3))
                .collect();
            let ok = three.is_empty();
            let rc = if ok { None } else { Some("3") };
            let mut c = self.step_check(g, &format!("advertised action {a} is handled"), None);
            c.rc = rc.map(str::to_string);
            c.counted = !self.legacy();
            // Pacemaker never calls the others (status, recover, methods, custom actions).
            c.portability = !PACEMAKER_ACTIONS.contains(&a.as_str());
            if !ok {
                c.verdict = Verdict::Fail;
                c.message =
                    format!("The agent advertises {a} but returned 3 (unimplemented) for it");
            }
            self.push(c);
        }
        // Always: migrate_from (step 26) and reload (27) may have started it again.
        let stop = self.r.run(&Spec::new("stop").interval(l));
        let ok = stop.is(&[0]);
        self.extra(
            g,
            "stop after the extra checks",
            Some(&stop),
            &[0],
            ok,
            "Stop failed".into(),
        );
    }

    /// The legacy profile's running-state checks: start, check, (stopped by the caller).
    fn running_extras_on_a_new_start(&mut self) {
        let g = Group::Extra;
        let l = self.legacy_interval();
        let start = self.r.run(&Spec::new("start").interval(l));
        if !start.is(&[0]) {
            self.extra(
                g,
                "start for the extra checks",
                Some(&start),
                &[0],
                false,
                "start failed; running-state checks skipped".into(),
            );
            self.cleanup_stop();
            return;
        }
        self.running_extras();
    }

    /// Checks on a running resource: each depth, notifications, promotion, reload-agent,
    /// and every advertised action not run yet (recover, custom actions).
    fn running_extras(&mut self) {
        let g = Group::Extra;
        let l = self.legacy_interval();
        let rec = self.recurring();
        // Each advertised depth.
        let depths = self
            .r
            .md
            .as_ref()
            .map(|m| m.depths_of("monitor"))
            .unwrap_or_default();
        // At once, as Pacemaker runs the recurring monitors of different depths (each has
        // its own interval) independently of each other.
        let specs: Vec<Spec> = depths.iter().map(|d| rec.clone().depth(*d)).collect();
        let runs = self.r.run_many(&specs);
        for (d, run) in depths.into_iter().zip(runs) {
            let ok = run.is(&[0]);
            self.extra(
                g,
                &format!("monitor depth {d} while running"),
                Some(&run),
                &[0],
                ok,
                format!("Monitor at the advertised depth {d} must return 0 while running"),
            );
        }
        // Notifications.
        if self.advertises("notify") {
            let me = self.r.instance.clone();
            for (t, op) in [
                ("pre", "start"),
                ("post", "start"),
                ("pre", "stop"),
                ("post", "stop"),
                ("pre", "promote"),
                ("post", "promote"),
                ("pre", "demote"),
                ("post", "demote"),
            ] {
                let s = Spec::new("notify")
                    .set("OCF_RESKEY_CRM_meta_notify_type", t)
                    .set("OCF_RESKEY_CRM_meta_notify_operation", op)
                    .set(
                        &format!("OCF_RESKEY_CRM_meta_notify_{op}_resource"),
                        &format!("{me}:1"),
                    )
                    .set(
                        &format!("OCF_RESKEY_CRM_meta_notify_{op}_uname"),
                        "ocft-node2",
                    )
                    .set(
                        "OCF_RESKEY_CRM_meta_notify_active_resource",
                        &format!("{me}:0"),
                    )
                    .set("OCF_RESKEY_CRM_meta_notify_active_uname", "ocft-node1")
                    .set("OCF_RESKEY_CRM_meta_notify", "true")
                    .set("OCF_RESKEY_CRM_meta_clone", "0")
                    .set("OCF_RESKEY_CRM_meta_clone_max", "2")
                    .interval(l);
                let run = self.r.run(&s);
                let ok = run.is(&[0]);
                self.extra(
                    g,
                    &format!("notify {t}-{op}"),
                    Some(&run),
                    &[0],
                    ok,
                    format!("notify ({t}-{op}) with clone notification variables must return 0"),
                );
            }
        }
        // Promotion.
        if self.advertises("promote") && self.advertises("demote") {
            // As Pacemaker runs a promotable clone's actions: with its clone meta-data
            // (agents such as mysql report 8 only when they know they are promotable).
            let p = self.r.run(&promotable(Spec::new("promote").interval(l)));
            if p.is(&[0]) {
                let m = self
                    .r
                    .run(&promotable(rec.clone()).set("OCF_RESKEY_CRM_meta_role", "Promoted"));
                let ok = m.is(&[8]);
                self.extra(
                    g,
                    "monitor after promote",
                    Some(&m),
                    &[8],
                    ok,
                    "Monitor must return 8 after a successful promote".into(),
                );
                let d = self.r.run(&promotable(Spec::new("demote").interval(l)));
                let ok = d.is(&[0]);
                self.extra(
                    g,
                    "demote after promote",
                    Some(&d),
                    &[0],
                    ok,
                    "Demote of a promoted resource must succeed".into(),
                );
                let m = self.r.run(&promotable(rec.clone()));
                let ok = m.is(&[0]);
                self.extra(
                    g,
                    "monitor after demote",
                    Some(&m),
                    &[0],
                    ok,
                    "Monitor must return 0 after demote".into(),
                );
            } else {
                self.extra(
                    g,
                    "promote for role checks",
                    Some(&p),
                    &[0],
                    false,
                    "promote failed".into(),
                );
            }
        }
        // reload-agent after changing a reloadable parameter. Prefer parameters whose new
        // value is harmless (integer, boolean, select); a string is only changed when it has
        // a value to extend (never invent a value, which could be a path the agent writes).
        if self.advertises("reload-agent") {
            let changed = self.r.md.as_ref().and_then(|m| {
                let mut cands: Vec<&inspect::ParamInfo> =
                    m.params.iter().filter(|p| p.reloadable).collect();
                cands.sort_by_key(|p| (p.content_type == "string") as u8);
                cands.into_iter().find_map(|p| {
                    let cur = self
                        .r
                        .params
                        .iter()
                        .find(|(k, _)| *k == p.name)
                        .map(|(_, v)| v.clone())
                        .or(p.default.clone())
                        .filter(|v| !v.is_empty());
                    let new = match p.content_type.as_str() {
                        "integer" => Some(
                            cur.and_then(|c| c.parse::<i64>().ok())
                                .map(|n| (n + 1).to_string())
                                .unwrap_or_else(|| "1".into()),
                        ),
                        "boolean" => {
                            Some(if matches!(cur.as_deref(), Some("true" | "1" | "yes")) {
                                "false".into()
                            } else {
                                "true".into()
                            })
                        }
                        "select" => p
                            .options
                            .iter()
                            .find(|o| Some(o.as_str()) != cur.as_deref())
                            .cloned(),
                        _ => cur
                            .filter(|c| !c.contains('/'))
                            .map(|c| format!("{c}-changed")),
                    };
                    new.map(|v| (p.name.clone(), v))
                })
            });
            match changed {
                Some((name, value)) => {
                    let mut params: Vec<(String, String)> = self
                        .r
                        .params
                        .iter()
                        .filter(|(k, _)| *k != name)
                        .cloned()
                        .collect();
                    params.push((name.clone(), value.clone()));
                    let mut s = Spec::new("reload-agent").interval(l);
                    s.params = Some(params.clone());
                    let run = self.r.run(&s);
                    let ok = run.is(&[0]);
                    self.extra(g, &format!("reload-agent after {name}={value}"), Some(&run), &[0], ok,
                        format!("reload-agent after changing the reloadable parameter {name} must return 0"));
                    let mut m = rec.clone();
                    m.params = Some(params);
                    let run = self.r.run(&m);
                    let ok = run.is(&[0]);
                    self.extra(
                        g,
                        "monitor after reload-agent",
                        Some(&run),
                        &[0],
                        ok,
                        "Monitor must return 0 after reload-agent".into(),
                    );
                }
                None => self.note(
                    g,
                    "reload-agent",
                    Verdict::Skip,
                    "reload-agent advertised but no parameter is reloadable",
                ),
            }
        }
        let seen: Vec<String> = self.r.history.iter().map(|h| h.action.clone()).collect();
        let mut done: Vec<String> = Vec::new();
        let advertised: Vec<String> = self
            .r
            .md
            .as_ref()
            .map(|m| m.actions.iter().map(|a| a.name.clone()).collect())
            .unwrap_or_default();
        for a in advertised {
            // The steps run these themselves (migrate_*: only their detection).
            let later = ["migrate_to", "migrate_from", "reload", "start", "stop"];
            if done.contains(&a) || seen.contains(&a) || later.contains(&a.as_str()) {
                continue;
            }
            done.push(a.clone());
            let _ = self.r.run(&Spec::new(&a).interval(l));
        }
    }

    /// Checks over every run: exit reasons, stdout, degraded codes, time.
    pub fn aggregate_checks(&mut self) {
        let g = Group::Extra;
        let claims_11 = self.r.md.as_ref().is_some_and(MetaData::claims_11);
        let rgm = self.r.profile == Profile::Rgmanager;
        let mut reasons = Vec::new();
        let mut stdout = Vec::new();
        let mut degraded = Vec::new();
        let mut slow = Vec::new();
        for h in &self.r.history {
            let quiet_ok = matches!(
                h.action.as_str(),
                "meta-data" | "usage" | "help" | "methods" | UNKNOWN_ACTION
            );
            // A usage text printed for an unsupported action (rc 3) is tolerated.
            if !quiet_ok && h.rc != Some(3) && !h.stdout.is_empty() {
                let first = String::from_utf8_lossy(&h.stdout)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(80)
                    .collect::<String>();
                stdout.push(format!("{} (rc={}): {first:?}", h.action, h.rc_text()));
            }
            if let Some(rc) = h.rc {
                // meta-data has no exit reason in any manager; its failures are reported
                // by the meta-data checks.
                if FAILURE_CODES.contains(&rc)
                    && !rgm
                    && h.action != UNKNOWN_ACTION
                    && h.action != "meta-data"
                {
                    let r = h.reasons();
                    if r.len() != 1 {
                        reasons.push(format!(
                            "{} returned {rc} with {} exit-reason lines",
                            h.action,
                            r.len()
                        ));
                    } else if r[0].chars().count() > ocf::exit::MAX_REASON_LEN {
                        reasons.push(format!(
                            "{} returned {rc} with an exit reason of {} characters (max {})",
                            h.action,
                            r[0].chars().count(),
                            ocf::exit::MAX_REASON_LEN
                        ));
                    }
                }
                if (rc == 190 || rc == 191) && (!claims_11 || rgm) {
                    degraded.push(format!(
                        "{} returned {rc} but the agent does not claim OCF 1.1{}",
                        h.action,
                        if rgm {
                            " (and rgmanager never accepts it)"
                        } else {
                            ""
                        }
                    ));
                }
                if rgm && (rc == 8 || rc == 9) {
                    degraded.push(format!(
                        "{} returned {rc}: rgmanager has no roles",
                        h.action
                    ));
                }
            }
            if h.timed_out {
                slow.push(format!(
                    "{} hung and was killed after {:.0}s",
                    h.action,
                    h.limit.as_secs_f64()
                ));
            } else if let Some(a) = h.advertised {
                if h.elapsed > a {
                    slow.push(format!(
                        "{} took {:.1}s, longer than its advertised timeout {:.0}s",
                        h.action,
                        h.elapsed.as_secs_f64(),
                        a.as_secs_f64()
                    ));
                }
            }
        }
        let mut fold = |name: &str, problems: Vec<String>, msg: &str| {
            let mut c = Check::pass(g, name);
            c.counted = !self.legacy();
            // Pacemaker logs stdout and stderr and acts on the code alone; exit reasons are
            // optional in OCF: both rules are portability (ocf-tester, ocft, crm_resource
            // users read that output) and warnings in the pacemaker profile.
            c.portability = name == STDOUT_RULE || name == REASON_RULE;
            if !problems.is_empty() {
                c.verdict = Verdict::Fail;
                c.message = format!("{msg} ({} case(s))", problems.len());
                c.details = problems;
            }
            self.push(c);
        };
        if !rgm {
            fold(
                REASON_RULE,
                reasons,
                "Every failure must print exactly one exit-reason line of at most 128 characters",
            );
        }
        fold(
            STDOUT_RULE,
            stdout,
            "Actions other than meta-data must not write to stdout",
        );
        fold(
            "degraded and role codes",
            degraded,
            "Codes 190/191 need an OCF 1.1 claim; 8/9/190/191 are never valid under rgmanager",
        );
        fold(
            "durations within advertised timeouts",
            slow,
            "Actions must finish within their advertised timeouts",
        );
        let mut per_action: Vec<(String, Duration, Option<Duration>)> = Vec::new();
        for h in &self.r.history {
            match per_action.iter_mut().find(|(a, _, _)| *a == h.action) {
                Some(e) => e.1 = e.1.max(h.elapsed),
                None => per_action.push((h.action.clone(), h.elapsed, h.advertised)),
            }
        }
        if self.text && self.r.verbose {
            println!("Longest run of each action (advertised timeout):");
            for (a, d, adv) in per_action {
                println!(
                    "    {a:<28} {:>7.2}s  ({})",
                    d.as_secs_f64(),
                    adv.map(|a| format!("{:.0}s", a.as_secs_f64()))
                        .unwrap_or_else(|| "not advertised".into())
                );
            }
        }
    }

    /// rgmanager: the status of a stopped resource must not be 0 (rgmanager takes any other
    /// code for stopped).
    fn rg_status_stopped(&mut self, name: &str, msg: &str) {
        let run = self.r.run(&Spec::new("monitor"));
        let ok = run.rc.is_some_and(|r| r != 0);
        self.extra(Group::Extra, name, Some(&run), &[7], ok, msg.into());
    }

    /// The rgmanager profile's sequence: what rgmanager actually does.
    pub fn run_rgmanager(&mut self) -> Result<(), Abort> {
        self.info(&format!(
            "Beginning tests for {} (rgmanager profile)...",
            self.agent_display
        ));
        self.compat_metadata();
        let g = Group::Extra;
        let has = |t: &Tester, a: &str| t.advertises(a);
        let stop = Spec::new("stop");
        let run = self.r.run(&stop);
        self.assert("stop before start (never started)", &run, &[0], "rgmanager stops every resource before starting: stop of a never-started resource must succeed", true)?;
        self.rg_status_stopped(
            "status when stopped is non-zero",
            "status of a stopped resource must not return 0",
        );
        let run = self.r.run(&Spec::new("start"));
        self.assert(
            "start",
            &run,
            &[0],
            "Start failed.  Did you supply enough options with -o ?",
            true,
        )?;
        let mut depths = self
            .r
            .md
            .as_ref()
            .map(|m| m.depths_of("status"))
            .unwrap_or_default();
        if depths.is_empty() {
            depths.push(0);
        }
        for d in depths {
            let run = self.r.run(&Spec::new("monitor").depth(d));
            let ok = run.is(&[0]);
            self.extra(
                g,
                &format!("status depth {d} while running"),
                Some(&run),
                &[0],
                ok,
                format!("status at depth {d} must return 0 while running"),
            );
        }
        let run = self.r.run(&Spec::new("start"));
        self.assert(
            "start started",
            &run,
            &[0],
            "Starting a running resource is required to succeed",
            false,
        )?;
        if has(self, "recover") {
            let run = self.r.run(&Spec::new("recover"));
            self.assert(
                "recover",
                &run,
                &[0],
                "recover of a running resource must succeed",
                false,
            )?;
        }
        let run = self.r.run(&stop);
        self.assert("stop", &run, &[0], "Stop failed", true)?;
        self.rg_status_stopped(
            "status after stop is non-zero",
            "status after stop must not return 0",
        );
        let run = self.r.run(&stop);
        self.assert(
            "stop stopped",
            &run,
            &[0],
            "Stopping a stopped resource is required to succeed",
            false,
        )?;
        let run = self.r.run(&Spec::new(UNKNOWN_ACTION));
        let ok = run.is(&[3]);
        self.extra(
            g,
            "unknown action returns 3",
            Some(&run),
            &[3],
            ok,
            "An unknown action must return 3".into(),
        );
        self.aggregate_checks();
        Ok(())
    }
}

/// `spec` as Pacemaker runs it for one instance of a promotable clone (one copy, one
/// promoted), with the current and the pre-2.1 names of the clone meta-data.
fn promotable(spec: Spec) -> Spec {
    spec.set("OCF_RESKEY_CRM_meta_promotable", "true")
        .set("OCF_RESKEY_CRM_meta_clone", "0")
        .set("OCF_RESKEY_CRM_meta_clone_max", "1")
        .set("OCF_RESKEY_CRM_meta_clone_node_max", "1")
        .set("OCF_RESKEY_CRM_meta_promoted_max", "1")
        .set("OCF_RESKEY_CRM_meta_promoted_node_max", "1")
        .set("OCF_RESKEY_CRM_meta_master_max", "1")
        .set("OCF_RESKEY_CRM_meta_master_node_max", "1")
        .set("OCF_RESKEY_CRM_meta_globally_unique", "false")
}

/// nobody's uid/gid.
fn nobody() -> Option<(u32, u32)> {
    nix::unistd::User::from_name("nobody")
        .ok()
        .flatten()
        .map(|u| (u.uid.as_raw(), u.gid.as_raw()))
        .or(Some((65534, 65534)))
}
