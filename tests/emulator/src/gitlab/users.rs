//! Users: `GET /users?username=` as `forge-specs/gitlab/docs/api/users.sections.md`
//! documents it for a regular user ("Get a single user with a specific
//! username", case-insensitive): a list of one user, or an empty list when
//! there is no such user (not a 404). Other filters are accepted and, but
//! for `active`/`blocked`, have nothing to filter in the emulator's world.

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::Value;

use super::entities::user_json;
use super::params::Params;
use super::{ok, require_user, Reply};
use crate::auth::Caller;
use crate::server::AppState;
use crate::world::{Forge, OwnerKind};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v4/users", get(list_users))
}

async fn list_users(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Params,
) -> Reply {
    require_user(&caller)?;
    let page = params.page()?;
    let username = params.str("username")?;
    let search = params.str("search")?.map(|s| s.to_lowercase());
    for flag in [
        "active",
        "blocked",
        "external",
        "humans",
        "exclude_active",
        "exclude_external",
        "exclude_humans",
        "exclude_internal",
        "without_project_bots",
    ] {
        params.bool(flag)?;
    }
    let blocked = params.bool("blocked")?.unwrap_or(false);
    let world = st.world.lock();
    let mut users: Vec<&str> = world
        .owners
        .values()
        .filter(|o| o.forge == Forge::Gitlab && o.kind == OwnerKind::User)
        .map(|o| o.name.as_str())
        // Every emulated user is active; none is blocked.
        .filter(|_| !blocked)
        .filter(|name| {
            username
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(name))
        })
        .filter(|name| {
            search
                .as_deref()
                .is_none_or(|s| name.to_lowercase().contains(s))
        })
        .collect();
    users.sort_unstable();
    let url = format!("{}/api/v4/users", st.urls.gitlab);
    let (slice, headers) = page.apply(users, &url);
    let body: Vec<Value> = slice
        .into_iter()
        .map(|name| user_json(&world, name, &st.urls.gitlab))
        .collect();
    Ok(headers.set(ok(Value::Array(body))))
}
