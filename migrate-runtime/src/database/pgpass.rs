//! libpq's password file (`~/.pgpass`, `PGPASSFILE`, `passfile=`): lines of
//! `hostname:port:database:username:password`, a field of just `*`
//! matching anything, `\` escaping `:` and `\` (an unescaped `:` ends the
//! password too), `#` starting a comment; the first matching line wins.
//! Read only when the connection string and the environment give no
//! password.

use std::path::Path;

/// What a connection is looked up by.
pub(crate) struct Key<'a> {
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub user: &'a str,
}

/// The outcome of reading a password file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Found(String),
    NotFound,
    /// The file was not read, and why, for the connection error should the
    /// server then want a password.
    Ignored(String),
}

/// The password for `key` from the file at `path`. A file that others may
/// read is ignored, as libpq ignores it: a password in it is not a secret.
pub(crate) fn password(path: &Path, key: &Key) -> Lookup {
    let Ok(metadata) = std::fs::metadata(path) else { return Lookup::NotFound };
    if !metadata.is_file() {
        return Lookup::Ignored(format!("{} was ignored: it is not a plain file", path.display()));
    }
    if let Some(mode) = too_open(&metadata) {
        return Lookup::Ignored(format!(
            "{} was ignored: permissions {mode:04o} should be 0600 or less",
            path.display()
        ));
    }
    match std::fs::read_to_string(path) {
        Ok(text) => find(&text, key).map_or(Lookup::NotFound, Lookup::Found),
        Err(error) => Lookup::Ignored(format!("{} was ignored: {error}", path.display())),
    }
}

#[cfg(unix)]
fn too_open(metadata: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn too_open(_: &std::fs::Metadata) -> Option<u32> {
    None
}

/// The password of the first line of `text` matching `key`.
pub(crate) fn find(text: &str, key: &Key) -> Option<String> {
    // libpq compares a socket connection's host as `localhost`.
    let host = if key.host.starts_with('/') { "localhost" } else { key.host };
    let port = key.port.to_string();
    let wanted = [host, port.as_str(), key.database, key.user];
    text.lines().filter(|line| !line.trim_start().starts_with('#')).find_map(|line| {
        let fields = fields(line.trim_end_matches('\r'));
        let [host, port, database, user, password, ..] = fields.as_slice() else { return None };
        let matches =
            [host, port, database, user].iter().zip(wanted).all(|(field, wanted)| field.matches(wanted));
        matches.then(|| password.text.clone())
    })
}

/// A field as written: its text unescaped, and whether it was a bare `*`.
struct Field {
    text: String,
    any: bool,
}

impl Field {
    fn matches(&self, wanted: &str) -> bool {
        self.any || self.text == wanted
    }
}

/// The fields of a line, split at each `:` that no `\` escapes (libpq
/// ends the password at one too).
fn fields(line: &str) -> Vec<Field> {
    let mut fields = Vec::new();
    let (mut text, mut raw) = (String::new(), String::new());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let escaped = chars.next().unwrap_or('\\');
                text.push(escaped);
                raw.extend(['\\', escaped]);
            }
            ':' => {
                fields.push(Field { any: raw == "*", text: std::mem::take(&mut text) });
                raw.clear();
            }
            c => {
                text.push(c);
                raw.push(c);
            }
        }
    }
    fields.push(Field { any: raw == "*", text });
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: Key = Key { host: "db.example", port: 5432, database: "app", user: "me" };

    #[test]
    fn the_first_matching_line_wins() {
        let text = "# comment\n\
                    db.example:5432:other:me:no\n\
                    *:*:app:me:p\\:a\\\\ss:w\n\
                    db.example:5432:app:me:later\n";
        assert_eq!(find(text, &KEY), Some(r"p:a\ss".to_string()), "an unescaped `:` ends the password");
        assert_eq!(find("db.example:5433:app:me:x", &KEY), None);
        assert_eq!(find(r"\*:5432:app:me:x", &KEY), None, "an escaped `*` is a literal star");
        assert_eq!(find("db.example:5432:app:me", &KEY), None, "too few fields");
        assert_eq!(find("db.example:5432:app:me:\r", &KEY), Some(String::new()));
        let socket = Key { host: "/run/postgresql", ..KEY };
        assert_eq!(find("localhost:5432:app:me:s", &socket), Some("s".to_string()));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(password(&path, &KEY), Lookup::Found("secret".to_string()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let expected = format!("{} was ignored: permissions 0644 should be 0600 or less", path.display());
        assert_eq!(password(&path, &KEY), Lookup::Ignored(expected));
        assert_eq!(password(&dir.path().join("missing"), &KEY), Lookup::NotFound);
    }
}
