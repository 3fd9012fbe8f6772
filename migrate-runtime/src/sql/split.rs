//! Splitting a SQL script into its statements.
//!
//! A `transaction: none` revision runs statement by statement (see "Applying"
//! in the design), and a failing statement must be reported at its line in the
//! revision file, so both need to know where one statement ends and the next
//! begins. That is not "split on `;`": a semicolon may sit in a string, a
//! quoted identifier, a comment, a PostgreSQL dollar-quoted function body or
//! the `BEGIN … END` body of a trigger.
//!
//! The splitter is a lexer that knows just enough to skip those, with no
//! dialect switch: the constructs of SQLite and PostgreSQL do not collide in
//! revisions people write (the one overlap, `[`, quotes an identifier in
//! SQLite and opens a subscript in PostgreSQL; it only matters for a `]`
//! inside a string inside brackets). It never fails: text it cannot make sense of
//! (an unterminated string or comment) runs to the end of the input and the
//! database reports the error. The pieces are slices of the input that join
//! back to it exactly, so nothing is lost and offsets are exact.

/// One statement of a script, as a slice of it.
///
/// `text` is the exact input from the end of the previous statement through
/// this one's terminating `;` (if any), so it includes the whitespace and
/// comments before the statement. `offset` is where `text` starts in the
/// script, in bytes. `line` is the 1-based line, counted from the script's
/// first line, on which the statement's first token starts (for a piece with
/// no SQL, the line of its `;` or of the end of the script).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement<'a> {
    pub text: &'a str,
    pub offset: usize,
    pub line: usize,
    /// `text[sql_start..sql_end]` is [`Statement::sql`].
    sql_start: usize,
    sql_end: usize,
    terminated: bool,
}

impl<'a> Statement<'a> {
    /// The statement itself: `text` without the whitespace and comments around
    /// it and without its terminating `;`, ready to hand to a driver.
    pub fn sql(&self) -> &'a str {
        &self.text[self.sql_start..self.sql_end]
    }

    /// Where [`Statement::sql`] starts in the script, in bytes.
    pub fn sql_offset(&self) -> usize {
        self.offset + self.sql_start
    }

    /// True for a piece with no SQL: only whitespace, comments or a lone `;`.
    /// Such pieces are kept so the pieces join back to the script; callers
    /// skip them when executing.
    pub fn is_empty(&self) -> bool {
        self.sql_start == self.sql_end
    }

    /// True when the piece ends at a `;` of its own, false for a trailing
    /// piece that runs to the end of the script. Only the lexer can say: a
    /// `;` at the end of the text may belong to a comment.
    pub fn is_terminated(&self) -> bool {
        self.terminated
    }
}

/// Splits `script` into statements at every `;` that is not inside a string,
/// a quoted identifier, a comment, a dollar quote, parentheses or a trigger
/// (or `BEGIN ATOMIC`) body. A trailing piece without `;` is kept, even when it
/// holds only whitespace or comments, so the `text`s always join back to
/// `script`.
///
/// ```
/// use migrate_runtime::sql::split_statements;
/// let script = "-- add a flag\nALTER TABLE t ADD c INT;\n\
///               CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET c = 1; \nEND;\n";
/// let statements = split_statements(script);
/// let sql: Vec<_> = statements.iter().map(|s| s.sql()).collect();
/// let trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET c = 1; \nEND";
/// assert_eq!(sql, ["ALTER TABLE t ADD c INT", trigger, ""]);
/// assert_eq!(statements[1].line, 3);
/// assert!(statements[2].is_empty());
/// assert_eq!(statements.iter().map(|s| s.text).collect::<String>(), script);
/// ```
pub fn split_statements(script: &str) -> Vec<Statement<'_>> {
    let mut lexer = Lexer { src: script, pos: 0 };
    let mut lines = LineCounter { bytes: script.as_bytes(), pos: 0, line: 1 };
    let mut statements = Vec::new();
    while lexer.pos < script.len() {
        let offset = lexer.pos;
        let (sql_start, sql_end, terminated) = lexer.statement();
        statements.push(Statement {
            text: &script[offset..lexer.pos],
            offset,
            line: lines.line_at(sql_start),
            sql_start: sql_start - offset,
            sql_end: sql_end - offset,
            terminated,
        });
    }
    statements
}

