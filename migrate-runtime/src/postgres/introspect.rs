//! Reads the PostgreSQL schema a package owns, `public`, into [`Schema`]
//! from the system catalogues.
//!
//! Nothing here depends on the session's `search_path`: a `pg_dump -s`
//! output run as `schema.sql` empties it (`set_config('search_path', '',
//! false)`), and a role may set its own. The queries name the schema, and
//! they run with the `search_path` set to that schema alone (and put back
//! after), so the catalogue's renderings (`regclass`, `format_type`,
//! `pg_get_expr`, view and trigger definitions) leave its objects
//! unqualified, as the revisions wrote them.

use crate::schema::{normalise_sql, Column, Constraint, ForeignKey, Identity, Index, Schema, Table};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Error, Row, Statement};

const TABLES: &str = "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $2::name AND c.relkind IN ('r', 'p') AND ($1::text[] IS NULL OR c.relname = ANY($1)) ORDER BY 1";

const COLUMNS: &str = "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, \
     pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, \
     CASE WHEN a.attcollation <> t.typcollation THEN quote_ident(co.collname) END, a.attgenerated = 's' \
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_collation co ON co.oid = a.attcollation \
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     WHERE n.nspname = $2::name AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
     AND ($1::text[] IS NULL OR c.relname = ANY($1)) ORDER BY c.relname, a.attnum";

/// Column names of a key, in key order.
const KEY_COLUMNS: &str = "array(SELECT a.attname::text FROM unnest(%KEY%) WITH ORDINALITY k(num, ord) \
     JOIN pg_attribute a ON a.attrelid = %REL% AND a.attnum = k.num ORDER BY k.ord)";

const CONSTRAINTS: &str = "SELECT c.relname, con.contype::text, %OWN%, \
     CASE WHEN con.contype = 'f' THEN con.confrelid::regclass::text END, \
     CASE WHEN con.contype = 'f' THEN %REFERENCED% END, \
     con.confdeltype::text, con.confupdtype::text, pg_get_constraintdef(con.oid), con.conname::text \
     FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $2::name AND ($1::text[] IS NULL OR c.relname = ANY($1)) ORDER BY c.relname, con.conname";

const INDEXES: &str = "SELECT t.relname, i.relname, ix.indisunique, \
     array(SELECT CASE WHEN k.num = 0 THEN '(' || pg_get_indexdef(ix.indexrelid, k.ord::int, true) || ')' \
           ELSE a.attname::text END FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(num, ord) \
           LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.num ORDER BY k.ord), \
     pg_get_expr(ix.indpred, ix.indrelid) \
     FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     WHERE n.nspname = $2::name AND ($1::text[] IS NULL OR t.relname = ANY($1)) \
     AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid AND con.contype IN ('p', 'u', 'x')) \
     ORDER BY 1, 2";

const VIEWS: &str = "SELECT viewname::text, definition FROM pg_views WHERE schemaname = $2::name \
     AND ($1::text[] IS NULL OR viewname = ANY($1)) ORDER BY 1";

/// Triggers keyed `name on table`, as PostgreSQL names a trigger per table
/// (`set_updated_at` on every table is common).
const TRIGGERS: &str =
    "SELECT t.tgname || ' on ' || c.relname, pg_get_triggerdef(t.oid), coalesce(quote_ident(current_schema()), '') \
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $2::name AND NOT t.tgisinternal \
     AND ($1::text[] IS NULL OR t.tgname || ' on ' || c.relname = ANY($1)) ORDER BY 1";

/// A function's key, `name(argument types)`: the types PostgreSQL tells
/// overloads apart by and `DROP FUNCTION` takes. (The identity arguments
/// would add argument names, making a renamed argument another function.)
pub(super) const FUNCTION_KEY: &str = "p.proname || '(' || oidvectortypes(p.proargtypes) || ')'";

/// Functions and procedures (not aggregates or window functions) of the
/// current schema that no extension brought (`deptype` `e`).
pub(super) const OWN_FUNCTION: &str = "n.nspname = $2::name AND p.prokind IN ('f', 'p') \
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')";

const FUNCTIONS: &str =
    "SELECT %KEY%, pg_get_functiondef(p.oid), coalesce(quote_ident(current_schema()), '') \
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
     WHERE %OWN% AND ($1::text[] IS NULL OR %KEY% = ANY($1)) ORDER BY 1";

