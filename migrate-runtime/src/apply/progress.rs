//! What a run says while it runs: a revision starting (the `k`-th of `n`)
//! and a wait for another migrator's lock. The steps that finished are
//! reported through the `on_step` callback of `upgrade`/`downgrade`; these
//! are the moments before, when a long revision or a held lock would
//! otherwise leave a deploy log silent.

use crate::model::Direction;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A moment of a run, for [`Progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// `revision` is about to run: the `index`-th (from 1) of the `total`
    /// the run has planned so far (a plan made again after another
    /// migrator's commit may change `total`).
    Starting { revision: &'a str, message: &'a str, direction: Direction, index: usize, total: usize },
    /// The run waits for a lock another migrator holds; `holder` says who
    /// (for PostgreSQL the backend's pid, application, client and since
    /// when). Sent when the wait starts and then every
    /// [`Progress::REMIND_EVERY`] while it lasts, with the time waited.
    Waiting { holder: &'a str, waited: Duration },
}

/// Where a run sends its [`Event`]s: nowhere by default.
///
/// ```
/// use migrate_runtime::apply::{Event, Options, Progress};
/// let mut options = Options::new("app");
/// options.progress = Progress::new(|event| {
///     if let Event::Starting { revision, index, total, .. } = event {
///         eprintln!("[{index}/{total}] {revision}");
///     }
/// });
/// ```
#[derive(Clone, Default)]
pub struct Progress(Option<Arc<Report>>);

/// What hears a run's events.
type Report = dyn Fn(&Event<'_>) + Send + Sync;

impl Progress {
    /// How often a wait for a lock is reported again.
    pub const REMIND_EVERY: Duration = Duration::from_secs(10);

    pub fn new(report: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Progress {
        Progress(Some(Arc::new(report)))
    }

    /// Tells `event` to whoever listens: what an engine does, and what a
    /// program relaying another's run (`cargo migrate` its runner's) does.
    pub fn send(&self, event: Event<'_>) {
        if let Some(report) = &self.0 {
            report(&event);
        }
    }

    /// Whether anyone listens: a wait's holder costs a query to describe.
    pub(crate) fn is_heard(&self) -> bool {
        self.0.is_some()
    }
}

impl PartialEq for Progress {
    fn eq(&self, other: &Progress) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for Progress {}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress").field("heard", &self.is_heard()).finish()
    }
}

/// Counts a run's revisions for [`Event::Starting`].
#[derive(Debug, Default)]
pub(crate) struct Counter {
    started: usize,
}

impl Counter {
    /// `revision` starts; `remaining` revisions of the plan, it included,
    /// are still to run.
    pub(crate) fn start(
        &mut self,
        progress: &Progress,
        revision: &crate::Revision,
        direction: Direction,
        remaining: usize,
    ) {
        self.started += 1;
        progress.send(Event::Starting {
            revision: &revision.id,
            message: &revision.message,
            direction,
            index: self.started,
            total: self.started - 1 + remaining,
        });
    }
}

/// A wait for a lock, told to [`Progress`] once it has lasted a second
/// (two migrators starting together wait a few milliseconds, which is not
/// news), then every [`Progress::REMIND_EVERY`].
pub(crate) struct Waiting<'p> {
    progress: &'p Progress,
    since: Instant,
    next: Option<Instant>,
}

impl<'p> Waiting<'p> {
    const FIRST_AFTER: Duration = Duration::from_secs(1);

    pub(crate) fn new(progress: &'p Progress) -> Waiting<'p> {
        let since = Instant::now();
        let next = progress.is_heard().then_some(since + Self::FIRST_AFTER);
        Waiting { progress, since, next }
    }

    /// Whether the wait is due to be told (and its holder worth looking up).
    #[cfg(feature = "postgres")]
    pub(crate) fn due(&self) -> bool {
        self.next.is_some_and(|next| Instant::now() >= next)
    }

    /// How long until the wait is due to be told; `None` when nobody
    /// listens.
    #[cfg(feature = "sqlite")]
    pub(crate) fn until_due(&self) -> Option<Duration> {
        self.next.map(|next| next.saturating_duration_since(Instant::now()))
    }

    pub(crate) fn tell(&mut self, holder: &str) {
        self.progress.send(Event::Waiting { holder, waited: self.since.elapsed() });
        self.next = Some(Instant::now() + Progress::REMIND_EVERY);
    }
}
