// revision: aa0000000001
// revises: not-an-id
// colour: red

use migrate_runtime::data::{DataError, Handle};

pub async fn upgrade(db: &mut Handle<'_>) -> Result<(), DataError> {
    let _ = db;
    Ok(())
}