/// Whether sequence `c` is an identity column's (`deptype` `i`): it belongs
/// to the column, as a unique constraint's index does to the constraint,
/// and is not listed on its own.
pub(super) const IDENTITY_SEQUENCE: &str =
    "EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass \
     AND d.objid = c.oid AND d.deptype = 'i')";

const SEQUENCES: &str =
    "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $2::name AND c.relkind = 'S' AND NOT %IDENTITY% \
     AND ($1::text[] IS NULL OR c.relname::text = ANY($1)) ORDER BY 1";

const ENUMS: &str = "SELECT t.typname::text, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) \
     FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace \
     WHERE n.nspname = $2::name AND ($1::text[] IS NULL OR t.typname::text = ANY($1)) GROUP BY t.typname ORDER BY 1";

const EXTENSIONS: &str =
    "SELECT e.extname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
     WHERE n.nspname = $2::name AND ($1::text[] IS NULL OR e.extname::text = ANY($1)) ORDER BY 1";

/// The PostgreSQL schema a package's revisions create their objects in,
/// and the only one introspection reads.
pub(crate) const OWNED_SCHEMA: &str = "public";

/// The objects of schema `public`, the one a package owns, leaving out
/// `history_table` and its format record, whatever the session's `search_path`.
pub async fn introspect(client: &Client, history_table: &str) -> Result<Schema, tokio_postgres::Error> {
    introspect_objects(client, history_table, None).await
}

/// The objects of `schemas` (those a package owns, see
/// [`crate::chain::Config::schemas`]), leaving out `history_table`: the
/// first schema's under their own names, each other's as `schema.name`
/// ([`Schema::merge_qualified`]). Every schema is read with the
/// `search_path` set to the first alone, the one revisions create
/// unqualified objects in: the catalogue then renders what is in the
/// first schema unqualified and everything else qualified (a foreign key
/// to `auth.users`, a view joining it, a column of type `auth.mood`), as
/// the model names them. So a definition read from any schema runs as
/// written in a revision's session, and reads the same in every database
/// compared.
pub async fn introspect_schemas(
    client: &Client,
    history_table: &str,
    schemas: &[String],
) -> Result<Schema, tokio_postgres::Error> {
    let Some((first, others)) = schemas.split_first() else { return Ok(Schema::default()) };
    let mut schema = introspect_in(client, history_table, None, first, first).await?;
    for other in others {
        schema.merge_qualified(introspect_in(client, history_table, None, other, first).await?, other);
    }
    Ok(schema)
}

/// Like [`introspect`], for only the objects named in `names` (tables,
/// views, triggers, functions, sequences, enums; all of them when `None`).
pub async fn introspect_objects(
    client: &Client,
    history_table: &str,
    names: Option<&[String]>,
) -> Result<Schema, tokio_postgres::Error> {
    introspect_in(client, history_table, names, OWNED_SCHEMA, OWNED_SCHEMA).await
}

/// The objects `objects` names as the walk's fingerprints do (`table t`,
/// `view v`, `trigger x on t`, `function f(integer)`, …; `table auth.t`
/// for an object of a schema of `schemas` but the first, as
/// [`introspect_schemas`] names them), reading only the catalogues of the
/// kinds named, and only the schemas named: each query scans its whole
/// catalogue, so a walk step that changed one table skips the function,
/// trigger and type queries, most of such a read's time.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) async fn introspect_named(
    client: &Client,
    prepared: &mut Prepared,
    history_table: &str,
    objects: &[String],
    schemas: &[String],
) -> Result<Schema, tokio_postgres::Error> {
    let mut schema = Schema::default();
    for (at, local) in by_schema(objects, schemas) {
        let (schema_name, path) = (&schemas[at], &schemas[0]);
        let read = introspect_named_in(client, prepared, history_table, &local, schema_name, path).await?;
        match at {
            0 => schema.replace(&[], read),
            _ => schema.merge_qualified(read, &schemas[at]),
        }
    }
    Ok(schema)
}

/// `objects` grouped by the schema of `schemas` they are in (its index),
/// each named as in its own schema: `table auth.t` is `table t` of `auth`
/// when `auth` is configured and not first. Schemas with nothing named
/// are left out.
pub(crate) fn by_schema(objects: &[String], schemas: &[String]) -> Vec<(usize, Vec<String>)> {
    let mut groups: Vec<(usize, Vec<String>)> = Vec::new();
    for object in objects {
        let (at, local) = local_object(object, schemas);
        match groups.iter_mut().find(|(i, _)| *i == at) {
            Some((_, group)) => group.push(local),
            None => groups.push((at, vec![local])),
        }
    }
    groups.sort_by_key(|(at, _)| *at);
    groups
}

