//! [`Act`]: run one action of a prepared invocation and assert its exit code, in one call.
//!
//! The agent tests run the same few steps again and again (`start`, a probe, a recurring
//! monitor, a monitor at a check level) on one prepared [`Run`], each on a copy so that the
//! next step starts from the same parameters. `r.act("start", Rc::Success)` stands for
//! `r.clone().action("start").run().assert_rc(Rc::Success)`; the returned [`Outcome`] takes
//! further assertions (`.assert_reason_contains(...)`). A failure names the action and, with
//! `#[track_caller]`, the test line of the step.
use ocf::testing::{Outcome, Run};
use ocf::Rc;

/// One action of a prepared invocation, its exit code asserted.
pub trait Act {
    /// Runs `action` on a copy of this invocation; panics unless it exits with `rc`.
    fn act(&self, action: &str, rc: Rc) -> Outcome;
    /// A probe: `monitor` with interval 0.
    fn act_probe(&self, rc: Rc) -> Outcome;
    /// A recurring monitor (interval 10 s).
    fn act_monitor(&self, rc: Rc) -> Outcome;
    /// `monitor` with `OCF_CHECK_LEVEL=depth` (and whatever interval this invocation has).
    fn act_depth(&self, depth: u32, rc: Rc) -> Outcome;
}

impl Act for Run {
    #[track_caller]
    fn act(&self, action: &str, rc: Rc) -> Outcome {
        let out = self.clone().action(action).run();
        assert_eq!(
            out.rc,
            i32::from(rc.code()),
            "{action}: expected {rc}, got {}\nstdout:\n{}\nstderr:\n{}",
            out.rc,
            out.stdout,
            out.stderr
        );
        out
    }
    #[track_caller]
    fn act_probe(&self, rc: Rc) -> Outcome {
        self.clone().probe().act("monitor", rc)
    }
    #[track_caller]
    fn act_monitor(&self, rc: Rc) -> Outcome {
        self.clone().recurring().act("monitor", rc)
    }
    #[track_caller]
    fn act_depth(&self, depth: u32, rc: Rc) -> Outcome {
        self.clone().depth(depth).act("monitor", rc)
    }
}
