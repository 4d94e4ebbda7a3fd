//! Check records and the three output formats (text, JSON, JUnit).

use serde::Serialize;
use std::time::Duration;

/// Where a check comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// One of the shell ocf-tester's 27 steps.
    Compat,
    /// A meta-data rule of our own.
    Metadata,
    /// A behaviour check of our own.
    Extra,
    /// A case of a scenario file.
    Scenario,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Passed.
    Pass,
    /// Failed.
    Fail,
    /// A portability rule failed: shown and counted as a warning, not a failure (the
    /// default profile's target would not trip over it); `--strict` makes it a failure.
    Warn,
    /// Informational (e.g. an optional action is not supported).
    Info,
    /// Not run (prerequisite missing).
    Skip,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Group.
    pub group: Group,
    /// Short name (the step or rule).
    pub name: String,
    /// The action run, if one.
    pub action: Option<String>,
    /// Exit code seen ("timeout" when killed).
    pub rc: Option<String>,
    /// Expected codes.
    pub expected: Vec<i32>,
    /// Outcome.
    pub verdict: Verdict,
    /// Whether a failure counts towards the exit status.
    pub counted: bool,
    /// A portability rule: its failure is a warning unless `--strict`.
    #[serde(skip)]
    pub portability: bool,
    /// Message (the shell tool's wording for compat steps).
    pub message: String,
    /// Details (problems found, agent output on failure).
    pub details: Vec<String>,
    /// Duration of the action in seconds.
    pub seconds: Option<f64>,
    /// Advertised timeout in seconds.
    pub advertised_timeout: Option<f64>,
    /// The agent's output (stdout then stderr) of the step, kept for failures and warnings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl Check {
    /// A new passing check.
    pub fn pass(group: Group, name: &str) -> Check {
        Check {
            group,
            name: name.to_string(),
            action: None,
            rc: None,
            expected: Vec::new(),
            verdict: Verdict::Pass,
            counted: true,
            message: String::new(),
            details: Vec::new(),
            seconds: None,
            advertised_timeout: None,
            portability: false,
            output: None,
        }
    }
    /// Whether it is a counted failure.
    pub fn counted_failure(&self) -> bool {
        self.verdict == Verdict::Fail && self.counted
    }
}

/// Seconds as f64.
pub fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Version of the JSON report's structure (`ocf-tester/schema/report.schema.json`).
pub const JSON_FORMAT_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`JSON_FORMAT_VERSION`].
    pub format_version: u32,
    /// Agent path.
    pub agent: String,
    /// Profile name.
    pub profile: String,
    /// Checks in order.
    pub checks: Vec<Check>,
    /// Counted failures.
    pub failures: usize,
    /// Warnings (portability rules that failed; failures under `--strict`).
    pub warnings: usize,
    /// `--strict`.
    pub strict: bool,
    /// How the agent was run: `imitation` or `pacemaker` (`--via-pacemaker`).
    pub executor: String,
    /// Aborted by a fatal step.
    pub aborted: bool,
    /// Final verdict.
    pub passed: bool,
}

/// The summary table (text format).
pub fn table(checks: &[Check]) -> String {
    let mut s = String::new();
    let w = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(10)
        .clamp(10, 60);
    s.push_str(&format!(
        "{:<8} {:<w$} {:<14} {:>9} {:>8}  {}\n",
        "group", "check", "action", "rc/expect", "time", "result"
    ));
    for c in checks {
        let group = match c.group {
            Group::Compat => "step",
            Group::Metadata => "meta",
            Group::Extra => "extra",
            Group::Scenario => "case",
        };
        let exp = c
            .expected
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join("|");
        let rc = match (&c.rc, exp.is_empty()) {
            (Some(r), false) => format!("{r}/{exp}"),
            (Some(r), true) => r.clone(),
            (None, _) => String::new(),
        };
        let time = match (c.seconds, c.advertised_timeout) {
            (Some(t), Some(a)) => format!("{t:.1}/{a:.0}s"),
            (Some(t), None) => format!("{t:.1}s"),
            _ => String::new(),
        };
        let result = match (c.verdict, c.counted) {
            (Verdict::Pass, _) => "ok",
            (Verdict::Fail, true) => "FAIL",
            (Verdict::Fail, false) => "fail (not counted)",
            (Verdict::Warn, _) => "warning",
            (Verdict::Info, _) => "info",
            (Verdict::Skip, _) => "skipped",
        };
        let name: String = c.name.chars().take(60).collect();
        s.push_str(&format!(
            "{group:<8} {name:<w$} {:<14} {rc:>9} {time:>8}  {result}\n",
            c.action
                .clone()
                .unwrap_or_default()
                .chars()
                .take(14)
                .collect::<String>()
        ));
    }
    s
}