/// `script` cut into tokens, each with whether it is blank (white space or
/// a comment). A string, quoted name or dollar-quoted body is one token, so
/// callers that rewrite blanks never touch what is inside quotes.
pub(crate) fn tokens(script: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut lexer = Lexer { src: script, pos: 0 };
    std::iter::from_fn(move || {
        let start = lexer.pos;
        (start < script.len()).then(|| (matches!(lexer.token(), Token::Blank), &script[start..lexer.pos]))
    })
}

/// The tokens of `script` that are not white space or comments, each with
/// its byte offset, for readers of SQL text (introspection, autogenerate)
/// to understand quotes, `[names]` and comments the one way.
pub(crate) fn solid_tokens(script: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    tokens(script).filter_map(move |(blank, text)| {
        let start = at;
        at += text.len();
        (!blank).then_some((start, text))
    })
}

/// What [`Lexer::token`] consumed. Strings, quoted identifiers, numbers and
/// punctuation are all `Other`: only their extent matters.
enum Token<'a> {
    /// Whitespace or a comment.
    Blank,
    Semicolon,
    Open,
    Close,
    Word(&'a str),
    Other,
}

/// A cursor over the script. Every token boundary it reaches is next to an
/// ASCII byte or at an end of the script, so on a character boundary, and
/// slicing the script there never panics.
struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// Consumes one statement and returns the absolute range of its SQL
    /// (empty, at the end of the piece before any `;`, when it has none)
    /// and whether a `;` ended it.
    fn statement(&mut self) -> (usize, usize, bool) {
        let mut nesting = Nesting::default();
        let mut sql: Option<(usize, usize)> = None;
        while self.pos < self.src.len() {
            let start = self.pos;
            let token = self.token();
            match token {
                Token::Blank => continue,
                Token::Semicolon if nesting.at_top() => {
                    let (first, end) = sql.unwrap_or((start, start));
                    return (first, end, true);
                }
                _ => {}
            }
            sql = Some((sql.map_or(start, |(first, _)| first), self.pos));
            nesting.feed(&token);
        }
        let (first, end) = sql.unwrap_or((self.pos, self.pos));
        (first, end, false)
    }

    fn token(&mut self) -> Token<'a> {
        let bytes = self.src.as_bytes();
        let first = bytes[self.pos];
        let second = bytes.get(self.pos + 1).copied();
        self.pos += 1;
        match (first, second) {
            (b';', _) => Token::Semicolon,
            (b'(', _) => Token::Open,
            (b')', _) => Token::Close,
            (b'-', Some(b'-')) => self.line_comment(),
            (b'/', Some(b'*')) => self.block_comment(),
            (b'\'' | b'"' | b'`', _) => self.quoted(first),
            // SQLite's `[identifier]`, which has no escape for `]`.
            (b'[', _) => self.skip_past(b"]"),
            (b'$', _) => self.dollar_quote(),
            _ if is_space(first) => {
                self.skip_while(is_space);
                Token::Blank
            }
            _ if is_word_byte(first) => self.word(),
            _ => Token::Other,
        }
    }

    /// A keyword or identifier, or a number, or the `E` of an `E'…'` string.
    fn word(&mut self) -> Token<'a> {
        let start = self.pos - 1;
        self.skip_while(|b| is_word_byte(b) || b == b'$');
        let word = &self.src[start..self.pos];
        if word.eq_ignore_ascii_case("e") && self.src.as_bytes().get(self.pos) == Some(&b'\'') {
            self.pos += 1;
            self.escape_string();
            return Token::Other;
        }
        if word.as_bytes()[0].is_ascii_digit() {
            return Token::Other;
        }
        Token::Word(word)
    }

    /// Ends before the newline, which PostgreSQL takes to be `\n` or `\r`.
    fn line_comment(&mut self) -> Token<'a> {
        self.skip_while(|b| b != b'\n' && b != b'\r');
        Token::Blank
    }

    /// PostgreSQL nests block comments; SQLite does not, but a `/*` inside a
    /// comment is rare enough that following PostgreSQL costs nothing.
    fn block_comment(&mut self) -> Token<'a> {
        let bytes = self.src.as_bytes();
        let mut depth = 1;
        self.pos += 1;
        while depth > 0 && self.pos < bytes.len() {
            match (bytes[self.pos], bytes.get(self.pos + 1)) {
                (b'/', Some(b'*')) => (depth, self.pos) = (depth + 1, self.pos + 2),
                (b'*', Some(b'/')) => (depth, self.pos) = (depth - 1, self.pos + 2),
                _ => self.pos += 1,
            }
        }
        Token::Blank
    }

    /// A string or quoted identifier closed by `quote`, where a doubled quote
    /// stands for itself: `'it''s'`, `"a ""b"""`, `` `a``b` ``.
    fn quoted(&mut self, quote: u8) -> Token<'a> {
        loop {
            self.skip_past(&[quote]);
            if self.src.as_bytes().get(self.pos) != Some(&quote) {
                return Token::Other;
            }
            self.pos += 1;
        }
    }

    /// The body of PostgreSQL's `E'…'`, where a backslash escapes the next
    /// character (`E'it\'s'`) and `''` still works.
    fn escape_string(&mut self) {
        let bytes = self.src.as_bytes();
        while self.pos < bytes.len() {
            match (bytes[self.pos], bytes.get(self.pos + 1)) {
                // Skipping one byte of a multi-byte character is harmless:
                // the rest are not ASCII, so no position in it is returned.
                (b'\\', Some(_)) | (b'\'', Some(b'\'')) => self.pos += 2,
                (b'\'', _) => {
                    self.pos += 1;
                    return;
                }
                _ => self.pos += 1,
            }
        }
    }

    /// `$$…$$` or `$tag$…$tag$`. A `$` that does not open one (a parameter
    /// such as `$1`, whose "tag" would start with a digit) is consumed alone.
    fn dollar_quote(&mut self) -> Token<'a> {
        let bytes = self.src.as_bytes();
        let tag_start = self.pos;
        let tag_len = bytes[tag_start..].iter().take_while(|&&b| is_word_byte(b)).count();
        let opens = bytes.get(tag_start + tag_len) == Some(&b'$')
            && !(tag_len > 0 && bytes[tag_start].is_ascii_digit());
        if opens {
            let delimiter = &bytes[tag_start - 1..=tag_start + tag_len];
            self.pos = tag_start + tag_len + 1;
            return self.skip_past(delimiter);
        }
        Token::Other
    }

    /// Moves past the next occurrence of `needle`, or to the end: the rest of
    /// a string, quoted identifier or dollar quote.
    fn skip_past(&mut self, needle: &[u8]) -> Token<'a> {
        let rest = &self.src.as_bytes()[self.pos..];
        self.pos = match rest.windows(needle.len()).position(|window| window == needle) {
            Some(found) => self.pos + found + needle.len(),
            None => self.src.len(),
        };
        Token::Other
    }

    fn skip_while(&mut self, keep: impl Fn(u8) -> bool) {
        let rest = &self.src.as_bytes()[self.pos..];
        self.pos += rest.iter().take_while(|&&b| keep(b)).count();
    }
}

