//! How an `upgrade`, `downgrade` or `reset` reads while it runs, as cargo's
//! builds do: each revision's start (`[k/n]`), its end with its time, a
//! total, and a wait for another migrator's lock said out loud.
//!
//! - On a terminal, a live bar on stderr shows the revision running; the
//!   lines of finished revisions print above it.
//! - Elsewhere (a deploy log), and with `-v`, a line on stderr as each
//!   revision starts instead of the bar.
//! - With `-q`, nothing but warnings and errors; with `--format json`,
//!   stdout holds only the document, and a wait is still told on stderr.

use crate::commands::Context;
use crate::output::{eprint, paint, print, ID};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use migrate_runtime::apply::{Action, Event, Progress, Step};
use migrate_runtime::Direction;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `-q`, or `--format json`: only waits, on stderr, and not with `-q`.
    Silent { waits: bool },
    /// A line per start, per end, and a total.
    Lines,
    /// The bar instead of the start lines.
    Bar,
}

/// One run's view; cheap to clone into the library's callback.
#[derive(Clone)]
pub struct RunView {
    mode: Mode,
    direction: Direction,
    state: Arc<Mutex<State>>,
}

struct State {
    bar: Option<ProgressBar>,
    /// The `k/n` of the revision running, for its end line.
    position: Option<(usize, usize)>,
    started: Instant,
    done: usize,
}

impl RunView {
    pub fn new(cx: &Context, direction: Direction) -> RunView {
        let mode = match (&cx.global, cx.json()) {
            (global, _) if global.quiet => Mode::Silent { waits: false },
            (_, true) => Mode::Silent { waits: true },
            (global, false) if global.verbose || !std::io::stderr().is_terminal() => Mode::Lines,
            _ => Mode::Bar,
        };
        let state = State { bar: None, position: None, started: Instant::now(), done: 0 };
        RunView { mode, direction, state: Arc::new(Mutex::new(state)) }
    }

    /// What the library's run sends its events to.
    pub fn progress(&self) -> Progress {
        let view = self.clone();
        Progress::new(move |event| view.event(event))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn event(&self, event: &Event<'_>) {
        match *event {
            Event::Starting { revision, message, index, total, .. } => {
                self.starting(revision, message, index, total)
            }
            Event::Waiting { holder, waited } => self.waiting(holder, waited),
            _ => {}
        }
    }

    fn starting(&self, revision: &str, message: &str, index: usize, total: usize) {
        let mut state = self.state();
        state.position = Some((index, total));
        match self.mode {
            Mode::Silent { .. } => {}
            Mode::Lines => eprint(&format!(
                "{} {}  {message}  [{index}/{total}]\n",
                self.verb_starting(),
                paint(ID, revision)
            )),
            Mode::Bar => {
                let bar = state.bar.get_or_insert_with(|| new_bar(total));
                bar.set_length(total as u64);
                bar.set_position(index as u64 - 1);
                bar.set_message(format!("{revision}  {message}"));
            }
        }
    }

    fn waiting(&self, holder: &str, waited: Duration) {
        if self.mode == (Mode::Silent { waits: false }) {
            return;
        }
        let line = format!("waiting for the lock ({} s so far): {holder}\n", waited.as_secs());
        match &self.state().bar {
            Some(bar) => bar.suspend(|| eprint(&line)),
            None => eprint(&line),
        }
    }

    /// A revision finished: its line, with its time and `k/n`.
    pub fn finished(&self, step: &Step) {
        let mut state = self.state();
        state.done += 1;
        if matches!(self.mode, Mode::Silent { .. }) {
            return;
        }
        let verb = match (step.action, self.direction) {
            (Action::Snapshot, _) => "snapshot",
            (_, Direction::Upgrade) => "applied ",
            (_, Direction::Downgrade) => "reverted",
        };
        let ms = step.elapsed.as_secs_f64() * 1000.0;
        let of = state.position.take().map_or(String::new(), |(k, n)| format!(", {k}/{n}"));
        let line = format!("{verb} {}  {}  ({ms:.1} ms{of})\n", paint(ID, &step.revision), step.message);
        match &state.bar {
            Some(bar) => {
                bar.suspend(|| print(&line));
                bar.inc(1);
            }
            None => print(&line),
        }
    }

    /// The run ended well: the bar goes, and a total is printed.
    pub fn end(&self) {
        let mut state = self.state();
        if let Some(bar) = state.bar.take() {
            bar.finish_and_clear();
        }
        if matches!(self.mode, Mode::Silent { .. }) {
            return;
        }
        let seconds = state.started.elapsed().as_secs_f64();
        match state.done {
            0 => print("nothing to do\n"),
            n => print(&format!(
                "{} {n} revision{} in {seconds:.2} s\n",
                self.verb_done(),
                if n == 1 { "" } else { "s" }
            )),
        }
    }

    fn verb_starting(&self) -> &'static str {
        match self.direction {
            Direction::Upgrade => "applying ",
            Direction::Downgrade => "reverting",
        }
    }

    fn verb_done(&self) -> &'static str {
        match self.direction {
            Direction::Upgrade => "applied",
            Direction::Downgrade => "reverted",
        }
    }
}

impl Drop for State {
    /// A run that failed leaves no bar behind its error.
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// The bar, drawn once the run has lasted a second: a run that ends
/// sooner leaves only its lines, with no bar flashing by.
fn new_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
    let style = ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    let shown = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        if !shown.is_finished() {
            shown.set_draw_target(ProgressDrawTarget::stderr());
            shown.enable_steady_tick(Duration::from_millis(200));
        }
    });
    bar
}
