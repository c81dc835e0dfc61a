//! PostgreSQL statements written as text that stay prepared on their connection. Diesel's
//! `sql_query` is parsed and planned by the server on every use (it is never cached); on the
//! delivery path that was about a third of what each batch's statement cost PostgreSQL
//! (BENCHMARKS.md, issue 21). A `Prepared` is kept in Diesel's statement cache under its text,
//! like any statement Diesel builds itself.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::HasSqlType;
use diesel::{QueryResult, RunQueryDsl};
use std::marker::PhantomData;

/// One value bound to a statement, with its SQL type.
trait Bind {
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

struct Typed<ST, U>(U, PhantomData<fn() -> ST>);

impl<ST, U> Bind for Typed<ST, U>
where
    Pg: HasSqlType<ST>,
    U: ToSql<ST, Pg>,
{
    fn push<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_bind_param::<ST, U>(&self.0)
    }
}

/// A statement whose text names its parameters `$1`, `$2`, … (each may appear more than once),
/// bound in that order with `bind`.
pub struct Prepared<'a> {
    sql: &'static str,
    binds: Vec<Box<dyn Bind + 'a>>,
}

impl<'a> Prepared<'a> {
    pub fn new(sql: &'static str) -> Prepared<'a> {
        Prepared {
            sql,
            binds: Vec::new(),
        }
    }

    /// Binds the next parameter.
    pub fn bind<ST: 'static, U>(mut self, value: U) -> Prepared<'a>
    where
        Pg: HasSqlType<ST>,
        U: ToSql<ST, Pg> + 'a,
    {
        self.binds.push(Box::new(Typed(value, PhantomData)));
        self
    }
}

/// The text split at its parameters: (SQL before it, the parameter's number from 1), then the
/// text after the last one.
fn placeholders(sql: &str) -> (Vec<(&str, usize)>, &str) {
    let mut parts = Vec::new();
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - at - 1);
        match rest[at + 1..at + 1 + digits].parse::<usize>() {
            Ok(n) => {
                parts.push((&rest[..at], n));
                rest = &rest[at + 1 + digits..];
            }
            Err(_) => {
                // A `$` that names no parameter belongs to the text.
                parts.push((&rest[..=at], 0));
                rest = &rest[at + 1..];
            }
        }
    }
    (parts, rest)
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let (parts, tail) = placeholders(self.sql);
        for (text, n) in parts {
            out.push_sql(text);
            if n == 0 {
                continue;
            }
            let bind = self.binds.get(n - 1).ok_or_else(|| {
                diesel::result::Error::QueryBuilderError(format!("${n} is not bound").into())
            })?;
            bind.push(&mut out)?;
        }
        out.push_sql(tail);
        Ok(())
    }
}

impl QueryId for Prepared<'_> {
    type QueryId = ();
    // Cached under its text and bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl RunQueryDsl<diesel::PgConnection> for Prepared<'_> {}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn parameters_are_found_in_order_and_may_repeat() {
        let (parts, tail) = placeholders("SELECT $1, $12 FROM t WHERE a = $1 AND b = '$x'");
        assert_eq!(
            parts,
            vec![
                ("SELECT ", 1),
                (", ", 12),
                (" FROM t WHERE a = ", 1),
                (" AND b = '$", 0)
            ]
        );
        assert_eq!(tail, "x'");
        assert_eq!(placeholders("no parameters"), (vec![], "no parameters"));
        assert_eq!(placeholders("ends $3"), (vec![("ends ", 3)], ""));
    }
}
