//! What changed in a PostgreSQL schema since the walk last looked, and the
//! walk's per-object fingerprints.
//!
//! Where the role may (a superuser: the test server's, a throw-away
//! server's), the walk's scratch database gets two event triggers,
//! `ddl_command_end` and `sql_drop`, that log the catalogue identity
//! (`classid`, `objid`) of every object a command created, changed or
//! dropped into a table of their own schema. After each step the walk
//! takes the log, adds every object depending on a logged one
//! (`pg_depend`: a foreign key on a renamed table, a view over a renamed
//! column, a trigger on a renamed function, a column of a renamed type),
//! names the walk objects they belong to, and fingerprints only those. So a
//! step costs what it touched, where reading every fingerprint cost a
//! thousand tables' catalogue rows at every step of a thousand-revision
//! chain.
//!
//! Elsewhere (`walk --database-url` on a server where the role is not a
//! superuser, so `CREATE EVENT TRIGGER` is refused) every step reads every
//! fingerprint, as before: slower, as strict. A logged schema (`pg_namespace`)
//! or a command that names no object also makes the step read everything.
//!
//! What the log cannot see: catalogue rows written by hand (`UPDATE
//! pg_catalog.…`) and commands run with `event_triggers = off`
//! (PostgreSQL 17, superuser only). The triggers fire with
//! `session_replication_role = replica` too (`ENABLE ALWAYS`), which data
//! loads set to skip foreign key checks.

use super::introspect::{
    by_schema, in_schema, prepare, qualified_object, restore_search_path, set_search_path, Kinds, Prepared,
    FUNCTION_KEY, IDENTITY_SEQUENCE, OWN_FUNCTION,
};
use crate::testing::Fingerprints;
use futures_util::future::{join, try_join_all};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Error, Statement};

/// The log lives in schema `migrate_walk_changes`: the walk's scratch
/// database is its own, and no package reads a schema of that name.
const INSTALL: &str = "DROP EVENT TRIGGER IF EXISTS migrate_walk_ddl; \
     DROP EVENT TRIGGER IF EXISTS migrate_walk_drop; \
     DROP SCHEMA IF EXISTS migrate_walk_changes CASCADE; \
     CREATE SCHEMA migrate_walk_changes; \
     CREATE TABLE migrate_walk_changes.touched (classid oid NOT NULL, objid oid NOT NULL); \
     CREATE FUNCTION migrate_walk_changes.ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER \
       SET search_path = pg_catalog, pg_temp AS $log$ BEGIN \
       INSERT INTO migrate_walk_changes.touched \
         SELECT coalesce(classid, 0), coalesce(objid, 0) FROM pg_event_trigger_ddl_commands(); \
       END $log$; \
     CREATE FUNCTION migrate_walk_changes.dropped() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER \
       SET search_path = pg_catalog, pg_temp AS $log$ BEGIN \
       INSERT INTO migrate_walk_changes.touched \
         SELECT coalesce(classid, 0), coalesce(objid, 0) FROM pg_event_trigger_dropped_objects(); \
       END $log$; \
     CREATE EVENT TRIGGER migrate_walk_ddl ON ddl_command_end EXECUTE FUNCTION migrate_walk_changes.ddl(); \
     CREATE EVENT TRIGGER migrate_walk_drop ON sql_drop EXECUTE FUNCTION migrate_walk_changes.dropped(); \
     ALTER EVENT TRIGGER migrate_walk_ddl ENABLE ALWAYS; \
     ALTER EVENT TRIGGER migrate_walk_drop ENABLE ALWAYS";

/// Removes the triggers and the log, leaving the database as the walk got it.
pub(crate) const UNINSTALL: &str = "DROP EVENT TRIGGER IF EXISTS migrate_walk_ddl; \
     DROP EVENT TRIGGER IF EXISTS migrate_walk_drop; \
     DROP SCHEMA IF EXISTS migrate_walk_changes CASCADE";

