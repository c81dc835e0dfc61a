//! Named values in PostgreSQL that every instance sharing the database reads at start.

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = Text)]
    value: String,
}

/// The value of `name`, storing `value` first if there is none yet (the first writer wins when
/// several instances start at once; every caller gets the stored value).
pub fn get_or_insert(conn: &mut PgConnection, name: &str, value: &str) -> QueryResult<String> {
    diesel::sql_query(
        "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind::<Text, _>(name)
    .bind::<Text, _>(value)
    .execute(conn)?;
    diesel::sql_query("SELECT value FROM settings WHERE name = $1")
        .bind::<Text, _>(name)
        .get_result::<Value>(conn)
        .map(|v| v.value)
}