/// What decides whether a `;` ends the statement: open parentheses (as in
/// psql, for PostgreSQL's `CREATE RULE … DO (a; b)`) and bodies opened by
/// `BEGIN` that only `END` closes.
#[derive(Default)]
struct Nesting {
    head: Head,
    /// A routine's `BEGIN` was just seen; `ATOMIC` next opens a body.
    begin_seen: bool,
    /// Open `BEGIN`/`CASE` blocks in a body: a CASE's `END` must not end a
    /// trigger.
    body: usize,
    parens: usize,
}

/// What the statement's leading words say it is. Only a trigger's `BEGIN`
/// opens a body: a standalone `BEGIN;` starts a transaction.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Head {
    #[default]
    Start,
    Create,
    Trigger,
    Routine,
    Other,
}

impl Nesting {
    fn at_top(&self) -> bool {
        self.body == 0 && self.parens == 0
    }

    fn feed(&mut self, token: &Token<'_>) {
        match token {
            Token::Word(word) => return self.word(word),
            Token::Open => self.parens += 1,
            Token::Close => self.parens = self.parens.saturating_sub(1),
            _ => {}
        }
        self.begin_seen = false;
    }

    fn word(&mut self, word: &str) {
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword);
        if self.body > 0 {
            if is("BEGIN") || is("CASE") {
                self.body += 1;
            } else if is("END") {
                self.body -= 1;
            }
            return;
        }
        if std::mem::take(&mut self.begin_seen) && is("ATOMIC") {
            self.body = 1;
            return;
        }
        self.head = self.head.next(word);
        match self.head {
            Head::Trigger if is("BEGIN") => self.body = 1,
            Head::Routine if is("BEGIN") => self.begin_seen = true,
            _ => {}
        }
    }
}

