//! A background sampler: checks a per-node predicate on every running node at a fixed
//! period while a scenario moves things around, and records every moment where more than
//! one running node satisfied it (e.g. "has the floating IP", "has the filesystem mounted").
use super::harness::{log, node_running};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a sampler saw.
#[derive(Debug, Default)]
pub struct Samples {
    /// Complete rounds over all nodes.
    pub rounds: usize,
    /// Sampling time.
    pub duration: Duration,
    /// Longest time between the starts of two consecutive rounds.
    pub max_gap: Duration,
    /// Rounds where several running nodes held the thing: (seconds since start, nodes).
    pub doubles: Vec<(f64, Vec<usize>)>,
    /// Which nodes held it at least once.
    pub holders: Vec<usize>,
}

impl Samples {
    /// Rounds per second.
    pub fn rate(&self) -> f64 {
        self.rounds as f64 / self.duration.as_secs_f64().max(0.001)
    }
}

/// A running sampler; [`Sampler::finish`] stops it and returns what it saw.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Samples>>,
    what: String,
}

impl Sampler {
    /// Check `holds(i)` for nodes 1..=n (running nodes only: a crashed node's namespace
    /// keeps its addresses) every `period`.
    pub fn start(
        what: &str,
        n: usize,
        period: Duration,
        holds: impl Fn(usize) -> bool + Send + 'static,
    ) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            let mut s = Samples::default();
            let mut last: Option<Instant> = None;
            while !flag.load(Ordering::SeqCst) {
                let t = Instant::now();
                if let Some(l) = last {
                    s.max_gap = s.max_gap.max(t - l);
                }
                last = Some(t);
                let mut now: Vec<usize> = Vec::new();
                for i in 1..=n {
                    // Running before and after the look: a node crashed meanwhile is not live.
                    if node_running(i) && holds(i) && node_running(i) {
                        now.push(i);
                    }
                }
                for i in &now {
                    if !s.holders.contains(i) {
                        s.holders.push(*i);
                    }
                }
                if now.len() > 1 {
                    s.doubles.push((t0.elapsed().as_secs_f64(), now));
                }
                s.rounds += 1;
                std::thread::sleep(period.saturating_sub(t.elapsed()));
            }
            s.duration = t0.elapsed();
            s
        });
        Sampler {
            stop,
            handle: Some(handle),
            what: what.to_string(),
        }
    }

    /// Stop sampling; log and return the result.
    pub fn finish(mut self) -> Samples {
        self.stop.store(true, Ordering::SeqCst);
        let s = self
            .handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        log(format!(
            "sampler '{}': {} rounds in {:.1}s = {:.1} rounds/s over every node, longest gap {} ms, \
             held by nodes {:?}, on several nodes at once {} times",
            self.what,
            s.rounds,
            s.duration.as_secs_f64(),
            s.rate(),
            s.max_gap.as_millis(),
            s.holders,
            s.doubles.len()
        ));
        s
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
