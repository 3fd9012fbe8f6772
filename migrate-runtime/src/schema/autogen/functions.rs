//! PostgreSQL functions, procedures and triggers. A function is written as
//! its `CREATE OR REPLACE` definition after the table changes (a SQL
//! function's body is checked against the tables when it is created) and
//! before the views are made again (a view may call it); one that a column
//! default, check or index calls comes before the table changes instead.
//! A function that goes is dropped after the triggers and views that use it,
//! and after the table changes when a table calls it; a function whose
//! return type or argument names change, which `CREATE OR REPLACE` refuses,
//! is dropped and created, with its triggers and views around it. Triggers
//! that go or change are dropped before everything and created after
//! everything.

use super::*;

/// The function statements of one direction.
#[derive(Debug, Default)]
pub(super) struct FunctionSteps {
    /// Before the table changes: drops of functions no table calls, then
    /// the functions that new or changed tables call.
    pub before: Vec<String>,
    /// After the table changes: drops of functions a table called, then
    /// every other function to create or replace.
    pub after: Vec<String>,
    /// The names of the functions dropped: the triggers and views that
    /// mention one are dropped first and made again last.
    pub dropped: Vec<String>,
}

impl Plan<'_> {
    /// The statements for the functions that come, go or change; a function
    /// that must be dropped and created while a table calls it is reported
    /// instead, as PostgreSQL would refuse the drop.
    pub(super) fn function_steps(&mut self) -> FunctionSteps {
        let (old, new) = (&self.from.functions, &self.to.functions);
        let header_changes = |k: &&String| new.get(*k).is_some_and(|d| header(d) != header(&old[*k]));
        let (called, recreated): (Vec<String>, Vec<String>) = old
            .keys()
            .filter(header_changes)
            .cloned()
            .partition(|k| called_by_a_table(&self.from, k) || called_by_a_table(self.to, k));
        let mut steps = self.drop_functions(&recreated);
        let changed = |k: &&String| !old.get(*k).is_some_and(|o| crate::schema::same_function(o, &new[*k]));
        let created = new.keys().filter(changed).filter(|k| !called.contains(k));
        self.create_functions(created.cloned().collect(), &mut steps);
        let unsupported: Vec<Difference> = called.iter().map(|k| self.recreated_under_a_table(k)).collect();
        self.unsupported.extend(unsupported);
        steps
    }

    /// Drops of the functions that go and of those `recreated`: after the
    /// table changes when a table calls one (a column default may, until
    /// they remove it), else before them.
    fn drop_functions(&self, recreated: &[String]) -> FunctionSteps {
        let old = &self.from.functions;
        let removed = old.keys().filter(|k| !self.to.functions.contains_key(*k));
        let mut steps = FunctionSteps::default();
        for key in removed.chain(recreated) {
            let drop = drop_function(key, &old[key]);
            if called_by_a_table(&self.from, key) {
                steps.after.push(drop);
            } else {
                steps.before.push(drop);
            }
            steps.dropped.push(name_of(key).to_string());
        }
        steps
    }

    /// `CREATE OR REPLACE …` of the functions `keys` of `to`: before the
    /// table changes when a table calls one, else after them.
    fn create_functions(&self, keys: Vec<String>, steps: &mut FunctionSteps) {
        let (early, late): (Vec<String>, Vec<String>) =
            keys.into_iter().partition(|k| called_by_a_table(self.to, k));
        steps.before.extend(self.definitions_in_order(early));
        steps.after.extend(self.definitions_in_order(late));
    }

    /// The definitions of `keys` in `to`, each after those it mentions.
    fn definitions_in_order(&self, keys: Vec<String>) -> Vec<String> {
        let order = function_order(&self.to.functions, keys);
        order
            .iter()
            .filter_map(|k| self.to.functions.get(k))
            .map(|definition| format!("{definition};"))
            .collect()
    }

    fn recreated_under_a_table(&self, key: &str) -> Difference {
        Difference {
            object: format!(
                "function {key}: its return type or argument names change, which takes DROP FUNCTION, \
                 while a column default, check or index calls it"
            ),
            before: self.from.functions.get(key).cloned(),
            after: self.to.functions.get(key).cloned(),
        }
    }

    /// Triggers that changed, went, or mention a `touched` table, dropped
    /// view or dropped function are dropped before everything (a view's
    /// would go with it unnoticed); new and dropped ones are created after
    /// everything, views and functions included.
    pub(super) fn postgres_triggers(&mut self, touched: &[String]) {
        let (old, new) = (&self.from.triggers, &self.to.triggers);
        let goes =
            |(n, d): &(&String, &String)| new.get(*n) != Some(d) || touched.iter().any(|t| mentions(d, t));
        let (mut before, mut dropped) = (Vec::new(), Vec::new());
        for (name, definition) in old.iter().filter(goes) {
            // Keyed `name on table`: a name is only unique per table.
            match trigger_name(definition).zip(trigger_table(definition)) {
                Some((trigger, table)) => {
                    before.push(format!("DROP TRIGGER {trigger} ON {table};"));
                    dropped.push(name);
                }
                None => self.unsupported.push(Difference {
                    object: format!("trigger {name}: its table is not found in its definition"),
                    before: Some(definition.clone()),
                    after: new.get(name).cloned(),
                }),
            }
        }
        let created = new.iter().filter(|(n, _)| !old.contains_key(*n) || dropped.contains(n));
        let after: Vec<String> = created.map(|(_, definition)| format!("{definition};")).collect();
        before.append(&mut self.out);
        before.extend(after);
        self.out = before;
    }
}