/// The index in `schemas` of the schema `object` (`kind name`) is in, and
/// its name there: a name starting with another configured schema's
/// `name.` is that schema's, every other one the first's.
fn local_object(object: &str, schemas: &[String]) -> (usize, String) {
    let Some((kind, name)) = object.split_once(' ') else { return (0, object.to_string()) };
    let other = schemas.iter().enumerate().skip(1).find_map(|(at, schema)| {
        let rest = name.strip_prefix(schema.as_str())?.strip_prefix('.')?;
        Some((at, format!("{kind} {rest}")))
    });
    other.unwrap_or_else(|| (0, object.to_string()))
}

/// `object` (`kind name`) of schema `schema` named as the walk names it:
/// `kind schema.name`, or unchanged when `schema` is `first`, the first of
/// the package's schemas.
#[cfg_attr(not(feature = "testing"), allow(dead_code))]
pub(crate) fn qualified_object(object: &str, schema: &str, first: &str) -> String {
    match object.split_once(' ') {
        Some((kind, name)) if schema != first => format!("{kind} {schema}.{name}"),
        _ => object.to_string(),
    }
}

/// `objects` of `schema`, with the `search_path` set to `path` alone (the
/// first schema, see [`introspect_schemas`]).
async fn introspect_named_in(
    client: &Client,
    prepared: &mut Prepared,
    history_table: &str,
    objects: &[String],
    schema: &str,
    path: &str,
) -> Result<Schema, tokio_postgres::Error> {
    let names: Vec<&str> =
        objects.iter().map(|o| o.split_once(' ').map_or(o.as_str(), |(_, name)| name)).collect();
    let kinds = Kinds::of(objects);
    let names = Some(names);
    let params: Params = &[(&names, Type::TEXT_ARRAY), (&schema, Type::TEXT)];
    in_schema(client, path, read_schema(client, params, history_table, kinds, Some(prepared))).await
}

/// The objects of `schema` named in `names` (all when `None`), with the
/// `search_path` set to `path` alone (the first schema, see
/// [`introspect_schemas`]).
async fn introspect_in(
    client: &Client,
    history_table: &str,
    names: Option<&[String]>,
    schema: &str,
    path: &str,
) -> Result<Schema, tokio_postgres::Error> {
    let filter: Option<Vec<&str>> = names.map(|names| names.iter().map(String::as_str).collect());
    let params: Params = &[(&filter, Type::TEXT_ARRAY), (&schema, Type::TEXT)];
    in_schema(client, path, read_schema(client, params, history_table, Kinds::ALL, None)).await
}

/// Which kinds of objects a read covers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Kinds {
    pub(super) tables: bool,
    pub(super) views: bool,
    pub(super) triggers: bool,
    pub(super) functions: bool,
    /// Sequences, enums and extensions.
    pub(super) types: bool,
}

impl Kinds {
    pub(super) const ALL: Kinds =
        Kinds { tables: true, views: true, triggers: true, functions: true, types: true };

    /// The kinds of `objects` (`table t`, …).
    pub(super) fn of(objects: &[String]) -> Kinds {
        let any = |kinds: &[&str]| objects.iter().any(|o| kinds.iter().any(|k| o.starts_with(k)));
        Kinds {
            tables: any(&["table "]),
            views: any(&["view "]),
            triggers: any(&["trigger "]),
            functions: any(&["function "]),
            types: any(&["sequence ", "enum ", "extension "]),
        }
    }
}

/// Reads the objects `params` name (or all) of the `kinds` wanted. With
/// `prepared`, the walk's statements (`params` then names the objects,
/// never all), the queries of tables are prepared once each.
async fn read_schema(
    client: &Client,
    params: Params<'_>,
    history_table: &str,
    kinds: Kinds,
    prepared: Option<&mut Prepared>,
) -> Result<Schema, Error> {
    let mut schema = Schema::default();
    if kinds.tables {
        let constraints_sql = constraints_sql();
        let queries = [TABLES, COLUMNS, &constraints_sql, INDEXES];
        let prepared = match prepared {
            Some(prepared) => Some(prepare_named(client, prepared, &queries).await?),
            None => None,
        };
        let prepared = prepared.as_ref();
        // Sent together, answered in one round trip (the walk reads a
        // table or two at each of thousands of steps).
        let (t, c, k, i) = futures_util::future::try_join4(
            query(client, prepared.map(|p| &p[0]), TABLES, params),
            query(client, prepared.map(|p| &p[1]), COLUMNS, params),
            query(client, prepared.map(|p| &p[2]), &constraints_sql, params),
            query(client, prepared.map(|p| &p[3]), INDEXES, params),
        )
        .await?;
        tables(t, history_table, &mut schema);
        columns(c, &mut schema);
        constraints(k, &mut schema);
        indexes(i, &mut schema);
    }
    code(client, params, kinds, &mut schema).await?;
    if kinds.types {
        types(client, params, &mut schema).await?;
    }
    Ok(schema)
}