/// Takes the log: each logged object (as `classid << 32 | objid`) and
/// each object depending on one, with the walk object it belongs to in
/// one of the schemas `$1` when it still exists (named in its schema, and
/// that schema): a relation's part (index, constraint,
/// default, rule, row type) its table or view, a trigger, function, enum
/// or extension itself. One statement, one round trip. A row `-1` says a
/// trigger is gone or disabled (a revision dropped it), so the log may
/// lack commands.
const TAKE_LOG: &str = "WITH taken AS (DELETE FROM migrate_walk_changes.touched RETURNING classid, objid), \
     logged AS (SELECT DISTINCT classid, objid FROM taken), \
     objs AS (SELECT classid, objid FROM logged UNION SELECT d.classid, d.objid FROM pg_depend d \
       JOIN logged l ON d.refclassid = l.classid AND d.refobjid = l.objid) \
     SELECT (o.classid::int8 << 32) | o.objid::int8, k.key, k.nsp FROM objs o LEFT JOIN LATERAL ( \
       SELECT CASE WHEN c.relkind IN ('r', 'p') THEN 'table ' WHEN c.relkind IN ('v', 'm') THEN 'view ' \
         ELSE 'sequence ' END || c.relname AS key, n.nspname::text AS nsp \
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
       WHERE n.nspname = ANY($1::name[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.oid = CASE o.classid \
         WHEN 'pg_class'::regclass::oid THEN coalesce((SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = o.objid), o.objid) \
         WHEN 'pg_constraint'::regclass::oid THEN (SELECT k.conrelid FROM pg_constraint k WHERE k.oid = o.objid) \
         WHEN 'pg_attrdef'::regclass::oid THEN (SELECT d.adrelid FROM pg_attrdef d WHERE d.oid = o.objid) \
         WHEN 'pg_rewrite'::regclass::oid THEN (SELECT r.ev_class FROM pg_rewrite r WHERE r.oid = o.objid) \
         WHEN 'pg_type'::regclass::oid THEN (SELECT nullif(t.typrelid, 0) FROM pg_type t WHERE t.oid = o.objid) END \
       UNION ALL SELECT 'trigger ' || t.tgname || ' on ' || c.relname, n.nspname::text FROM pg_trigger t \
         JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE o.classid = 'pg_trigger'::regclass::oid AND t.oid = o.objid AND n.nspname = ANY($1::name[]) AND NOT t.tgisinternal \
       UNION ALL SELECT 'function ' || %KEY%, n.nspname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE o.classid = 'pg_proc'::regclass::oid AND p.oid = o.objid AND n.nspname = ANY($1::name[]) \
       UNION ALL SELECT 'enum ' || t.typname, n.nspname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE o.classid = 'pg_type'::regclass::oid AND t.oid = o.objid AND t.typtype = 'e' AND n.nspname = ANY($1::name[]) \
       UNION ALL SELECT 'extension ' || e.extname, n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace \
         WHERE o.classid = 'pg_extension'::regclass::oid AND e.oid = o.objid AND n.nspname = ANY($1::name[]) \
     ) k ON true \
     UNION ALL SELECT -1, NULL, NULL WHERE (SELECT count(*) FROM pg_event_trigger \
       WHERE evtname IN ('migrate_walk_ddl', 'migrate_walk_drop') AND evtenabled = 'A') <> 2";

/// `pg_namespace`'s fixed oid: a logged schema makes the step read
/// everything (every name in it may read differently).
const PG_NAMESPACE: i64 = 2615;

/// What the walk remembers of a PostgreSQL database between two updates.
#[derive(Default)]
pub(crate) struct Seen {
    logging: Logging,
    /// The walk object each catalogue row (`classid << 32 | objid`) of the
    /// objects fingerprinted belongs to: a dropped object can no longer
    /// be looked up.
    owner: HashMap<i64, String>,
    parts: HashMap<String, Vec<i64>>,
    /// The log, fingerprint and introspection queries, prepared once per
    /// walk: at a thousand tables, planning the log's and the
    /// fingerprints' took three times as long as running them (2 ms
    /// against 0.7, four times per revision).
    pub(crate) prepared: Prepared,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Logging {
    /// Not tried yet (or the triggers went): the next update installs them.
    #[default]
    NotInstalled,
    Installed,
    /// The role may not create event triggers: every update reads all.
    Refused,
}

impl Seen {
    /// Whether the walk's triggers are in the database, to be removed.
    pub(crate) fn installed(&self) -> bool {
        self.logging == Logging::Installed
    }
}

/// Brings `fingerprints` up to date with `schemas` of `client`'s
/// database (see [`super::introspect::introspect_schemas`]), reading only
/// what changed where the log can tell.
pub(crate) async fn update(
    client: &Client,
    history_table: &str,
    fingerprints: &mut Fingerprints,
    schemas: &[String],
) -> Result<(), Error> {
    let Some(first) = schemas.first() else { return Ok(()) };
    if fingerprints.postgres.logging == Logging::NotInstalled {
        fingerprints.postgres.logging = match client.batch_execute(INSTALL).await {
            Ok(()) => Logging::Installed,
            Err(_) => Logging::Refused,
        };
        // Everything, once: the log starts now.
        return in_schema(client, first, read_all(client, history_table, fingerprints, schemas)).await;
    }
    if fingerprints.postgres.logging == Logging::Refused {
        return in_schema(client, first, read_all(client, history_table, fingerprints, schemas)).await;
    }
    read_logged(client, history_table, fingerprints, schemas, first).await
}

/// Fingerprints what the log names and what depends on it, or everything
/// when the log cannot tell, with the `search_path` set to `first` (as
/// [`in_schema`] does). Two round trips where the log tells: the setting
/// with the log, then the fingerprints with the restore, each pair sent
/// together (the walk updates four times per revision, and on two busy
/// cores its time is mostly round trips).
async fn read_logged(
    client: &Client,
    history_table: &str,
    fingerprints: &mut Fingerprints,
    schemas: &[String],
    first: &str,
) -> Result<(), Error> {
    let (saved, taken) =
        join(set_search_path(client, first), touched_objects(client, &mut fingerprints.postgres, schemas))
            .await;
    let saved = saved?;
    let read = match taken {
        Ok(Some(objects)) if objects.is_empty() => Ok(()),
        Ok(Some(objects)) => {
            // `read_some` sends all its queries when first polled (they
            // are prepared here, before), so the restore goes out behind
            // them, never before one.
            let wanted: Vec<String> = objects.iter().cloned().collect();
            let prepared = &mut fingerprints.postgres.prepared;
            let queries = match prepare_fingerprints(client, prepared, Some(&wanted), schemas).await {
                Ok(queries) => queries,
                Err(error) => {
                    // The first error is the one to report; the restore is tried anyway.
                    let _ = restore_search_path(client, &saved).await;
                    return Err(error);
                }
            };
            let some = read_some(client, history_table, fingerprints, objects, queries, schemas);
            let (read, restored) = join(some, restore_search_path(client, &saved)).await;
            return read.and(restored);
        }
        Ok(None) => read_all(client, history_table, fingerprints, schemas).await,
        Err(error) => Err(error),
    };
    let restored = restore_search_path(client, &saved).await;
    read.and(restored)
}

/// Takes the log: the walk objects the logged rows and those depending on
/// them belong to, before (by the rows remembered) and after the step; or
/// `None` when the step must read everything (a trigger gone, a schema or
/// a command naming no object logged).
async fn touched_objects(
    client: &Client,
    seen: &mut Seen,
    schemas: &[String],
) -> Result<Option<BTreeSet<String>>, Error> {
    let take = TAKE_LOG.replace("%KEY%", FUNCTION_KEY);
    let Some(first) = schemas.first() else { return Ok(Some(BTreeSet::new())) };
    let statement = prepare(client, &mut seen.prepared, &take, &[Type::TEXT_ARRAY]).await?;
    let rows = client.query(&statement, &[&schemas]).await?;
    let mut objects = BTreeSet::new();
    for row in rows {
        let (part, object, schema): (i64, Option<String>, Option<String>) =
            (row.get(0), row.get(1), row.get(2));
        if part == -1 {
            seen.logging = Logging::NotInstalled;
            return Ok(None);
        }
        if part >> 32 == 0 || part >> 32 == PG_NAMESPACE {
            return Ok(None);
        }
        objects.extend(seen.owner.get(&part).cloned());
        if let (Some(object), Some(schema)) = (object, schema) {
            objects.insert(qualified_object(&object, &schema, first));
        }
    }
    Ok(Some(objects))
}

async fn read_all(
    client: &Client,
    history_table: &str,
    fingerprints: &mut Fingerprints,
    schemas: &[String],
) -> Result<(), Error> {
    let queries = prepare_fingerprints(client, &mut fingerprints.postgres.prepared, None, schemas).await?;
    let read = rows_in(client, history_table, queries, schemas).await?;
    let seen = &mut fingerprints.postgres;
    seen.owner.clear();
    seen.parts.clear();
    let mut all = BTreeMap::new();
    for (object, fingerprint, parts) in read {
        remember_parts(seen, &object, parts);
        all.insert(object, fingerprint);
    }
    fingerprints.set_all(all);
    Ok(())
}

async fn read_some(
    client: &Client,
    history_table: &str,
    fingerprints: &mut Fingerprints,
    objects: BTreeSet<String>,
    queries: Vec<FingerprintQuery>,
    schemas: &[String],
) -> Result<(), Error> {
    let read = rows_in(client, history_table, queries, schemas).await?;
    let seen = &mut fingerprints.postgres;
    for object in &objects {
        for part in seen.parts.remove(object).unwrap_or_default() {
            seen.owner.remove(&part);
        }
    }
    let mut found = HashMap::new();
    for (object, fingerprint, parts) in read {
        remember_parts(seen, &object, parts);
        found.insert(object, fingerprint);
    }
    for object in objects {
        let fingerprint = found.remove(&object);
        fingerprints.set(&object, fingerprint);
    }
    Ok(())
}

fn remember_parts(seen: &mut Seen, object: &str, parts: Vec<i64>) {
    for &part in &parts {
        seen.owner.insert(part, object.to_string());
    }
    seen.parts.insert(object.to_string(), parts);
}

/// A digest per object (`table t`, `view v`, `table auth.t`, …) of
/// `schemas` that changes whenever anything
/// [`super::introspect::introspect_schemas`] reads about it may have
/// changed.
pub(crate) async fn object_fingerprints(
    client: &Client,
    history_table: &str,
    schemas: &[String],
) -> Result<BTreeMap<String, String>, Error> {
    let Some(first) = schemas.first() else { return Ok(BTreeMap::new()) };
    let mut prepared = Prepared::new();
    let read = async {
        let queries = prepare_fingerprints(client, &mut prepared, None, schemas).await?;
        rows_in(client, history_table, queries, schemas).await
    };
    let rows = in_schema(client, first, read).await?;
    Ok(rows.into_iter().map(|(object, fingerprint, _)| (object, fingerprint)).collect())
}

/// One row of [`fingerprint_sql`]: object, digest, and the catalogue rows
/// (`classid << 32 | objid`) it is made of.
type FingerprintRow = (String, String, Vec<i64>);

/// [`fingerprint_rows`] of each of `queries` ([`prepare_fingerprints`]),
/// named as the walk names them (`table auth.t` outside the first
/// schema). Run with the `search_path` set to the first
/// schema ([`in_schema`]), as introspection reads every schema.
async fn rows_in(
    client: &Client,
    history_table: &str,
    queries: Vec<FingerprintQuery>,
    schemas: &[String],
) -> Result<Vec<FingerprintRow>, Error> {
    // Every schema's query is sent when first polled, before any answer
    // comes: the walk sends the restore of the `search_path` right behind.
    let reads = queries.into_iter().map(|(at, local, statement)| async move {
        let schema = &schemas[at];
        let read = fingerprint_rows(client, &statement, history_table, local.as_deref(), schema).await?;
        let named = read.into_iter().map(|(object, fingerprint, parts)| {
            (qualified_object(&object, schema, &schemas[0]), fingerprint, parts)
        });
        Ok::<_, Error>(named.collect::<Vec<_>>())
    });
    Ok(try_join_all(reads).await?.into_iter().flatten().collect())
}

/// The schemas [`rows_in`] reads (their index in `schemas`), each with
/// the objects wanted there (`None`: all).
fn fingerprint_groups(objects: Option<&[String]>, schemas: &[String]) -> Vec<(usize, Option<Vec<String>>)> {
    match objects {
        None => (0..schemas.len()).map(|at| (at, None)).collect(),
        Some(objects) => {
            by_schema(objects, schemas).into_iter().map(|(at, local)| (at, Some(local))).collect()
        }
    }
}

/// A schema's fingerprint read: its index in the schemas, the objects
/// wanted there (`None`: all), and the statement.
type FingerprintQuery = (usize, Option<Vec<String>>, Statement);

/// The reads [`rows_in`] sends for `objects` (every object when `None`),
/// as [`fingerprint_groups`], each statement prepared now if it was not
/// yet: once all are, [`rows_in`] sends every query at once.
async fn prepare_fingerprints(
    client: &Client,
    prepared: &mut Prepared,
    objects: Option<&[String]>,
    schemas: &[String],
) -> Result<Vec<FingerprintQuery>, Error> {
    let mut groups = Vec::new();
    for (at, local) in fingerprint_groups(objects, schemas) {
        let scope = local.as_deref();
        let sql = fingerprint_sql(scope.map_or(Kinds::ALL, Kinds::of), Scope::of(scope));
        groups.push((at, local, prepare(client, prepared, &sql, &FINGERPRINT_TYPES).await?));
    }
    Ok(groups)
}

/// The types of [`fingerprint_sql`]'s parameters: the history table, the
/// schema, the objects and the relations wanted.
const FINGERPRINT_TYPES: [Type; 4] = [Type::TEXT, Type::TEXT, Type::TEXT_ARRAY, Type::TEXT_ARRAY];

/// Rows of [`fingerprint_sql`] in schema `schema`, named in it, by its
/// `statement` for `objects`.
async fn fingerprint_rows(
    client: &Client,
    statement: &Statement,
    history_table: &str,
    objects: Option<&[String]>,
    schema: &str,
) -> Result<Vec<FingerprintRow>, Error> {
    let relations: Option<Vec<&str>> = objects.map(relation_names);
    let keys: Option<Vec<&str>> = objects.map(|o| o.iter().map(String::as_str).collect());
    let params: [&(dyn ToSql + Sync); 4] = [&history_table, &schema, &keys, &relations];
    let rows = client.query(statement, &params).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
}

/// The relations the objects named are or belong to: `t` of `table t`,
/// `view t`, `sequence t` and (every reading of) `trigger x on t`.
fn relation_names(objects: &[String]) -> Vec<&str> {
    let mut names = Vec::new();
    for object in objects {
        let Some((kind, name)) = object.split_once(' ') else { continue };
        match kind {
            "table" | "view" | "sequence" => names.push(name),
            "trigger" => names.extend(name.match_indices(" on ").map(|(at, on)| &name[at + on.len()..])),
            _ => {}
        }
    }
    names
}

/// `classid << 32 | objid` of catalogue `class`'s row `oid`.
fn part(class: &str, oid: &str) -> String {
    format!("(('{class}'::regclass::oid::int8 << 32) | {oid}::int8)")
}

/// Per object, the identity and row version (`oid`, `xmin`) of every
/// catalogue row that describes it, and those rows' identities. No
/// definition is rendered; a rewrite that ends up identical gives new row
/// versions, which only makes the walk re-read that object. Parameters:
/// the history table, the schema, the objects wanted and the relations
/// they are or belong to (NULL: all).
///
/// What is read about an object also names the objects it uses: a foreign
/// key its target table and columns, a default its sequence, a column its
/// type, a view its tables, a trigger its function. Renaming one of those
/// changes no row of the object itself, so a table's or view's digest also
/// takes the names of everything its parts depend on (`pg_depend`, normal
/// dependencies, as `pg_describe_object` words them), and a trigger's the
/// name of its function. Those names are joined to their tables (a hash
/// join), not looked up per table: a lookup per table scanned the whole
/// list each time and made this query three times slower at a thousand
/// tables. Only the kinds wanted are queried: each scans its catalogue.
fn fingerprint_sql(kinds: Kinds, scope: Scope) -> String {
    let named = |key: &str, list: &str| scope.filter(key, list);
    let mut branches = Vec::new();
    if kinds.tables {
        branches.push(format!(
            "SELECT 'table ' || c.relname, md5(concat_ws('|', c.oid::text, c.xmin::text, u.names, \
               (SELECT string_agg(a.attnum || ':' || a.xmin::text, ',' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0), \
               (SELECT string_agg(d.oid || ':' || d.xmin::text, ',' ORDER BY d.oid) FROM pg_attrdef d WHERE d.adrelid = c.oid), \
               (SELECT string_agg(k.oid || ':' || k.xmin::text, ',' ORDER BY k.oid) FROM pg_constraint k WHERE k.conrelid = c.oid), \
               (SELECT string_agg(i.indexrelid || ':' || i.xmin::text, ',' ORDER BY i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid))), \
             ARRAY[{}, {}] || array(SELECT {} FROM pg_index i WHERE i.indrelid = c.oid) \
               || array(SELECT {} FROM pg_constraint k WHERE k.conrelid = c.oid) \
               || array(SELECT {} FROM pg_attrdef d WHERE d.adrelid = c.oid) \
             FROM own c LEFT JOIN uses u ON u.rel = c.oid WHERE c.relkind IN ('r', 'p') \
               AND {}",
            part("pg_class", "c.oid"),
            part("pg_type", "c.reltype"),
            part("pg_class", "i.indexrelid"),
            part("pg_constraint", "k.oid"),
            part("pg_attrdef", "d.oid"),
            named("'table ' || c.relname", "$3"),
        ));
    }
    if kinds.views {
        branches.push(format!(
            "SELECT 'view ' || c.relname, md5(concat_ws('|', c.oid::text, c.xmin::text, u.names, \
               (SELECT string_agg(r.oid || ':' || r.xmin::text, ',' ORDER BY r.oid) FROM pg_rewrite r WHERE r.ev_class = c.oid))), \
             ARRAY[{}, {}] || array(SELECT {} FROM pg_rewrite r WHERE r.ev_class = c.oid) \
             FROM own c LEFT JOIN uses u ON u.rel = c.oid WHERE c.relkind IN ('v', 'm') \
               AND {}",
            part("pg_class", "c.oid"),
            part("pg_type", "c.reltype"),
            part("pg_rewrite", "r.oid"),
            named("'view ' || c.relname", "$3"),
        ));
    }
    if kinds.types {
        branches.push(format!(
            "SELECT 'sequence ' || c.relname, md5(c.oid || ':' || c.xmin::text), ARRAY[{}] FROM own c \
             WHERE c.relkind = 'S' AND NOT {IDENTITY_SEQUENCE} AND {}",
            part("pg_class", "c.oid"),
            named("'sequence ' || c.relname", "$3"),
        ));
        branches.push(format!(
            "SELECT 'enum ' || t.typname, md5(string_agg(e.oid || ':' || e.xmin::text, ',' ORDER BY e.oid)), ARRAY[{}] \
             FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace \
             WHERE n.nspname = $2::name AND {} GROUP BY t.oid, t.typname",
            part("pg_type", "t.oid"),
            named("'enum ' || t.typname", "$3"),
        ));
        branches.push(format!(
            "SELECT 'extension ' || e.extname, md5(e.oid || ':' || e.xmin::text), ARRAY[{}] FROM pg_extension e \
             JOIN pg_namespace n ON n.oid = e.extnamespace WHERE n.nspname = $2::name \
             AND {}",
            part("pg_extension", "e.oid"),
            named("'extension ' || e.extname", "$3"),
        ));
    }
    if kinds.triggers {
        branches.push(format!(
            "SELECT 'trigger ' || t.tgname || ' on ' || c.relname, \
               md5(t.oid || ':' || t.xmin::text || ':' || pg_describe_object('pg_proc'::regclass, t.tgfoid, 0)), ARRAY[{}] \
             FROM pg_trigger t JOIN own c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal \
               AND {}",
            part("pg_trigger", "t.oid"),
            named("'trigger ' || t.tgname || ' on ' || c.relname", "$3"),
        ));
    }
    if kinds.functions {
        branches.push(format!(
            "SELECT 'function ' || {FUNCTION_KEY}, md5(p.oid || ':' || p.xmin::text), ARRAY[{}] FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {OWN_FUNCTION} \
               AND {}",
            part("pg_proc", "p.oid"),
            named(&format!("'function ' || {FUNCTION_KEY}"), "$3"),
        ));
    }
    // The placeholders keep their types when a kind's branch is left out.
    branches.push(
        "SELECT NULL::text, NULL::text, NULL::int8[] WHERE $1::text IS NULL AND $3::text[] IS NULL".into(),
    );
    format!("{} {}", fingerprint_relations(scope), branches.join(" UNION ALL "))
}

/// Which objects a fingerprint query reads. Each is a statement of its
/// own, prepared once: a filter that is there or not by its parameter
/// (`$3 IS NULL OR …`) plans well only for the parameter's value, and
/// planning the query at every step took longer than running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    All,
    /// Those the parameters list: `$3` the objects, `$4` the relations
    /// they are or belong to.
    Named,
}

impl Scope {
    fn of(objects: Option<&[String]>) -> Scope {
        objects.map_or(Scope::All, |_| Scope::Named)
    }

    /// The condition that `key` is among `list`, in this scope.
    fn filter(self, key: &str, list: &str) -> String {
        match self {
            Scope::All => "true".to_string(),
            Scope::Named => format!("{key} = ANY({list}::text[])"),
        }
    }
}

/// The relations fingerprinted (`own`), and the names of what their parts
/// depend on (`uses`).
fn fingerprint_relations(scope: Scope) -> String {
    format!(
        "WITH own AS (SELECT c.oid, c.xmin, c.relname, c.relkind, c.reltype FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $2::name \
           AND c.relname::text NOT IN ($1::text, $1::text || '_format') AND {}), {FINGERPRINT_USES}",
        scope.filter("c.relname::text", "$4")
    )
}

const FINGERPRINT_USES: &str = "\
     parts AS (SELECT c.oid AS rel, 'pg_class'::regclass::oid AS classid, c.oid AS objid FROM own c \
       UNION ALL SELECT k.conrelid, 'pg_constraint'::regclass::oid, k.oid FROM pg_constraint k JOIN own c ON c.oid = k.conrelid \
       UNION ALL SELECT d.adrelid, 'pg_attrdef'::regclass::oid, d.oid FROM pg_attrdef d JOIN own c ON c.oid = d.adrelid \
       UNION ALL SELECT i.indrelid, 'pg_class'::regclass::oid, i.indexrelid FROM pg_index i JOIN own c ON c.oid = i.indrelid \
       UNION ALL SELECT r.ev_class, 'pg_rewrite'::regclass::oid, r.oid FROM pg_rewrite r JOIN own c ON c.oid = r.ev_class), \
     uses AS (SELECT p.rel, string_agg(pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid), ',' \
       ORDER BY d.refclassid, d.refobjid, d.refobjsubid) AS names FROM parts p \
       JOIN pg_depend d ON d.classid = p.classid AND d.objid = p.objid WHERE d.deptype = 'n' GROUP BY p.rel)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_name_their_table_however_it_reads() {
        let objects =
            ["table a".to_string(), "trigger x on b".into(), "trigger y on z on c".into(), "enum e".into()];
        assert_eq!(relation_names(&objects), ["a", "b", "z on c", "c"]);
    }
}
