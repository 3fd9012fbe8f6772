//! The walk's fingerprint of every object, brought up to date after each
//! step by reading only what the step may have changed, where the database
//! can tell (see [`TestDatabase::update_fingerprints`]).
//!
//! A whole-schema read per step made a long walk quadratic: a thousand
//! revisions cost a thousand reads of a thousand objects. Here a step costs
//! what it touched: the map is changed entry by entry, each change kept
//! (with the value it replaced) until the walk takes it, and a digest of
//! the whole map is kept up to date with each change instead of being
//! hashed again.

use std::collections::{BTreeMap, HashMap};

#[cfg(doc)]
use super::database::TestDatabase;

/// Per-object fingerprints (`table user` → digest), as
/// [`TestDatabase::object_fingerprints`] gives them, with what the
/// database's driver remembers to tell what changed since the last update.
#[derive(Default)]
pub struct Fingerprints {
    objects: BTreeMap<String, String>,
    /// XOR of every entry's SHA-256: updated in place per changed entry,
    /// and independent of the order entries came in.
    digest: [u8; 32],
    /// Each object changed since the walk last took the changes, with its
    /// fingerprint before the first of them (`None`: it did not exist).
    changed: HashMap<String, Option<String>>,
    #[cfg(feature = "sqlite")]
    pub(crate) sqlite: crate::sqlite::changes::Seen,
    #[cfg(feature = "postgres")]
    pub(crate) postgres: crate::postgres::changes::Seen,
}

/// What changed in one or more updates: each object with its fingerprint
/// before them (`None`: it did not exist).
pub(crate) type Changes = HashMap<String, Option<String>>;

impl Fingerprints {
    /// The fingerprint of `object`, if it exists.
    pub fn get(&self, object: &str) -> Option<&str> {
        self.objects.get(object).map(String::as_str)
    }

    /// Sets `object`'s fingerprint (`None`: the object is gone).
    pub fn set(&mut self, object: &str, fingerprint: Option<String>) {
        if self.objects.get(object) == fingerprint.as_ref() {
            return;
        }
        let old = match &fingerprint {
            Some(new) => self.objects.insert(object.to_string(), new.clone()),
            None => self.objects.remove(object),
        };
        if let Some(old) = &old {
            self.toggle(object, old);
        }
        if let Some(new) = &fingerprint {
            self.toggle(object, new);
        }
        self.changed.entry(object.to_string()).or_insert(old);
    }

    /// Makes the map equal to `all`, the fingerprints of every object.
    pub fn set_all(&mut self, all: BTreeMap<String, String>) {
        let gone: Vec<String> = self.objects.keys().filter(|k| !all.contains_key(*k)).cloned().collect();
        for object in gone {
            self.set(&object, None);
        }
        for (object, fingerprint) in all {
            self.set(&object, Some(fingerprint));
        }
    }

    /// What changed since the last call.
    pub(crate) fn take_changes(&mut self) -> Changes {
        let mut changes = std::mem::take(&mut self.changed);
        changes.retain(|object, old| self.objects.get(object) != old.as_ref());
        changes
    }

    /// One digest of the whole map.
    pub(crate) fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// The objects whose fingerprint now differs from the one they had
    /// before the first of `changes` (each the changes of consecutive
    /// updates, oldest first), in name order.
    pub(crate) fn differing(&self, changes: &[&Changes]) -> Vec<String> {
        let mut before: HashMap<&str, Option<&str>> = HashMap::new();
        for change in changes {
            for (object, old) in change.iter() {
                before.entry(object.as_str()).or_insert(old.as_deref());
            }
        }
        let mut differing: Vec<String> =
            before.into_iter().filter(|(o, old)| self.get(o) != *old).map(|(o, _)| o.to_string()).collect();
        differing.sort();
        differing
    }

    fn toggle(&mut self, object: &str, fingerprint: &str) {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(object.as_bytes());
        hasher.update([0]);
        hasher.update(fingerprint.as_bytes());
        self.digest.iter_mut().zip(hasher.finalize()).for_each(|(a, b)| *a ^= b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_digest_and_the_changes_follow_every_update() {
        let mut fingerprints = Fingerprints::default();
        fingerprints.set_all(map(&[("table a", "1"), ("table b", "2")]));
        let start = fingerprints.digest();
        let first = fingerprints.take_changes();
        assert_eq!(first.len(), 2);
        fingerprints.set("table a", Some("3".into()));
        fingerprints.set("table c", Some("4".into()));
        let up = fingerprints.take_changes();
        assert_eq!(fingerprints.differing(&[&up]), ["table a", "table c"]);
        fingerprints.set_all(map(&[("table a", "1"), ("table b", "2")]));
        let down = fingerprints.take_changes();
        assert!(fingerprints.differing(&[&up, &down]).is_empty(), "back to where it started");
        assert_eq!(fingerprints.digest(), start);
        assert_eq!(fingerprints.differing(&[&down]), ["table a", "table c"]);
    }

    #[test]
    fn a_change_undone_within_one_update_is_no_change() {
        let mut fingerprints = Fingerprints::default();
        fingerprints.set("view v", Some("1".into()));
        fingerprints.take_changes();
        fingerprints.set("view v", None);
        fingerprints.set("view v", Some("1".into()));
        assert!(fingerprints.take_changes().is_empty());
    }
}