impl Head {
    /// `CREATE [TEMP|TEMPORARY] [OR REPLACE] [CONSTRAINT] TRIGGER`, or
    /// `CREATE [OR REPLACE] FUNCTION|PROCEDURE` (PostgreSQL's `BEGIN ATOMIC`).
    fn next(self, word: &str) -> Head {
        let is = |keywords: &[&str]| keywords.iter().any(|k| word.eq_ignore_ascii_case(k));
        match self {
            Head::Start if is(&["CREATE"]) => Head::Create,
            Head::Create if is(&["TEMP", "TEMPORARY", "OR", "REPLACE", "CONSTRAINT"]) => Head::Create,
            Head::Create if is(&["TRIGGER"]) => Head::Trigger,
            Head::Create if is(&["FUNCTION", "PROCEDURE"]) => Head::Routine,
            Head::Start | Head::Create => Head::Other,
            settled => settled,
        }
    }
}

/// Turns increasing byte offsets into line numbers in one pass over the
/// script. A lone `\r` counts as a line break, as in [`crate::model::checksum::normalise`].
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
}

impl LineCounter<'_> {
    fn line_at(&mut self, offset: usize) -> usize {
        for at in self.pos..offset {
            let lone_cr = self.bytes[at] == b'\r' && self.bytes.get(at + 1) != Some(&b'\n');
            if self.bytes[at] == b'\n' || lone_cr {
                self.line += 1;
            }
        }
        self.pos = self.pos.max(offset);
        self.line
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Letters, digits, `_` and any byte of a non-ASCII character, which both
/// SQLite and PostgreSQL accept in unquoted identifiers.
fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Splits `input` and compares the SQL of every piece, empty ones included.
    #[track_caller]
    fn check(input: &str, expected: &[&str]) {
        let statements = split_statements(input);
        let sql: Vec<&str> = statements.iter().map(Statement::sql).collect();
        assert_eq!(sql, expected, "input: {input:?}");
        check_invariants(input);
    }

    /// Compares the line of every piece that has SQL.
    #[track_caller]
    fn check_lines(input: &str, expected: &[usize]) {
        let statements = split_statements(input);
        let lines: Vec<usize> = statements.iter().filter(|s| !s.is_empty()).map(|s| s.line).collect();
        assert_eq!(lines, expected, "input: {input:?}");
        check_invariants(input);
    }

    /// What must hold for every input, valid SQL or not.
    fn check_invariants(input: &str) {
        let statements = split_statements(input);
        assert_eq!(statements.iter().map(|s| s.text).collect::<String>(), input);
        let mut offset = 0;
        for (i, statement) in statements.iter().enumerate() {
            assert_eq!(statement.offset, offset);
            assert!(!statement.text.is_empty());
            assert!(i + 1 == statements.len() || statement.text.ends_with(';'));
            assert!(i + 1 == statements.len() || statement.is_terminated());
            let sql = statement.sql();
            assert_eq!(statement.is_empty(), sql.is_empty());
            assert!(!sql.starts_with(|c: char| c.is_ascii() && is_space(c as u8)));
            assert_eq!(statement.line, naive_line(&input[..offset + statement.sql_start]));
            // A piece is split the same way on its own: the splitter keeps
            // no state from one statement to the next.
            let alone = split_statements(statement.text);
            let pieces: Vec<_> = alone.iter().map(|s| (s.text, s.sql(), s.is_terminated())).collect();
            assert_eq!(pieces, [(statement.text, sql, statement.is_terminated())]);
            offset += statement.text.len();
        }
    }

    fn naive_line(before: &str) -> usize {
        1 + before.replace("\r\n", "\n").matches(['\n', '\r']).count()
    }

    #[test]
    fn plain_statements() {
        check("", &[]);
        check(
            "CREATE TABLE a (x INT); CREATE TABLE b (y INT);",
            &["CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"],
        );
        check("SELECT 1; SELECT 2", &["SELECT 1", "SELECT 2"]);
        check("SELECT 1;\n", &["SELECT 1", ""]);
        check("SELECT 1;;  ;", &["SELECT 1", "", ""]);
        check("  SELECT\n  1  ;", &["SELECT\n  1"]);
    }

    /// Whether a piece ended at its own `;` is the lexer's answer, not a
    /// look at the last character: a comment may end in `;` too.
    #[test]
    fn terminated_pieces() {
        let terminated = |input: &str| -> Vec<bool> {
            check_invariants(input);
            split_statements(input).iter().map(Statement::is_terminated).collect()
        };
        assert_eq!(terminated("SELECT 1;"), [true]);
        assert_eq!(terminated("SELECT 1"), [false]);
        assert_eq!(terminated("SELECT 1\n-- done;"), [false]);
        assert_eq!(terminated("SELECT 1 /* done; */"), [false]);
        assert_eq!(terminated("SELECT 1;\n-- done;"), [true, false]);
        assert_eq!(terminated("SELECT ';'"), [false]);
    }

    #[test]
    fn comments() {
        check("-- a; b\nSELECT 1; -- c; d", &["SELECT 1", ""]);
        check("SELECT 1 -- trailing; comment", &["SELECT 1"]);
        check("/* a; b */ SELECT /* ; */ 1 /* c */;", &["SELECT /* ; */ 1"]);
        check("/* outer /* inner; */ still; comment */ SELECT 1;", &["SELECT 1"]);
        // The rest of the script is one comment, the database's to complain about.
        check("SELECT 1 /* unterminated; SELECT 2;", &["SELECT 1"]);
        check("SELECT 1;\n/* only a comment */\n", &["SELECT 1", ""]);
        check("SELECT 1 - -1; SELECT 2/3;", &["SELECT 1 - -1", "SELECT 2/3"]);
        check("SELECT 1;\r-- cr ends a comment\rSELECT 2;", &["SELECT 1", "SELECT 2"]);
    }

    #[test]
    fn strings_and_quoted_identifiers() {
        check("INSERT INTO t VALUES ('a;b'); SELECT 1;", &["INSERT INTO t VALUES ('a;b')", "SELECT 1"]);
        check("SELECT 'it''s; fine'; SELECT 2;", &["SELECT 'it''s; fine'", "SELECT 2"]);
        check("SELECT 'a'';'''; SELECT 2;", &["SELECT 'a'';'''", "SELECT 2"]);
        check("SELECT 'unterminated; SELECT 2;", &["SELECT 'unterminated; SELECT 2;"]);
        check(r#"CREATE TABLE "a;""b" (x INT); SELECT 2;"#, &[r#"CREATE TABLE "a;""b" (x INT)"#, "SELECT 2"]);
        check("CREATE TABLE `a;``b` (x INT); SELECT 2;", &["CREATE TABLE `a;``b` (x INT)", "SELECT 2"]);
        check("CREATE TABLE [a;b] (x INT); SELECT 2;", &["CREATE TABLE [a;b] (x INT)", "SELECT 2"]);
        check("SELECT 'héllo; wörld'; SELECT ünïcode;", &["SELECT 'héllo; wörld'", "SELECT ünïcode"]);
    }

    #[test]
    fn escape_strings_take_backslashes() {
        check(r"SELECT E'it\'s; fine'; SELECT 2;", &[r"SELECT E'it\'s; fine'", "SELECT 2"]);
        check(r"SELECT e'\\'; SELECT 2;", &[r"SELECT e'\\'", "SELECT 2"]);
        check(r"SELECT E'a''b\';'; SELECT 2;", &[r"SELECT E'a''b\';'", "SELECT 2"]);
        // Only a lone `E` makes an escape string: here `\` is an ordinary
        // character and the string ends at the next quote.
        check(r"SELECT some'\'; SELECT 2;", &[r"SELECT some'\'", "SELECT 2"]);
        check(r"SELECT '\'; SELECT 2;", &[r"SELECT '\'", "SELECT 2"]);
        check("SELECT E'é\\é;'; SELECT 2;", &["SELECT E'é\\é;'", "SELECT 2"]);
    }

    #[test]
    fn dollar_quotes() {
        let function = "CREATE FUNCTION f() RETURNS trigger AS $$\nBEGIN\n  NEW.x := 1;\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql";
        check(&format!("{function};\nSELECT 1;"), &[function, "SELECT 1"]);
        check(
            "SELECT $body$ a; $$ b; $x$ $body$; SELECT 2;",
            &["SELECT $body$ a; $$ b; $x$ $body$", "SELECT 2"],
        );
        check("SELECT $A$ ; $a$ ; $A$; SELECT 2;", &["SELECT $A$ ; $a$ ; $A$", "SELECT 2"]);
        check("SELECT $_t1$;$_t1$; SELECT 2;", &["SELECT $_t1$;$_t1$", "SELECT 2"]);
        check("SELECT $$ unterminated; SELECT 2;", &["SELECT $$ unterminated; SELECT 2;"]);
    }

    #[test]
    fn dollars_that_are_not_quotes() {
        check("SELECT $1; SELECT $2;", &["SELECT $1", "SELECT $2"]);
        check("SELECT $1$; SELECT 2;", &["SELECT $1$", "SELECT 2"]);
        check("SELECT $1, $2 FROM t WHERE a = $3;", &["SELECT $1, $2 FROM t WHERE a = $3"]);
        // In PostgreSQL `$` continues an identifier, so no quote opens here.
        check("SELECT a$$b; SELECT c$x$; SELECT 2;", &["SELECT a$$b", "SELECT c$x$", "SELECT 2"]);
        check("SELECT $; SELECT 2;", &["SELECT $", "SELECT 2"]);
    }

    #[test]
    fn trigger_bodies() {
        let trigger = "CREATE TRIGGER t_audit AFTER INSERT ON t\nBEGIN\n  INSERT INTO log VALUES (NEW.id);\n  UPDATE t SET seen = 1;\nEND";
        check(&format!("{trigger};\nSELECT 1;"), &[trigger, "SELECT 1"]);
        let temp = "create temp trigger tr before delete on t begin select raise(abort, 'no;'); end";
        check(&format!("{temp}; select 1;"), &[temp, "select 1"]);
        let guarded =
            "CREATE TRIGGER IF NOT EXISTS tr AFTER UPDATE ON t WHEN NEW.a <> OLD.a BEGIN DELETE FROM c; END";
        check(&format!("{guarded}; SELECT 1;"), &[guarded, "SELECT 1"]);
        let temporary = "CREATE TEMPORARY TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END";
        check(&format!("{temporary}; SELECT 1;"), &[temporary, "SELECT 1"]);
    }

    #[test]
    fn a_case_end_does_not_end_a_trigger() {
        let trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  UPDATE t SET k = CASE WHEN NEW.a THEN 1 ELSE CASE 2 WHEN 2 THEN 3 END END;\n  DELETE FROM u;\nEND";
        check(&format!("{trigger};\nSELECT 1;"), &[trigger, "SELECT 1"]);
        let when =
            "CREATE TRIGGER tr AFTER INSERT ON t WHEN CASE NEW.a WHEN 1 THEN 1 END BEGIN SELECT 1; END";
        check(&format!("{when}; SELECT 2;"), &[when, "SELECT 2"]);
    }

    #[test]
    fn begin_outside_a_trigger_is_a_transaction() {
        check("BEGIN; CREATE TABLE t (x INT); COMMIT;", &["BEGIN", "CREATE TABLE t (x INT)", "COMMIT"]);
        check("BEGIN TRANSACTION; SELECT 1; END;", &["BEGIN TRANSACTION", "SELECT 1", "END"]);
        check(
            "begin immediate; select 1; end transaction;",
            &["begin immediate", "select 1", "end transaction"],
        );
        // A PostgreSQL trigger has no body; the BEGIN after it is a statement.
        check(
            "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f(); BEGIN; SELECT 1;",
            &["CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()", "BEGIN", "SELECT 1"],
        );
    }

    #[test]
    fn keywords_match_whole_words_only() {
        check(
            "CREATE TABLE legend (begin_date DATE, trigger_name TEXT, ending INT); SELECT 1;",
            &["CREATE TABLE legend (begin_date DATE, trigger_name TEXT, ending INT)", "SELECT 1"],
        );
        check(
            "CREATE TABLE t (trigger TEXT, begin INT); SELECT 1;",
            &["CREATE TABLE t (trigger TEXT, begin INT)", "SELECT 1"],
        );
        check(
            "CREATE TABLE triggers (x INT); BEGIN; SELECT 1;",
            &["CREATE TABLE triggers (x INT)", "BEGIN", "SELECT 1"],
        );
        let named = "CREATE TRIGGER begin_end AFTER INSERT ON legend BEGIN SELECT end_date; END";
        check(&format!("{named}; SELECT 1;"), &[named, "SELECT 1"]);
    }

    #[test]
    fn begin_atomic_bodies() {
        let function = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN a END;\n  SELECT 2;\nEND";
        check(&format!("{function};\nSELECT 3;"), &[function, "SELECT 3"]);
        let procedure =
            "create or replace procedure p() language sql begin /* c */ atomic insert into t values (1); end";
        check(&format!("{procedure}; select 1;"), &[procedure, "select 1"]);
    }

    #[test]
    fn parentheses_hold_semicolons() {
        let rule =
            "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))";
        check(&format!("{rule}; SELECT 1;"), &[rule, "SELECT 1"]);
        check("SELECT 1); SELECT 2;", &["SELECT 1)", "SELECT 2"]);
    }

    #[test]
    fn lines_skip_leading_comments_and_blank_lines() {
        let script = "\n\n-- header; with a semicolon\n/* multi\nline */\nCREATE TABLE a (x INT);\n\n\
                      CREATE TABLE b (\n  y INT\n);\n-- trailing\n";
        check_lines(script, &[6, 8]);
        check_lines("SELECT 1; SELECT 2;\nSELECT 3;", &[1, 1, 2]);
        check_lines("SELECT 'a\nb'; SELECT $$\n\n$$;\n\n  SELECT 3;", &[1, 2, 6]);
        check_lines("CREATE TRIGGER tr AFTER INSERT ON t BEGIN\nSELECT 1;\nEND;\nSELECT 2;", &[1, 4]);
    }

    #[test]
    fn crlf_and_lone_cr_line_endings() {
        let script = "SELECT 1;\r\n-- c;\r\n\r\nSELECT 2;\r\n";
        check(script, &["SELECT 1", "SELECT 2", ""]);
        check_lines(script, &[1, 4]);
        check_lines("SELECT 1;\rSELECT 2;\r\rSELECT 3;", &[1, 2, 4]);
    }

    #[test]
    fn offsets_and_texts_are_slices_of_the_script() {
        let statements = split_statements("SELECT 1; -- two\nSELECT 2;\n");
        let pieces: Vec<_> = statements.iter().map(|s| (s.offset, s.text, s.line)).collect();
        assert_eq!(pieces, [(0, "SELECT 1;", 1), (9, " -- two\nSELECT 2;", 2), (26, "\n", 3)]);
    }

    /// Pieces of SQL that open and close the constructs the splitter knows.
    fn sqlish() -> impl Strategy<Value = String> {
        const ALPHABET: &[&str] = &[
            "'",
            "\"",
            "`",
            "[",
            "]",
            "$",
            "$$",
            "$tag$",
            "$1",
            "E'",
            "\\",
            ";",
            "--",
            "/*",
            "*/",
            "\n",
            "\r\n",
            "\r",
            "(",
            ")",
            "BEGIN",
            "begin",
            "ATOMIC",
            "END",
            "CASE",
            "CREATE TRIGGER",
            "CREATE FUNCTION",
            "CREATE TEMP TRIGGER",
            "t",
            "x",
            "é",
            " ",
        ];
        prop::collection::vec(prop::sample::select(ALPHABET), 0..60).prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn any_string_splits_into_its_own_pieces(input in any::<String>()) {
            check_invariants(&input);
        }

        #[test]
        fn sqlish_strings_split_into_their_own_pieces(input in sqlish()) {
            check_invariants(&input);
        }
    }
}