/// Runs `read` with the session's `search_path` set to `schema` alone,
/// then puts the session's own back (also when `read` failed), so what
/// the catalogue renders does not depend on what the session ran before.
pub(super) async fn in_schema<T>(
    client: &Client,
    schema: &str,
    read: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    // One round trip each way: the walk reads at every step. The read's
    // first query is sent right behind the setting: requests are sent in
    // the order first polled, and answered in that order.
    let (saved, read) = futures_util::future::join(set_search_path(client, schema), read).await;
    let saved = saved?;
    let restored = restore_search_path(client, &saved).await;
    let value = read?;
    restored?;
    Ok(value)
}

/// Statements prepared once and kept by their SQL (the walk's, on its
/// connection): planning the queries it sends at every step took longer
/// than running them.
pub(super) type Prepared = std::collections::HashMap<String, Statement>;

/// `sql` prepared, from `prepared` or now.
pub(super) async fn prepare(
    client: &Client,
    prepared: &mut Prepared,
    sql: &str,
    types: &[Type],
) -> Result<Statement, Error> {
    if let Some(statement) = prepared.get(sql) {
        return Ok(statement.clone());
    }
    let statement = client.prepare_typed(sql, types).await?;
    prepared.insert(sql.to_string(), statement.clone());
    Ok(statement)
}

/// `queries` prepared for names that are given ([`only_named`]).
async fn prepare_named<const N: usize>(
    client: &Client,
    prepared: &mut Prepared,
    queries: &[&str; N],
) -> Result<[Statement; N], Error> {
    let mut statements = Vec::with_capacity(N);
    for sql in queries {
        statements.push(prepare(client, prepared, &only_named(sql), &[Type::TEXT_ARRAY, Type::TEXT]).await?);
    }
    Ok(statements.try_into().unwrap_or_else(|_| unreachable!("one statement per query")))
}

/// A query of this module for names that are given: its filter `($1 IS
/// NULL OR x = ANY($1))` becomes `(x = ANY($1))`, which a prepared
/// statement's plan can use an index for.
fn only_named(sql: &str) -> String {
    sql.replace("($1::text[] IS NULL OR ", "(")
}

