//! SQLite, second fence: SQLite's own authorizer on every tenant connection.
//!
//! A tenant connection attaches `shared.db` read-only (writes fail in SQLite), but
//! a file is all or nothing: read-only would still let a tenant statement read
//! `shared.operators` or the API keys. The authorizer is asked for every table and
//! column a statement touches when it is prepared; it allows the reference tables
//! tenant code reads ([`SHARED_REFERENCE`](crate::backend)) and refuses the rest of
//! `shared`, and it refuses `ATTACH`/`DETACH`, so no statement can open another
//! reseller's file. This is the SQLite counterpart of the tenant role on
//! PostgreSQL; the one `unsafe` call that installs it is here and nowhere else.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int, c_void};

use libsqlite3_sys as ffi;
use sea_orm::sqlx::sqlite::LockedSqliteHandle;

/// Installs the authorizer on a tenant connection, after its `ATTACH` of `shared`.
pub(crate) fn install(handle: &mut LockedSqliteHandle<'_>) {
    let db = handle.as_raw_handle();
    // SAFETY: `db` is the live connection, locked by `handle` for this call, so no
    // other thread uses it meanwhile. `authorize` is a plain function that reads
    // only its arguments and never unwinds; it gets no user data (null), so there is
    // nothing to outlive.
    unsafe {
        ffi::sqlite3_set_authorizer(db.as_ptr(), Some(authorize), std::ptr::null_mut());
    }
}

unsafe extern "C" fn authorize(
    _user: *mut c_void,
    action: c_int,
    arg1: *const c_char,
    _arg2: *const c_char,
    database: *const c_char,
    _trigger: *const c_char,
) -> c_int {
    // SAFETY: SQLite passes each argument as NULL or a NUL-terminated string that
    // lives for the duration of the call.
    let text = |p: *const c_char| (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes());
    decide(action, text(arg1), text(database))
}

/// What a tenant connection may do: the authorizer's decision, free of FFI.
fn decide(action: c_int, table: Option<&[u8]>, database: Option<&[u8]>) -> c_int {
    match action {
        ffi::SQLITE_ATTACH | ffi::SQLITE_DETACH => ffi::SQLITE_DENY,
        ffi::SQLITE_READ if database == Some(b"shared") => {
            let table = table.unwrap_or_default();
            let readable = crate::backend::SHARED_REFERENCE
                .iter()
                .any(|t| t.as_bytes() == table)
                || table == b"sqlite_master"
                || table == b"sqlite_schema";
            if readable {
                ffi::SQLITE_OK
            } else {
                ffi::SQLITE_DENY
            }
        }
        ffi::SQLITE_INSERT | ffi::SQLITE_UPDATE | ffi::SQLITE_DELETE
            if database == Some(b"shared") =>
        {
            ffi::SQLITE_DENY
        }
        _ => ffi::SQLITE_OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_tables_are_readable_and_the_rest_of_shared_is_not() {
        let shared = Some(&b"shared"[..]);
        assert_eq!(
            decide(ffi::SQLITE_READ, Some(b"tlds"), shared),
            ffi::SQLITE_OK
        );
        assert_eq!(
            decide(ffi::SQLITE_READ, Some(b"operators"), shared),
            ffi::SQLITE_DENY
        );
        assert_eq!(
            decide(ffi::SQLITE_READ, Some(b"tenants"), shared),
            ffi::SQLITE_DENY
        );
        assert_eq!(
            decide(ffi::SQLITE_UPDATE, Some(b"tlds"), shared),
            ffi::SQLITE_DENY
        );
        // The tenant's own tables.
        let main = Some(&b"main"[..]);
        assert_eq!(
            decide(ffi::SQLITE_READ, Some(b"customers"), main),
            ffi::SQLITE_OK
        );
        assert_eq!(
            decide(ffi::SQLITE_DELETE, Some(b"carts"), main),
            ffi::SQLITE_OK
        );
        assert_eq!(
            decide(ffi::SQLITE_ATTACH, Some(b"x.db"), None),
            ffi::SQLITE_DENY
        );
    }
}
