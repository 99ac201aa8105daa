//! Random string ids, checked for collisions before insert (contract §1.2).

use super::{Db, DbResult};

/// Whether an id is free in one of the tables with random string ids (contract §1.2).
async fn id_is_free(db: &Db, table: IdTable, id: &str) -> DbResult<bool> {
    let sql = format!("SELECT 1 FROM {} WHERE id = $1", table.name());
    let row: Option<i64> = sqlx::query_scalar(&sql)
        .bind(id)
        .fetch_optional(db.reader())
        .await?;
    Ok(row.is_none())
}

#[derive(Debug, Clone, Copy)]
pub enum IdTable {
    Users,
    Groups,
    Samples,
    Subtractions,
    Refs,
    Indexes,
    Jobs,
    Analyses,
    ApiKeys,
}

impl IdTable {
    fn name(self) -> &'static str {
        match self {
            IdTable::Users => "users",
            IdTable::Groups => "groups",
            IdTable::Samples => "samples",
            IdTable::Subtractions => "subtractions",
            IdTable::Refs => "refs",
            IdTable::Indexes => "indexes",
            IdTable::Jobs => "jobs",
            IdTable::Analyses => "analyses",
            IdTable::ApiKeys => "api_keys",
        }
    }
}

/// A random id not yet used in `table`.
pub async fn fresh_id(db: &Db, table: IdTable) -> DbResult<String> {
    loop {
        let id = crate::model::ids::new_id();
        if id_is_free(db, table, &id).await? {
            return Ok(id);
        }
    }
}
