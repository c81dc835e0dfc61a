use crate::db::DbConn;
use crate::db::schema::users;
use diesel::prelude::*;

diesel::define_sql_function! {
    /// ASCII lower case (addresses are ASCII): one address whatever its case, on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Support,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "support" => Some(Role::Support),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Support => "support",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i32,
    pub email: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
    /// Instance users see every workspace; the others are members of some.
    pub instance: bool,
}

impl User {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Support)
    }
    pub fn is_admin(&self) -> bool {
        self.role() == Role::Admin
    }
}

pub fn create(
    conn: &mut DbConn,
    email: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values((
            users::email.eq(email),
            users::role.eq(role.as_str()),
            users::password_hash.eq(password_hash),
            users::disabled.eq(false),
            users::created_at.eq(now),
        ))
        .execute(conn)?;
    users::table
        .filter(lower(users::email).eq(email.to_ascii_lowercase()))
        .select(User::as_select())
        .first(conn)
}

/// A user who is not an instance user: a member of the workspaces `memberships` names, with
/// the role each membership gives (the user's own role is unused).
pub fn create_member(
    conn: &mut DbConn,
    email: &str,
    password_hash: &str,
    now: i64,
) -> QueryResult<User> {
    let user = create(conn, email, Role::Support, password_hash, now)?;
    diesel::update(users::table.find(user.id))
        .set(users::instance.eq(false))
        .execute(conn)?;
    get(conn, user.id)
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    // No stored address holds a NUL (they are checked when made), and PostgreSQL refuses one
    // in text: such a sign-in is simply an unknown account on both backends.
    if email.contains('\0') {
        return Ok(None);
    }
    users::table
        .filter(lower(users::email).eq(email.trim().to_ascii_lowercase()))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn any_admin(conn: &mut DbConn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::instance.eq(true))
            .filter(users::disabled.eq(false)),
    ))
    .get_result(conn)
}

/// The instance users (who see every workspace), oldest first.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::instance.eq(true))
        .order(users::id.asc())
        .select(User::as_select())
        .load(conn)
}

pub fn get(conn: &mut DbConn, id: i32) -> QueryResult<User> {
    users::table.find(id).select(User::as_select()).first(conn)
}

/// Administrators who can sign in.
pub fn active_admins(conn: &mut DbConn) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::instance.eq(true))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)
}

pub fn set_role(conn: &mut DbConn, id: i32, role: Role) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::role.eq(role.as_str()))
        .execute(conn)
        .map(|_| ())
}

pub fn set_disabled(conn: &mut DbConn, id: i32, disabled: bool) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::disabled.eq(disabled))
        .execute(conn)
        .map(|_| ())
}

pub fn set_password_hash(conn: &mut DbConn, id: i32, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .map(|_| ())
}