/// `sql` with `params`, as `statement` when it was prepared.
async fn query(
    client: &Client,
    statement: Option<&Statement>,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, Error> {
    match statement {
        Some(statement) => {
            let values: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                params.iter().map(|(v, _)| *v).collect();
            client.query(statement, &values).await
        }
        None => client.query_typed(sql, params).await,
    }
}

/// Sets the session's `search_path` to `schema` alone, returning the
/// setting it replaced, for [`restore_search_path`]. [`in_schema`] unless
/// a read sends its last queries with the restore (the walk's update).
pub(super) async fn set_search_path(client: &Client, schema: &str) -> Result<String, Error> {
    // The materialised CTE reads the setting before the outer query sets it.
    let set = "WITH saved AS MATERIALIZED (SELECT current_setting('search_path') AS v) \
         SELECT v, set_config('search_path', quote_ident($1::text), false) FROM saved";
    let rows = client.query_typed(set, &[(&schema, Type::TEXT)]).await?;
    // One row, always (the CTE's).
    Ok(rows.first().map_or_else(String::new, |row| row.get(0)))
}

/// Puts back the `search_path` [`set_search_path`] replaced.
pub(super) async fn restore_search_path(client: &Client, saved: &str) -> Result<(), Error> {
    let restore = "SELECT set_config('search_path', $1::text, false)";
    client.query_typed(restore, &[(&saved, Type::TEXT)]).await.map(drop)
}

/// The two parameters of every query, with their types: the object names
/// to read (NULL for all), and the schema they are in. Typed, so each
/// query is one round trip (an unnamed statement), not a prepare and an
/// execution.
type Params<'a> = &'a [(&'a (dyn tokio_postgres::types::ToSql + Sync), Type)];

fn tables(rows: Vec<Row>, history_table: &str, schema: &mut Schema) {
    for row in rows {
        let name: String = row.get(0);
        if name != history_table && name != crate::apply::format::format_table(history_table) {
            schema.tables.insert(name, Default::default());
        }
    }
}

fn columns(rows: Vec<Row>, schema: &mut Schema) {
    for row in rows {
        let Some(table) = schema.tables.get_mut(row.get::<_, &str>(0)) else { continue };
        // A generated column's expression is kept where a default would be.
        let (stored, expression): (bool, Option<String>) = (row.get(7), row.get(4));
        let (default, generated) =
            if stored { (None, expression.map(|e| format!("({e}) STORED"))) } else { (expression, None) };
        table.columns.push(Column {
            name: row.get(1),
            data_type: row.get(2),
            nullable: row.get(3),
            default,
            identity: identity(row.get(5)),
            collation: row.get(6),
            generated,
        });
    }
}

fn indexes(rows: Vec<Row>, schema: &mut Schema) {
    for row in rows {
        let Some(table) = schema.tables.get_mut(row.get::<_, &str>(0)) else { continue };
        let predicate: Option<String> = row.get(4);
        let index = Index {
            columns: row.get(3),
            unique: row.get(2),
            predicate: predicate.map(|p| normalise_sql(&p)),
        };
        table.indexes.insert(row.get(1), index);
    }
}

/// Views, triggers and functions: objects defined by SQL text.
async fn code(client: &Client, filter: Params<'_>, kinds: Kinds, schema: &mut Schema) -> Result<(), Error> {
    let views = if kinds.views { client.query_typed(VIEWS, filter).await? } else { Vec::new() };
    for row in views {
        schema.views.insert(row.get(0), normalise_sql(row.get(1)));
    }
    let triggers = if kinds.triggers { client.query_typed(TRIGGERS, filter).await? } else { Vec::new() };
    for row in triggers {
        schema.triggers.insert(row.get(0), normalise_sql(&unqualified_trigger(row.get(1), row.get(2))));
    }
    let functions = if kinds.functions {
        client.query_typed(&with_functions(FUNCTIONS), filter).await?
    } else {
        Vec::new()
    };
    for row in functions {
        let definition = unqualified_function(row.get(1), row.get(2));
        schema.functions.insert(row.get(0), normalise_sql(&definition));
    }
    Ok(())
}

/// Sequences, enums and extensions.
async fn types(client: &Client, filter: Params<'_>, schema: &mut Schema) -> Result<(), Error> {
    let sequences = SEQUENCES.replace("%IDENTITY%", IDENTITY_SEQUENCE);
    schema.sequences = client.query_typed(&sequences, filter).await?.iter().map(|r| r.get(0)).collect();
    for row in client.query_typed(ENUMS, filter).await? {
        schema.enums.insert(row.get(0), row.get(1));
    }
    schema.extensions = client.query_typed(EXTENSIONS, filter).await?.iter().map(|r| r.get(0)).collect();
    Ok(())
}

/// `sql` with the function key and filter put in.
fn with_functions(sql: &str) -> String {
    sql.replace("%KEY%", FUNCTION_KEY).replace("%OWN%", OWN_FUNCTION)
}

/// `pg_get_functiondef`'s text without `schema.` (the current schema,
/// quoted as needed; a function of another schema keeps its own) before the function's own name, so it creates the
/// function wherever it runs, as the rest of the model does; and without
/// the trailing line break.
fn unqualified_function(definition: &str, schema: &str) -> String {
    let header = definition.lines().next().unwrap_or_default();
    let unqualified = ["FUNCTION", "PROCEDURE"].iter().find_map(|kind| {
        let qualified = format!(" {kind} {schema}.");
        header.contains(&qualified).then(|| definition.replacen(&qualified, &format!(" {kind} "), 1))
    });
    unqualified.unwrap_or_else(|| definition.to_string()).trim_end().to_string()
}

/// `pg_get_triggerdef`'s text without `schema.` (the current schema) before
/// the table's name.
fn unqualified_trigger(definition: &str, schema: &str) -> String {
    definition.replacen(&format!(" ON {schema}."), " ON ", 1)
}

fn constraints_sql() -> String {
    let own = KEY_COLUMNS.replace("%KEY%", "con.conkey").replace("%REL%", "con.conrelid");
    let referenced = KEY_COLUMNS.replace("%KEY%", "con.confkey").replace("%REL%", "con.confrelid");
    CONSTRAINTS.replace("%OWN%", &own).replace("%REFERENCED%", &referenced)
}

fn constraints(rows: Vec<Row>, schema: &mut Schema) {
    for row in rows {
        let Some(table) = schema.tables.get_mut(row.get::<_, &str>(0)) else { continue };
        add_constraint(table, &row);
    }
    for table in schema.tables.values_mut() {
        table.uniques.sort();
        table.foreign_keys.sort();
        table.checks.sort();
    }
}

/// Adds a row of `CONSTRAINTS` to its table, with its name; exclusion
/// constraints and other kinds are not modelled.
fn add_constraint(table: &mut Table, row: &Row) {
    let columns: Vec<String> = row.get(2);
    let object = match row.get::<_, &str>(1) {
        "p" => {
            table.primary_key = columns;
            Constraint::PrimaryKey(&table.primary_key).object()
        }
        "u" => {
            let object = Constraint::Unique(&columns).object();
            table.uniques.push(columns);
            object
        }
        "f" => {
            let key = ForeignKey {
                columns,
                references: row.get(3),
                referenced_columns: row.get(4),
                on_delete: action(row.get(5)),
                on_update: action(row.get(6)),
            };
            let object = Constraint::ForeignKey(&key).object();
            table.foreign_keys.push(key);
            object
        }
        "c" => {
            let check = check_expression(row.get(7));
            let object = Constraint::Check(&check).object();
            table.checks.push(check);
            object
        }
        _ => return,
    };
    table.constraint_names.insert(object, row.get(8));
}

/// `pg_attribute.attidentity`: `a` for `ALWAYS`, `d` for `BY DEFAULT`.
fn identity(code: &str) -> Option<Identity> {
    match code {
        "a" => Some(Identity::Always),
        "d" => Some(Identity::ByDefault),
        _ => None,
    }
}

/// `CHECK ((age >= 0))` → `age >= 0`.
fn check_expression(definition: &str) -> String {
    let expression = definition.trim().strip_prefix("CHECK").unwrap_or(definition).trim();
    let mut expression = expression.trim_end_matches(" NOT VALID");
    while expression.starts_with('(') && expression.ends_with(')') && balanced_outer(expression) {
        expression = &expression[1..expression.len() - 1];
    }
    normalise_sql(expression)
}

/// Whether the first `(` closes at the very end.
fn balanced_outer(text: &str) -> bool {
    let mut depth = 0i32;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 && i + 1 < text.len() {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

fn action(code: &str) -> String {
    match code {
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        _ => "no action",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walks_prepared_table_queries_filter_on_the_names_alone() {
        for sql in [TABLES, COLUMNS, &constraints_sql(), INDEXES] {
            let named = only_named(sql);
            assert!(!named.contains("IS NULL") && named.contains("= ANY($1))"), "{named}");
        }
    }

    #[test]
    fn the_current_schema_is_taken_off_a_function_name_only() {
        let definition = "CREATE OR REPLACE FUNCTION public.touch()\n RETURNS trigger\n LANGUAGE plpgsql\n\
             AS $function$BEGIN PERFORM public.other(); RETURN NEW; END$function$\n";
        assert_eq!(
            unqualified_function(definition, "public"),
            "CREATE OR REPLACE FUNCTION touch()\n RETURNS trigger\n LANGUAGE plpgsql\n\
             AS $function$BEGIN PERFORM public.other(); RETURN NEW; END$function$"
        );
        let procedure = "CREATE OR REPLACE PROCEDURE \"My App\".\"Do It\"(IN x integer)\n LANGUAGE sql\n";
        assert_eq!(
            unqualified_function(procedure, "\"My App\""),
            "CREATE OR REPLACE PROCEDURE \"Do It\"(IN x integer)\n LANGUAGE sql"
        );
        let elsewhere =
            "CREATE OR REPLACE FUNCTION other.f()\n RETURNS integer\n LANGUAGE sql\nAS $$public.x$$";
        assert_eq!(unqualified_function(elsewhere, "public"), elsewhere);
    }

    #[test]
    fn the_current_schema_is_taken_off_a_trigger_table() {
        let definition =
            "CREATE TRIGGER t_touch BEFORE UPDATE ON public.t FOR EACH ROW EXECUTE FUNCTION public.touch()";
        assert_eq!(
            unqualified_trigger(definition, "public"),
            "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION public.touch()"
        );
    }
}
