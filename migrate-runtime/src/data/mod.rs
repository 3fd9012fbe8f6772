//! Data migrations in Rust: what a Rust revision's `upgrade` and
//! `downgrade` functions receive ([`Handle`]), return ([`DataError`]) and
//! exchange with the database ([`Value`], [`Row`]), and how an engine runs
//! them ([`RustCode`], `run`).
//!
//! The functions are `async`: on PostgreSQL the engine drives
//! tokio-postgres futures on its own current-thread runtime, and a
//! synchronous function could not wait for a driver future from inside the
//! engine's future (blocking on that runtime from within it panics). An
//! async function is awaited by the engine like its own queries; on SQLite,
//! whose driver is synchronous, the same future completes on its first poll
//! (`block_on`). One signature, one handle, for both databases.
//!
//! The handle's types are driver-free, so a chain's generated code names
//! them whatever features the runtime has; the methods reach a database
//! only through a driver compiled in.

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use crate::model::Direction;
use crate::Dialect;
use std::future::Future;
use std::marker::PhantomData;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

/// What a Rust revision's function returns while it runs.
pub type DataFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DataError>> + 'a>>;

/// A Rust revision's `upgrade` or `downgrade`, as the code generator wraps
/// it: `async fn upgrade(db: &mut Handle<'_>) -> Result<(), DataError>`.
pub type DataFn = for<'a, 'b> fn(&'a mut Handle<'b>) -> DataFuture<'a>;

/// A Rust revision's functions, compiled into the program that embeds its
/// chain.
#[derive(Clone, Copy)]
pub struct RustCode {
    pub upgrade: DataFn,
    /// `None`: the revision is irreversible.
    pub downgrade: Option<DataFn>,
}

impl RustCode {
    /// The function a step in `direction` runs.
    pub fn function(&self, direction: Direction) -> Option<DataFn> {
        match direction {
            Direction::Upgrade => Some(self.upgrade),
            Direction::Downgrade => self.downgrade,
        }
    }
}

impl std::fmt::Debug for RustCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RustCode").field("downgrade", &self.downgrade.is_some()).finish_non_exhaustive()
    }
}

impl PartialEq for RustCode {
    /// Revisions are compared by what they are (their checksums), not by
    /// where their functions were linked.
    fn eq(&self, _: &RustCode) -> bool {
        true
    }
}

impl Eq for RustCode {}

/// Why a Rust revision's function failed. A revision returns its own
/// errors with [`DataError::new`] (or `?` on a `String`/`&str`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// The database refused a statement.
    #[error("{message} (in `{sql}`)")]
    Database { sql: String, message: String },
    /// A column missing from a row, or not of the type asked for.
    #[error("column `{column}`: {reason}")]
    Column { column: String, reason: String },
    /// The function panicked; the panic's message.
    #[error("panicked: {message}")]
    Panicked { message: String },
    /// The run was asked to stop (Ctrl-C, SIGTERM) while the function ran.
    #[error("interrupted")]
    Interrupted,
    /// The revision's own error.
    #[error("{0}")]
    Message(String),
}

impl DataError {
    /// The revision's own error, e.g. `DataError::new(format!("row {id}: no name"))`.
    pub fn new(message: impl std::fmt::Display) -> DataError {
        DataError::Message(message.to_string())
    }
}

impl From<String> for DataError {
    fn from(message: String) -> DataError {
        DataError::Message(message)
    }
}

impl From<&str> for DataError {
    fn from(message: &str) -> DataError {
        DataError::Message(message.to_string())
    }
}

/// A parameter or a column's value, as both databases have them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

macro_rules! value_from {
    ($($t:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from($v: $t) -> Value {
                $e
            }
        }
    )*};
}

value_from! {
    i64 => |v| Value::Integer(v),
    i32 => |v| Value::Integer(v.into()),
    bool => |v| Value::Integer(v.into()),
    f64 => |v| Value::Real(v),
    String => |v| Value::Text(v),
    &str => |v| Value::Text(v.to_string()),
    &String => |v| Value::Text(v.clone()),
    Vec<u8> => |v| Value::Blob(v),
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Value {
        value.map_or(Value::Null, Into::into)
    }
}