/// What `CREATE OR REPLACE` cannot change: the routine's kind, name,
/// arguments (with their names and defaults) and return type, which the
/// definition states before its `LANGUAGE`.
fn header(definition: &str) -> &str {
    definition.split(" LANGUAGE ").next().unwrap_or(definition)
}

/// `touch()` → `touch`.
fn name_of(key: &str) -> &str {
    key.split_once('(').map_or(key, |(name, _)| name)
}

/// `DROP FUNCTION "add"(integer, integer);`, or `DROP PROCEDURE …` for one.
/// The key's argument types are SQL as PostgreSQL printed them; a name
/// holding `(` is not told apart from its arguments.
fn drop_function(key: &str, definition: &str) -> String {
    let kind = if header(definition).contains(" PROCEDURE ") { "PROCEDURE" } else { "FUNCTION" };
    let (name, arguments) = key.split_once('(').unwrap_or((key, ")"));
    format!("DROP {kind} {}({arguments};", quote_object(name))
}

/// Whether a column default, check or index of `schema` mentions the
/// function `key`.
fn called_by_a_table(schema: &Schema, key: &str) -> bool {
    let name = name_of(key);
    schema.tables.values().any(|table| {
        let defaults = table.columns.iter().filter_map(|c| c.default.as_deref());
        let checks = table.checks.iter().map(String::as_str);
        let indexes = table.indexes.values().flat_map(Index::expressions);
        defaults.chain(checks).chain(indexes).any(|text| mentions(text, name))
    })
}

/// Functions in the order they can be created: each after the functions of
/// `keys` it mentions (its overloads aside); cycles broken by key order.
fn function_order(functions: &BTreeMap<String, String>, keys: Vec<String>) -> Vec<String> {
    let mut left = keys;
    let mut order = Vec::new();
    while !left.is_empty() {
        let waits = |key: &String| {
            let mut others = left.iter().map(|k| name_of(k)).filter(|n| *n != name_of(key));
            others.any(|name| functions.get(key).is_some_and(|d| mentions(d, name)))
        };
        let at = left.iter().position(|k| !waits(k)).unwrap_or(0);
        order.push(left.remove(at));
    }
    order
}

/// The table in a trigger's definition, as written after its `ON`, with
/// its schema when qualified (`auth.account`: a table outside the first
/// schema).
fn trigger_table(definition: &str) -> Option<&str> {
    let mut tokens = crate::sql::split::solid_tokens(definition);
    tokens.find(|(_, token)| token.eq_ignore_ascii_case("ON"))?;
    let (start, first) = tokens.next()?;
    let mut end = start + first.len();
    while let (Some((_, ".")), Some((at, part))) = (tokens.next(), tokens.next()) {
        end = at + part.len();
    }
    definition.get(start..end)
}

/// The trigger's own name in its definition, as written after `TRIGGER`.
fn trigger_name(definition: &str) -> Option<&str> {
    token_after(definition, "TRIGGER")
}

/// The token after the first `keyword` of `definition`, quotes included.
fn token_after<'d>(definition: &'d str, keyword: &str) -> Option<&'d str> {
    let mut tokens = crate::sql::split::solid_tokens(definition).map(|(_, token)| token);
    tokens.find(|token| token.eq_ignore_ascii_case(keyword))?;
    tokens.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trigger_name_is_read_as_written() {
        let definition =
            "CREATE CONSTRAINT TRIGGER \"a \"\"b\" AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()";
        assert_eq!(trigger_name(definition), Some("\"a \"\"b\""));
        assert_eq!(trigger_name("CREATE TRIGGER touch BEFORE UPDATE ON t"), Some("touch"));
    }

    #[test]
    fn a_trigger_table_is_read_as_written() {
        let on = |table: &str| {
            format!("CREATE TRIGGER x BEFORE UPDATE OF a,b ON {table} FOR EACH ROW EXECUTE FUNCTION f()")
        };
        assert_eq!(trigger_table(&on("t")), Some("t"));
        assert_eq!(trigger_table(&on("auth.t")), Some("auth.t"));
        assert_eq!(trigger_table(&on("\"My App\".\"T\"")), Some("\"My App\".\"T\""));
        assert_eq!(trigger_table(&on("\"My \"\"T\"\"\"")), Some("\"My \"\"T\"\"\""));
        assert_eq!(trigger_table("CREATE TRIGGER x AFTER INSERT ON t"), Some("t"));
        assert_eq!(trigger_table("garbage"), None);
    }

    #[test]
    fn functions_drop_by_name_and_argument_types() {
        let function =
            "CREATE OR REPLACE FUNCTION add(a integer,b integer) RETURNS integer LANGUAGE sql AS $$x$$";
        assert_eq!(
            drop_function("add(integer, integer)", function),
            "DROP FUNCTION \"add\"(integer, integer);"
        );
        let procedure = "CREATE OR REPLACE PROCEDURE p(IN x integer) LANGUAGE sql AS $$x$$";
        assert_eq!(drop_function("p(integer)", procedure), "DROP PROCEDURE \"p\"(integer);");
    }

    #[test]
    fn only_the_header_decides_whether_replacing_is_enough() {
        let body = |header: &str, body: &str| format!("{header} LANGUAGE sql AS $$SELECT {body}$$");
        let f = "CREATE OR REPLACE FUNCTION f(a integer) RETURNS integer";
        assert_eq!(header(&body(f, "a")), header(&body(f, "a + 1")));
        let returns = "CREATE OR REPLACE FUNCTION f(a integer) RETURNS bigint";
        assert_ne!(header(&body(f, "a")), header(&body(returns, "a")));
        let renamed = "CREATE OR REPLACE FUNCTION f(b integer) RETURNS integer";
        assert_ne!(header(&body(f, "a")), header(&body(renamed, "b")));
    }
}
