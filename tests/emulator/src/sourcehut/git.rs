//! git.sr.ht GraphQL (`POST /query` on the git listener): `version`, `me`,
//! `user`, `repository(rid)`, `repositories`, `User.repository(name)` /
//! `repositories(cursor, filter)`, `Repository` with `HEAD`, `references`,
//! `reference`, `path`, `log`, `object(s)`, `revparse_single`, and the
//! mutations `createRepository`, `updateRepository`, `deleteRepository`.
//!
//! Upstream behaviour kept: `user(username:)` matches the username exactly,
//! so `"~alice"` finds nobody (clients strip the `~`, as hut does);
//! repositories are listed most recently updated first (a push updates),
//! 25 per page unless `filter: {count}` (20 when a filter omits it);
//! another user's `repositories` shows only PUBLIC ones and
//! `repository(name)` hides PRIVATE ones; `references` lists `HEAD` (the
//! symbolic ref, target `refs/heads/…`) with the refs, sorted by name;
//! `HEAD` is the branch HEAD names, resolved (null when unborn); a
//! repository made with `createRepository` starts with HEAD on `master`
//! (go-git's `PlainInit`) and a post-update hook moves HEAD to the first
//! branch pushed while HEAD names a missing branch (what git.sr.ht's hook
//! does); `path` with an unknown revspec is an error, with a missing path
//! null. Departure: pages never repeat or skip an item (upstream's
//! timestamp cursor can repeat repositories updated in the same second).

use git2::Oid;
use serde_json::Value;

use super::admin::{create_repository, delete_repository, update_repository};
use super::cursor::{num_key, Cursor, Order, Paged};
use super::objects::{self, Commit, Git, Reference};
use super::state::{self, sourcehut_user, visibility_name, State};
use crate::graphql::{not_emulated, Args, FieldValue, Object};
use crate::server::Ctx;
use crate::world::{rfc3339, Forge, Visibility, World};

type Field = Result<FieldValue<Ctx>, String>;

/// The caller's owner id.
pub fn caller_id(world: &World, ctx: &Ctx) -> Result<u64, String> {
    ctx.caller
        .user
        .as_deref()
        .and_then(|u| sourcehut_user(world, u))
        .ok_or_else(|| "Authorization required".to_string())
}

/// A repository's stable resource id (a UUID, as git.sr.ht's `rid`).
pub fn rid(id: u64) -> String {
    format!("00000000-0000-4000-8000-{id:012x}")
}

/// Whether `viewer` may see the repository at all.
fn visible(world: &World, repo_id: u64, viewer: Option<u64>) -> bool {
    world
        .repos
        .get(&repo_id)
        .is_some_and(|r| Some(r.owner_id) == viewer || r.visibility != Visibility::Private)
}

/// The `Query` and `Mutation` root of git.sr.ht.
pub struct GitRoot;

