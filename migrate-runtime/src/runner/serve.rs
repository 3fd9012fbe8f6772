//! The runner's side of the protocol: read the request, run it on the
//! embedded chain, and say each moment of the run as a JSON line.

use super::protocol::{mismatch, Command, Failure, Message, Request, PROTOCOL};
use crate::apply::{Event, Interrupt, Progress};
use crate::database::{Connector, DatabaseUrl};
use crate::Migrations;
use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// Where messages go: shared with the progress callback's thread.
#[derive(Clone)]
struct Out(Arc<Mutex<Box<dyn Write + Send>>>);

impl Out {
    /// One message, one line. A CLI that went away (a second Ctrl-C)
    /// closed the pipe: the run still stops at its safe point, unheard.
    fn send(&self, message: &Message) {
        let mut out = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Ok(mut line) = serde_json::to_string(message) {
            line.push('\n');
            let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
        }
    }
}

/// Serves one request read from `input`, answering on `output`; `watch`
/// gets the run's interrupt once the request is read (the runner's
/// `main` reads the rest of stdin for the CLI's stop). Exit code 0 when
/// the run succeeded, 1 when it failed, 2 for a request it cannot read.
pub fn serve(
    migrations: &Migrations,
    mut input: impl BufRead,
    output: impl Write + Send + 'static,
    watch: impl FnOnce(Interrupt),
) -> ExitCode {
    let out = Out(Arc::new(Mutex::new(Box::new(output))));
    out.send(&Message::Hello { protocol: PROTOCOL, runtime: env!("CARGO_PKG_VERSION").to_string() });
    let request = match read_request(&mut input) {
        Ok(request) => request,
        Err(failure) => {
            out.send(&Message::Failed(failure));
            return ExitCode::from(2);
        }
    };
    drop(input);
    let interrupt = Interrupt::new();
    watch(interrupt.clone());
    match run(migrations, &request, interrupt, &out) {
        Ok(()) => {
            out.send(&Message::Done);
            ExitCode::SUCCESS
        }
        Err(failure) => {
            out.send(&Message::Failed(failure));
            ExitCode::FAILURE
        }
    }
}

/// The request, after its protocol version: a request of another
/// version may not read as this one's at all.
fn read_request(input: &mut impl BufRead) -> Result<Request, Failure> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| Failure::new("runner-request", format!("cannot read the request: {e}")))?;
    let unreadable = |e: serde_json::Error| {
        Failure::new("runner-request", format!("the request is not protocol JSON: {e}"))
    };
    let value: serde_json::Value = serde_json::from_str(&line).map_err(unreadable)?;
    let version = value.get("protocol").and_then(serde_json::Value::as_u64).unwrap_or(0);
    if version != u64::from(PROTOCOL) {
        let us = format!("this runner (migrate-runtime {})", env!("CARGO_PKG_VERSION"));
        return Err(mismatch(u32::try_from(version).unwrap_or(u32::MAX), "cargo-migrate", &us));
    }
    serde_json::from_value(value).map_err(unreadable)
}

fn run(migrations: &Migrations, request: &Request, interrupt: Interrupt, out: &Out) -> Result<(), Failure> {
    let graph = migrations.graph().map_err(|errors| Failure::new("chain", errors))?;
    let url = DatabaseUrl::parse(&request.url).map_err(|e| Failure::new(e.code(), e))?;
    let warnings = out.clone();
    let mut connector = Connector::default()
        .on_warning(move |message| warnings.send(&Message::Warning { message: message.to_string() }));
    if let Some(schema) = &request.options.schema {
        // A schema per tenant: the run's objects and history live there.
        connector = connector.search_path(schema);
    }
    let database = connector.open(&url).map_err(|e| Failure::new(e.code(), e))?;
    let mut options = request.options.to_options();
    options.interrupt = interrupt;
    options.progress = progress(out.clone());
    let on_step = &mut |step: &crate::Step| out.send(&Message::step(step));
    let ran = match request.command {
        Command::Upgrade => database.upgrade(&graph, &options, &request.target, on_step),
        Command::Downgrade => database.downgrade(&graph, &options, &request.target, on_step),
    };
    ran.map(drop).map_err(|error| Failure::apply(&error))
}

/// The run's events as messages.
fn progress(out: Out) -> Progress {
    Progress::new(move |event| match *event {
        Event::Starting { revision, message, index, total, .. } => out.send(&Message::Starting {
            revision: revision.to_string(),
            message: message.to_string(),
            index,
            total,
        }),
        Event::Waiting { holder, waited } => out.send(&Message::Waiting {
            holder: holder.to_string(),
            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the runner answers `request` with, its exit code and lines.
    fn answer(request: &str) -> (ExitCode, Vec<Message>) {
        static EMPTY: Migrations =
            Migrations { package: "app", history_table: "migrate_history", revisions: &[], snapshots: &[] };
        let output = Arc::new(Mutex::new(Vec::new()));
        let code = serve(&EMPTY, request.as_bytes(), Shared(output.clone()), drop);
        let text = String::from_utf8(output.lock().unwrap().clone()).unwrap();
        (code, text.lines().map(|line| serde_json::from_str(line).unwrap()).collect())
    }

    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_request_of_another_protocol_is_refused_naming_both_versions() {
        let (code, messages) = answer(r#"{"protocol":99,"command":"sideways"}"#);
        assert_eq!(code, ExitCode::from(2));
        assert!(matches!(&messages[0], Message::Hello { protocol: PROTOCOL, .. }));
        let Message::Failed(failure) = &messages[1] else { panic!("{messages:?}") };
        assert_eq!(failure.code, "runner-protocol");
        assert!(
            failure.message.starts_with(&format!(
                "cargo-migrate speaks runner protocol 99 and this runner (migrate-runtime {}) speaks {PROTOCOL}: update this runner",
                env!("CARGO_PKG_VERSION")
            )),
            "{}",
            failure.message
        );
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn an_empty_chain_upgrades_to_done() {
        let options = super::super::WireOptions::new(&crate::Options::new("app"));
        let request = Request {
            protocol: PROTOCOL,
            command: Command::Upgrade,
            target: "heads".into(),
            url: "sqlite::memory:".into(),
            options,
        };
        let (code, messages) = answer(&serde_json::to_string(&request).unwrap());
        assert_eq!(code, ExitCode::SUCCESS, "{messages:?}");
        assert_eq!(messages.last(), Some(&Message::Done));
    }
}
