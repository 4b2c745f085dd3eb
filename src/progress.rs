//! Progress bars on standard error (indicatif): one per solver's repeats, per peer and for a
//! sweep's points, with elapsed time and ETA. Drawn only on a terminal and never with `--quiet`;
//! hidden, every call is a no-op, so the library reports progress the same way everywhere.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress goes: bars on stderr, or nowhere.
#[derive(Debug, Clone)]
pub struct Progress {
    bars: Option<MultiProgress>,
}

/// A bar's template: label, bar, count, message, elapsed and ETA.
const TEMPLATE: &str =
    "{prefix:<24!} {bar:20.cyan/blue} {pos:>2}/{len:<2} {msg:<14!} {elapsed:>3} ETA {eta}";

/// A task whose number of steps is not known yet: a spinner.
const SPINNER: &str = "{prefix:<24!} {spinner} {msg:<38!} {elapsed:>3}";

impl Progress {
    /// Bars on stderr when it is a terminal and `quiet` is false; nothing otherwise.
    pub fn new(quiet: bool) -> Self {
        if quiet || !std::io::stderr().is_terminal() {
            return Self::hidden();
        }
        Self {
            bars: Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// No progress at all (tests, `--quiet`, a pipe).
    pub fn hidden() -> Self {
        Self { bars: None }
    }

    /// A new task labelled `label` (a solver and its device, a peer, a sweep point), with a
    /// spinner until [`Task::set_steps`] says how many steps it has.
    pub fn task(&self, label: impl Into<String>) -> Task {
        let Some(bars) = &self.bars else {
            return Task { bar: None };
        };
        let bar = bars.add(ProgressBar::new_spinner());
        bar.set_style(ProgressStyle::with_template(SPINNER).expect("template parses"));
        bar.set_prefix(label.into());
        bar.enable_steady_tick(Duration::from_millis(120));
        Task { bar: Some(bar) }
    }

    /// A line above the bars; nothing when progress is hidden.
    pub fn println(&self, line: &str) {
        if let Some(bars) = &self.bars {
            let _ = bars.println(line);
        }
    }
}

/// One bar; cleared when dropped.
#[derive(Debug)]
pub struct Task {
    bar: Option<ProgressBar>,
}

impl Task {
    /// The task has `steps` steps in all (it becomes a bar with an ETA).
    pub fn set_steps(&self, steps: u64) {
        if let Some(bar) = self.bar.as_ref().filter(|b| b.length() != Some(steps)) {
            bar.set_style(ProgressStyle::with_template(TEMPLATE).expect("template parses"));
            bar.set_length(steps);
        }
    }

    /// One step done.
    pub fn step(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Steps done so far.
    pub fn set_position(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// What the task is doing now, e.g. `repeat 3/10`.
    pub fn set_message(&self, message: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.into());
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_progress_does_nothing_and_costs_nothing() {
        let p = Progress::hidden();
        let t = p.task("cpu-fused");
        t.set_steps(3);
        t.step();
        t.set_message("repeat 2/3");
        p.println("a line nobody sees");
        assert!(t.bar.is_none());
    }
}