impl Object for GitRoot {
    fn type_name(&self) -> &str {
        "Query"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Field {
        match name {
            "version" => Ok(FieldValue::object(Version("Version"))),
            "me" => Ok(FieldValue::object(User(caller_id(
                &ctx.state.world.lock(),
                ctx,
            )?))),
            "user" => {
                let world = ctx.state.world.lock();
                Ok(FieldValue::opt_object(
                    sourcehut_user(&world, args.required_str("username")?).map(User),
                ))
            }
            "repository" => {
                let world = ctx.state.world.lock();
                let viewer = caller_id(&world, ctx).ok();
                let rid_arg = args.required_str("rid")?;
                Ok(FieldValue::opt_object(
                    world
                        .repos
                        .values()
                        .find(|r| r.forge == Forge::Sourcehut && rid(r.id) == rid_arg)
                        .filter(|r| visible(&world, r.id, viewer))
                        .map(|r| Repo(r.id)),
                ))
            }
            "repositories" => {
                let world = ctx.state.world.lock();
                let me = caller_id(&world, ctx)?;
                repositories(&world, me, Some(me), args)
            }
            "createRepository" => create_repository(args, ctx),
            "updateRepository" => update_repository(args, ctx),
            "deleteRepository" => delete_repository(args, ctx),
            other => Err(not_emulated("Query/Mutation", other)),
        }
    }
}

/// The repositories of `owner` that `viewer` may list, as a page.
fn repositories(world: &World, owner: u64, viewer: Option<u64>, args: &Args) -> Field {
    let cursor = Cursor::from_args(args)?;
    let search = cursor.search.to_lowercase();
    let mut items: Vec<(i64, u64)> = world
        .repos
        .values()
        .filter(|r| r.forge == Forge::Sourcehut && r.owner_id == owner)
        .filter(|r| Some(owner) == viewer || r.visibility == Visibility::Public)
        .filter(|r| {
            search.is_empty()
                || r.name.to_lowercase().contains(&search)
                || r.description
                    .as_deref()
                    .is_some_and(|d| d.to_lowercase().contains(&search))
        })
        .map(|r| (r.updated_at.max(r.pushed_at.unwrap_or(0)), r.id))
        .collect();
    items.sort_by(|a, b| b.cmp(a));
    Ok(Paged::field(
        "RepositoryCursor",
        items,
        &cursor,
        Order::Desc,
        |(t, id)| format!("{}.{}", num_key(*t as u64), num_key(*id)),
        |(_, id)| FieldValue::object(Repo(*id)),
    ))
}

/// `Version` and its `Features` and `Settings`: fixed answers, told
/// apart by the schema type each stands for.
struct Version(&'static str);

impl Object for Version {
    fn type_name(&self) -> &str {
        self.0
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        Ok(match (self.0, name) {
            ("Version", "major" | "minor" | "patch") => FieldValue::scalar(0),
            ("Version", "buildVersion") => FieldValue::scalar(env!("CARGO_PKG_VERSION")),
            ("Version", "buildDate") => FieldValue::scalar(""),
            ("Version", "deprecationDate") => FieldValue::Null,
            ("Version", "features") => FieldValue::object(Version("Features")),
            ("Version", "settings") => FieldValue::object(Version("Settings")),
            ("Features", "artifacts" | "codeSearch") => FieldValue::scalar(false),
            ("Settings", "sshUser") => FieldValue::scalar("git"),
            (t, other) => return Err(not_emulated(t, other)),
        })
    }
}

/// `User` (git.sr.ht).
pub struct User(pub u64);

impl Object for User {
    fn type_name(&self) -> &str {
        "User"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Field {
        let world = ctx.state.world.lock();
        let o = world.owners.get(&self.0).ok_or("user vanished")?;
        Ok(match name {
            "id" => FieldValue::scalar(o.id),
            "created" | "updated" => FieldValue::scalar(rfc3339(o.created_at)),
            "canonicalName" => FieldValue::scalar(format!("~{}", o.name)),
            "username" => FieldValue::scalar(o.name.clone()),
            "email" => FieldValue::scalar(state::user_email(&world, &o.name)),
            "url" | "location" | "bio" => FieldValue::Null,
            "repository" => {
                let wanted = args.required_str("name")?;
                let viewer = caller_id(&world, ctx).ok();
                FieldValue::opt_object(
                    world
                        .repos
                        .values()
                        .find(|r| {
                            r.forge == Forge::Sourcehut && r.owner_id == o.id && r.name == wanted
                        })
                        .filter(|r| visible(&world, r.id, viewer))
                        .map(|r| Repo(r.id)),
                )
            }
            "repositories" => repositories(&world, o.id, caller_id(&world, ctx).ok(), args)?,
            other => return Err(not_emulated("User", other)),
        })
    }
}

/// `Repository`.
pub struct Repo(pub u64);

impl Repo {
    fn git(&self, world: &World) -> Result<Git, String> {
        let r = world.repos.get(&self.0).ok_or("repository vanished")?;
        Ok(Git {
            dir: r.git_dir.clone(),
            repo_id: r.id,
        })
    }
}

impl Object for Repo {
    fn type_name(&self) -> &str {
        "Repository"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Field {
        let world = ctx.state.world.lock();
        let r = world.repos.get(&self.0).ok_or("repository vanished")?;
        let git = self.git(&world)?;
        Ok(match name {
            "id" => FieldValue::scalar(r.id),
            "rid" => FieldValue::scalar(rid(r.id)),
            "created" => FieldValue::scalar(rfc3339(r.created_at)),
            "updated" => FieldValue::scalar(rfc3339(r.updated_at.max(r.pushed_at.unwrap_or(0)))),
            "owner" => FieldValue::object(User(r.owner_id)),
            "name" => FieldValue::scalar(r.name.clone()),
            "description" => FieldValue::opt_scalar(r.description.clone()),
            "visibility" => FieldValue::scalar(visibility_name(r.visibility)),
            "readme" => FieldValue::opt_scalar(
                world
                    .ext::<State>()
                    .and_then(|s| s.readmes.get(&r.id).cloned()),
            ),
            "access" => FieldValue::scalar(if caller_id(&world, ctx).ok() == Some(r.owner_id) {
                "RW"
            } else {
                "RO"
            }),
            _ => {
                drop(world);
                return git_field(&git, name, args);
            }
        })
    }
}

/// The fields of a repository that read git (without the world lock).
fn git_field(git: &Git, name: &str, args: &Args) -> Field {
    let repo = git.open()?;
    let oid = |s: &str| Oid::from_str(s).map_err(|_| format!("invalid object id {s:?}"));
    Ok(match name {
        "HEAD" => match repo.head() {
            Ok(head) => match (head.name(), head.target()) {
                (Some(n), Some(t)) => FieldValue::object(Reference {
                    git: git.clone(),
                    name: n.to_string(),
                    target: t.to_string(),
                }),
                _ => FieldValue::Null,
            },
            Err(_) => FieldValue::Null,
        },
        "references" => {
            let mut refs: Vec<(String, String)> = Vec::new();
            if let Ok(head) = repo.find_reference("HEAD") {
                if let Some(t) = head.symbolic_target() {
                    refs.push(("HEAD".into(), t.to_string()));
                }
            }
            for (n, t) in crate::gitstore::refs(&git.dir).map_err(|e| e.to_string())? {
                refs.push((n, t));
            }
            refs.sort();
            let git = git.clone();
            let items: Vec<(Git, String, String)> =
                refs.into_iter().map(|(n, t)| (git.clone(), n, t)).collect();
            Paged::field(
                "ReferenceCursor",
                items,
                &Cursor::from_args(args)?,
                Order::Asc,
                |(_, n, _)| n.clone(),
                |(g, n, t)| {
                    FieldValue::object(Reference {
                        git: g.clone(),
                        name: n.clone(),
                        target: t.clone(),
                    })
                },
            )
        }
        "reference" => {
            let wanted = args.required_str("name")?;
            match repo.find_reference(wanted) {
                Ok(r) => FieldValue::object(Reference {
                    git: git.clone(),
                    name: wanted.to_string(),
                    target: r
                        .target()
                        .map(|t| t.to_string())
                        .or_else(|| r.symbolic_target().map(str::to_string))
                        .unwrap_or_default(),
                }),
                Err(_) => FieldValue::Null,
            }
        }
        "path" => {
            let revspec = args.str("revspec").unwrap_or("HEAD");
            let commit = repo
                .find_commit(git.resolve(revspec)?)
                .map_err(|e| e.message().to_string())?;
            let entry = objects::entry_at(git, commit.tree_id(), args.required_str("path")?)?;
            FieldValue::opt_object(entry)
        }
        "revparse_single" => {
            let oid = git.resolve(args.required_str("revspec")?)?;
            FieldValue::object(Commit {
                git: git.clone(),
                oid,
            })
        }
        "object" => git
            .object(oid(args.required_str("id")?)?)?
            .unwrap_or(FieldValue::Null),
        "objects" => {
            let ids: Vec<String> = args
                .get("ids")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let mut out = Vec::new();
            for id in ids {
                out.push(
                    git.object(oid(&id)?)?
                        .ok_or_else(|| format!("lookup object {id}: object not found"))?,
                );
            }
            FieldValue::List(out)
        }
        "log" => log(git, args)?,
        other => return Err(not_emulated("Repository", other)),
    })
}

/// `log(cursor, from)`: commits by committer time, 25 per page.
fn log(git: &Git, args: &Args) -> Field {
    let mut cursor = Cursor::from_args(args)?;
    if args.str("cursor").is_none() {
        cursor.next = args.str("from").unwrap_or_default().to_string();
    }
    let start = if cursor.next.is_empty() {
        "HEAD".to_string()
    } else {
        cursor.next.clone()
    };
    let start = match git.resolve(&start) {
        Ok(oid) => oid,
        // An unborn HEAD has no history.
        Err(_) if cursor.next.is_empty() => {
            return Ok(Paged::<Oid>::field(
                "CommitCursor",
                Vec::new(),
                &cursor,
                Order::Exact,
                |_| String::new(),
                |_| FieldValue::Null,
            ))
        }
        Err(_) => return Err("No such revision".into()),
    };
    let commits = crate::gitstore::log(&git.dir, &start.to_string(), cursor.count + 1)
        .map_err(|e| e.to_string())?;
    let items: Vec<(Git, Oid)> = commits
        .iter()
        .filter_map(|c| Oid::from_str(&c.oid).ok())
        .map(|o| (git.clone(), o))
        .collect();
    let first_page = Cursor {
        next: String::new(),
        ..cursor.clone()
    };
    Ok(Paged::field(
        "CommitCursor",
        items,
        &first_page,
        Order::Exact,
        |(_, o)| o.to_string(),
        |(g, o)| {
            FieldValue::object(Commit {
                git: g.clone(),
                oid: *o,
            })
        },
    ))
}