/// JUnit XML, valid against `ocf-tester/schema/junit.xsd` (the structure Jenkins' JUnit
/// plugin and Maven Surefire read): one `<testcase>` per check; a counted failure is a
/// `<failure>`, a failure not counted in the legacy profile a `<failure type="not-counted">`,
/// a **warning a `<skipped>` whose message starts with `warning:`** (CI servers show it without
/// failing the build), a check not run a `<skipped>`; the agent's output of a failed or
/// warned step is the testcase's `<system-out>`. Suite properties: profile, strict,
/// executor, warnings.
pub fn junit(r: &Report) -> String {
    let esc = |t: &str| quick_xml::escape::escape(clean_xml(t)).into_owned();
    let failures = r
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .count();
    let skipped = r
        .checks
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Skip | Verdict::Warn))
        .count();
    let total: f64 = r.checks.iter().filter_map(|c| c.seconds).sum();
    let name = esc(&format!("ocf-tester {}", r.agent));
    let tests = r.checks.len();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&format!(
        "<testsuites name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\">\n"
    ));
    s.push_str(&format!(
        "<testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{total:.3}\">\n"
    ));
    s.push_str("  <properties>\n");
    for (k, v) in [
        ("profile", r.profile.clone()),
        ("strict", r.strict.to_string()),
        ("executor", r.executor.clone()),
        ("warnings", r.warnings.to_string()),
        ("aborted", r.aborted.to_string()),
        ("passed", r.passed.to_string()),
    ] {
        s.push_str(&format!(
            "    <property name=\"{k}\" value=\"{}\"/>\n",
            esc(&v)
        ));
    }
    s.push_str("  </properties>\n");
    for c in &r.checks {
        let class = format!("{:?}", c.group).to_lowercase();
        s.push_str(&format!(
            "  <testcase classname=\"{}.{class}\" name=\"{}\" time=\"{:.3}\">",
            esc(&r.profile),
            esc(&c.name),
            c.seconds.unwrap_or(0.0)
        ));
        let rc = c.rc.clone().unwrap_or_else(|| "-".into());
        match c.verdict {
            Verdict::Fail => {
                let kind = if c.counted { "failure" } else { "not-counted" };
                s.push_str(&format!(
                    "<failure type=\"{kind}\" message=\"{}\">{}</failure>",
                    esc(&format!("rc={rc}: {}", c.message)),
                    esc(&c.details.join("\n"))
                ));
            }
            Verdict::Warn => {
                s.push_str(&format!(
                    "<skipped message=\"{}\"/>",
                    esc(&format!("warning: rc={rc}: {}", c.message))
                ));
            }
            Verdict::Skip => {
                s.push_str(&format!("<skipped message=\"{}\"/>", esc(&c.message)));
            }
            Verdict::Info | Verdict::Pass => {}
        }
        let out = match (&c.output, c.verdict) {
            (Some(o), Verdict::Fail | Verdict::Warn) if !o.is_empty() => o.clone(),
            (_, Verdict::Info) if !c.message.is_empty() => c.message.clone(),
            _ => String::new(),
        };
        if !out.is_empty() {
            s.push_str(&format!("<system-out>{}</system-out>", esc(&out)));
        }
        s.push_str("</testcase>\n");
    }
    s.push_str("</testsuite>\n</testsuites>\n");
    s
}

/// Characters XML 1.0 cannot carry (control characters an agent may print) become U+FFFD.
fn clean_xml(t: &str) -> std::borrow::Cow<'_, str> {
    let bad = |ch: char| matches!(ch, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    if t.chars().any(bad) {
        t.chars()
            .map(|ch| if bad(ch) { '\u{fffd}' } else { ch })
            .collect::<String>()
            .into()
    } else {
        t.into()
    }
}