/// A type a column's [`Value`] converts to ([`Row::get`]).
pub trait FromValue: Sized {
    /// The value, or why it is not one of these.
    fn from_value(value: &Value) -> Result<Self, String>;
}

fn mismatch<T>(value: &Value, wanted: &str) -> Result<T, String> {
    let found = match value {
        Value::Null => "NULL",
        Value::Integer(_) => "an integer",
        Value::Real(_) => "a real number",
        Value::Text(_) => "text",
        Value::Blob(_) => "a blob",
    };
    Err(format!("{found}, not {wanted}"))
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Result<i64, String> {
        match value {
            Value::Integer(v) => Ok(*v),
            other => mismatch(other, "an integer"),
        }
    }
}

impl FromValue for i32 {
    fn from_value(value: &Value) -> Result<i32, String> {
        let wide = i64::from_value(value)?;
        i32::try_from(wide).map_err(|_| format!("{wide} does not fit an i32"))
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<bool, String> {
        Ok(i64::from_value(value)? != 0)
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<f64, String> {
        match value {
            Value::Real(v) => Ok(*v),
            Value::Integer(v) => Ok(*v as f64),
            other => mismatch(other, "a real number"),
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<String, String> {
        match value {
            Value::Text(v) => Ok(v.clone()),
            other => mismatch(other, "text"),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Vec<u8>, String> {
        match value {
            Value::Blob(v) => Ok(v.clone()),
            other => mismatch(other, "a blob"),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Option<T>, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One row a query returned: its columns by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    columns: std::sync::Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    /// The value of column `name` as a `T` (`Option<T>` for a nullable one).
    pub fn get<T: FromValue>(&self, name: &str) -> Result<T, DataError> {
        let column = |reason: String| DataError::Column { column: name.to_string(), reason };
        let index = self.columns.iter().position(|c| c == name).ok_or_else(|| {
            column(format!("no such column; the query returned {}", self.columns.join(", ")))
        })?;
        T::from_value(&self.values[index]).map_err(column)
    }

    /// The raw value of column `name`, if there is one.
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.columns.iter().position(|c| c == name).map(|index| &self.values[index])
    }
}

/// The open transaction of the revision that runs, on either database.
/// Parameters are written `$1`, `$2`… on both.
pub struct Handle<'a> {
    inner: Inner<'a>,
    /// The run's interrupt: a Ctrl-C lands between two calls of a data
    /// migration as often as during one, where no statement is running to
    /// cancel, so each call checks it first.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    interrupt: crate::apply::Interrupt,
}

enum Inner<'a> {
    #[cfg(feature = "sqlite")]
    Sqlite(&'a rusqlite::Connection),
    #[cfg(feature = "postgres")]
    Postgres(&'a tokio_postgres::Client),
    /// Keeps the lifetime when no driver is compiled in; never made.
    #[allow(dead_code)]
    Unreachable(PhantomData<&'a ()>, std::convert::Infallible),
}

// Without a driver the methods' arguments go unused: no handle exists.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(unused_variables))]
impl Handle<'_> {
    /// The database the revision runs on.
    pub fn dialect(&self) -> Dialect {
        match &self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Inner::Postgres(_) => Dialect::Postgres,
            Inner::Unreachable(_, never) => match *never {},
        }
    }

    /// Runs one statement with its parameters; the number of rows changed.
    pub async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DataError> {
        self.stop_if_interrupted()?;
        match &self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(conn) => sqlite::execute(conn, sql, params),
            #[cfg(feature = "postgres")]
            Inner::Postgres(client) => postgres::execute(client, sql, params).await,
            Inner::Unreachable(_, never) => match *never {},
        }
    }

    /// Runs one query with its parameters; every row it returns.
    pub async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DataError> {
        self.stop_if_interrupted()?;
        match &self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(conn) => sqlite::query(conn, sql, params),
            #[cfg(feature = "postgres")]
            Inner::Postgres(client) => postgres::query(client, sql, params).await,
            Inner::Unreachable(_, never) => match *never {},
        }
    }

    /// Runs one statement once per parameter list (prepared once); the
    /// number of rows changed in all.
    pub async fn execute_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> Result<u64, DataError> {
        self.stop_if_interrupted()?;
        match &self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(conn) => sqlite::execute_many(conn, sql, rows),
            #[cfg(feature = "postgres")]
            Inner::Postgres(client) => postgres::execute_many(client, sql, rows).await,
            Inner::Unreachable(_, never) => match *never {},
        }
    }

    /// Runs several statements without parameters (DDL, say).
    pub async fn batch(&mut self, sql: &str) -> Result<(), DataError> {
        self.stop_if_interrupted()?;
        match &self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(conn) => conn.execute_batch(sql).map_err(|e| database_error(sql, e)),
            #[cfg(feature = "postgres")]
            Inner::Postgres(client) => client.batch_execute(sql).await.map_err(|e| database_error(sql, e)),
            Inner::Unreachable(_, never) => match *never {},
        }
    }

    /// [`DataError::Interrupted`] once the run is asked to stop.
    fn stop_if_interrupted(&self) -> Result<(), DataError> {
        match self.interrupt.is_requested() {
            true => Err(DataError::Interrupted),
            false => Ok(()),
        }
    }

    /// rusqlite's connection, inside the revision's transaction (its
    /// `BEGIN` is the engine's), for what the handle does not do.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            Inner::Sqlite(conn) => Some(conn),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// tokio-postgres's client, inside the revision's transaction (the
    /// engine sent its `BEGIN`), for what the handle does not do.
    #[cfg(feature = "postgres")]
    pub fn postgres(&self) -> Option<&tokio_postgres::Client> {
        match &self.inner {
            Inner::Postgres(client) => Some(client),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn database_error(sql: &str, error: impl std::fmt::Display) -> DataError {
    DataError::Database { sql: sql.to_string(), message: error.to_string() }
}

/// The function a compiled-in Rust revision runs in `direction`, or why
/// there is none (not compiled in, or no `downgrade`).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn function(
    revision: &crate::Revision,
    direction: Direction,
) -> Result<DataFn, crate::ApplyError> {
    revision.refuse_uncompiled()?;
    let function = revision.code.and_then(|code| code.function(direction));
    function.ok_or_else(|| crate::ApplyError::Irreversible {
        at: revision.location.clone(),
        revision: revision.id.clone(),
    })
}

/// The error of a Rust revision whose function failed or panicked.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn failed(
    revision: &crate::Revision,
    direction: Direction,
    error: DataError,
) -> crate::ApplyError {
    crate::ApplyError::RustFailed {
        at: revision.location.clone(),
        revision: revision.id.clone(),
        direction,
        error: Box::new(error),
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// Runs `function` to completion on `handle`: its error, or its panic as a
/// [`DataError::Panicked`], so that one revision's panic rolls back that
/// revision alone and the run reports it like any failure.
pub(crate) async fn run(function: DataFn, handle: &mut Handle<'_>) -> Result<(), DataError> {
    // Moving the handle in (not reborrowing it) makes the closure
    // `FnOnce`, so the future may keep the borrow it returns.
    let future = match catch_unwind(AssertUnwindSafe(move || {
        let handle = handle;
        function(handle)
    })) {
        Ok(future) => future,
        Err(panic) => return Err(panicked(panic)),
    };
    CatchUnwind(future).await
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
struct CatchUnwind<'a>(DataFuture<'a>);

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl Future for CatchUnwind<'_> {
    type Output = Result<(), DataError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(panic) => Poll::Ready(Err(panicked(panic))),
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn panicked(panic: Box<dyn std::any::Any + Send>) -> DataError {
    let message = match panic.downcast::<String>() {
        Ok(message) => *message,
        Err(panic) => panic.downcast::<&str>().map_or_else(|_| "(no message)".to_string(), |m| m.to_string()),
    };
    DataError::Panicked { message }
}

/// Polls `future` on this thread until it is ready: what runs a Rust
/// revision on SQLite, whose driver never waits (the future is ready on the
/// first poll unless the revision awaits something of its own).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}
