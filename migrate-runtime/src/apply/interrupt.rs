//! Stopping a run from outside (Ctrl-C, SIGTERM, a supervisor): a flag the
//! engines read between revisions, and a way to cancel the statement that
//! is running when the request arrives, so that its revision rolls back
//! rather than running to its end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

type Cancel = Box<dyn Fn() + Send>;

/// A request to stop, shared between whoever asks (a signal handler on
/// another thread) and the run that honours it. Cloning shares it.
///
/// ```
/// let interrupt = migrate_runtime::apply::Interrupt::new();
/// let options = migrate_runtime::apply::Options { interrupt: interrupt.clone(), ..migrate_runtime::apply::Options::new("app") };
/// interrupt.request();
/// assert!(options.interrupt.is_requested());
/// ```
#[derive(Clone, Default)]
pub struct Interrupt(Arc<Inner>);

#[derive(Default)]
struct Inner {
    requested: AtomicBool,
    /// Cancels what the run is executing right now; set while it runs.
    cancel: Mutex<Option<Cancel>>,
}

impl Interrupt {
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Asks the run to stop: no further revision starts, and the statement
    /// running now is cancelled where the engine can (its revision then
    /// rolls back). Safe to call from any thread, any number of times.
    pub fn request(&self) {
        self.0.requested.store(true, Ordering::SeqCst);
        if let Some(cancel) = self.0.cancel.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            cancel();
        }
    }

    pub fn is_requested(&self) -> bool {
        self.0.requested.load(Ordering::SeqCst)
    }

    /// Runs `body` with `cancel` as the way to stop its current statement.
    pub(crate) fn cancelling_with<T>(
        &self,
        cancel: impl Fn() + Send + 'static,
        body: impl FnOnce() -> T,
    ) -> T {
        *self.0.cancel.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(cancel));
        // A request that came before the canceller was in place.
        if self.is_requested() {
            self.request();
        }
        let result = body();
        *self.0.cancel.lock().unwrap_or_else(|e| e.into_inner()) = None;
        result
    }
}

/// Equal when shared: options compare equal only with the same interrupt.
impl PartialEq for Interrupt {
    fn eq(&self, other: &Interrupt) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Interrupt {}

impl std::fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interrupt").field("requested", &self.is_requested()).finish()
    }
}
