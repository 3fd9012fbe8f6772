// revision: aa0000000001
// message: backfill

pub fn upgrade(name: &str) -> usize {
    name.len()
}
