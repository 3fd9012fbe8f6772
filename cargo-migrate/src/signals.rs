//! Ctrl-C and SIGTERM while revisions run: the first asks the run to stop
//! at a safe point (the running statement is cancelled and its revision
//! rolls back, the lock is released); a second ends the process at once,
//! leaving the rollback to the database, as before. The exit code is then
//! 128 + the signal's number (130 for SIGINT, 143 for SIGTERM).

use migrate_runtime::apply::Interrupt;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The first signal received, 0 for none.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

type Cleanup = Box<dyn Fn() + Send + Sync>;

/// What a second signal does before it ends the process, by key: the
/// process exits without running destructors, so what they would have
/// cleaned up (a scratch database on the user's server) is done here.
static ON_QUIT: Mutex<Vec<(usize, Cleanup)>> = Mutex::new(Vec::new());

/// Keeps a cleanup registered with [`on_quit`] until dropped.
pub struct QuitGuard(usize);

/// Runs `cleanup` if a second signal ends the process while the returned
/// guard lives.
pub fn on_quit(cleanup: impl Fn() + Send + Sync + 'static) -> QuitGuard {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let key = NEXT.fetch_add(1, Ordering::SeqCst);
    ON_QUIT.lock().unwrap_or_else(|e| e.into_inner()).push((key, Box::new(cleanup)));
    QuitGuard(key)
}

impl Drop for QuitGuard {
    fn drop(&mut self) {
        ON_QUIT.lock().unwrap_or_else(|e| e.into_inner()).retain(|(key, _)| *key != self.0);
    }
}

/// Runs every registered cleanup, then exits with `code`.
fn quit(code: i32) -> ! {
    for (_, cleanup) in ON_QUIT.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        cleanup();
    }
    std::process::exit(code)
}

/// The process's interrupt, which SIGINT and SIGTERM request from the
/// first call on (one listener, however many runs ask).
pub fn watch() -> Interrupt {
    static INTERRUPT: std::sync::OnceLock<Interrupt> = std::sync::OnceLock::new();
    INTERRUPT
        .get_or_init(|| {
            let interrupt = Interrupt::new();
            listen(interrupt.clone());
            interrupt
        })
        .clone()
}

/// The exit code for a run a signal stopped: 128 + its number.
pub fn exit_code() -> Option<u8> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => u8::try_from(128 + signal).ok(),
    }
}

#[cfg(unix)]
fn listen(interrupt: Interrupt) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else { return };
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst).is_err() {
                quit(128 + signal);
            }
            let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
            crate::output::print_warning(&format!(
                "{name}: stopping at a safe point (the running revision rolls back); send it again to quit now"
            ));
            interrupt.request();
        }
    });
}

#[cfg(not(unix))]
fn listen(_: Interrupt) {}
