//! git.sr.ht's repository mutations: `createRepository` (name checks as
//! upstream's `repoNameRE`, HEAD on `master` as go-git's `PlainInit`, a
//! post-update hook moving HEAD to the first branch pushed, `cloneUrl` from
//! a repository of this emulator), `updateRepository` (`name`,
//! `description`, `visibility`, `readme`, `HEAD`; null clears) and
//! `deleteRepository`, each limited to the caller's own repositories.

use std::path::PathBuf;

use serde_json::Value;

use super::git::{caller_id, rid, Repo, User};
use super::state::{visibility_from, visibility_name, State};
use crate::graphql::{Args, FieldValue, Object};
use crate::server::Ctx;
use crate::world::{rfc3339, Forge, OwnerKind};

type Field = Result<FieldValue<Ctx>, String>;

pub fn delete_repository(args: &Args, ctx: &Ctx) -> Field {
    let mut world = ctx.state.world.lock();
    let me = caller_id(&world, ctx)?;
    let id = args.i64("id").unwrap_or(-1) as u64;
    match world.repos.get(&id) {
        Some(r) if r.owner_id == me && r.forge == Forge::Sourcehut => {}
        _ => return Err(format!("No repository by ID {id} found for this user")),
    }
    let record = world.repos.remove(&id).expect("checked above");
    let _ = std::fs::remove_dir_all(&record.git_dir);
    Ok(FieldValue::object(Deleted(record)))
}

/// The `repoNameRE` checks of `createRepository` / `updateRepository`.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !ok {
        return Err(format!(
            "Invalid repository name '{name}' (must match ^[A-Za-z0-9._-]+$)"
        ));
    }
    if name == "." || name == ".." {
        return Err(format!(
            "Invalid repository name '{name}' (must not be . or ..)"
        ));
    }
    if name == ".git" || name == ".hg" {
        return Err(format!(
            "Invalid repository name '{name}' (must not be .git or .hg)"
        ));
    }
    Ok(())
}

/// A post-update hook doing what git.sr.ht's does for HEAD: while HEAD
/// names a branch that does not exist, the first branch pushed becomes it.
const POST_UPDATE: &str = "#!/bin/sh\n\
head=$(git symbolic-ref -q HEAD) || exit 0\n\
git rev-parse -q --verify \"$head\" >/dev/null && exit 0\n\
for ref in \"$@\"; do\n\
  case \"$ref\" in refs/heads/*) git symbolic-ref HEAD \"$ref\"; exit 0;; esac\n\
done\n";

fn install_hook(git_dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let hooks = git_dir.join("hooks");
    std::fs::create_dir_all(&hooks)?;
    let path = hooks.join("post-update");
    std::fs::write(&path, POST_UPDATE)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
}

pub fn create_repository(args: &Args, ctx: &Ctx) -> Field {
    let name = args.required_str("name")?.to_string();
    check_name(&name)?;
    let visibility =
        visibility_from(args.required_str("visibility")?).ok_or("invalid visibility")?;
    let clone_url = args.str("cloneUrl").map(str::to_string);
    let source: Option<PathBuf> = match &clone_url {
        Some(url) => clone_source(ctx, url)?,
        None => None,
    };
    let mut world = ctx.state.world.lock();
    let me = caller_id(&world, ctx)?;
    let login = world.owners[&me].name.clone();
    let full_path = format!("~{login}/{name}");
    if world
        .repo(Forge::Sourcehut, &full_path)
        .is_some_and(|r| r.name == name)
    {
        return Err("A repository with this name already exists.".into());
    }
    let id = world
        .create_repo_record(Forge::Sourcehut, &full_path, OwnerKind::User, "master")
        .map_err(|e| e.to_string())?;
    let repo = world.repos.get_mut(&id).expect("just created");
    repo.visibility = visibility;
    repo.description = args.str("description").map(str::to_string);
    let git_dir = repo.git_dir.clone();
    drop(world);
    install_hook(&git_dir).map_err(|e| e.to_string())?;
    if let Some(source) = source {
        clone_into(&source, &git_dir).map_err(|e| format!("clone: {e}"))?;
    }
    Ok(FieldValue::object(Repo(id)))
}

/// Where a `cloneUrl` is read from: a repository of this emulator (its
/// git listener), or nothing for other hosts (the emulator has no network:
/// the repository stays empty, as when an upstream clone fails later).
fn clone_source(ctx: &Ctx, url: &str) -> Result<Option<PathBuf>, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "Invalid clone URL: parse {url:?}: missing protocol scheme"
        ));
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err("Cannot use URL without host".into());
    }
    if !matches!(scheme, "http" | "https" | "git") {
        return Err(format!("Unsupported protocol {scheme:?}"));
    }
    let own = ctx.state.urls.srht_git.trim_start_matches("http://");
    if host != own {
        tracing::warn!(%url, "createRepository: cloneUrl outside the emulator is not fetched");
        return Ok(None);
    }
    let path = rest[host.len()..].trim_matches('/');
    let (owner, name) = path.split_once('/').ok_or("Invalid clone URL")?;
    if !owner.starts_with('~') {
        return Err("Invalid username".into());
    }
    let world = ctx.state.world.lock();
    let repo = world
        .repo(Forge::Sourcehut, path)
        .filter(|r| r.name == name.trim_end_matches(".git"))
        .ok_or("Repository not found")?;
    Ok(Some(repo.git_dir.clone()))
}

fn clone_into(source: &std::path::Path, target: &std::path::Path) -> Result<(), git2::Error> {
    let repo = git2::Repository::open_bare(target)?;
    let mut remote = repo.remote_anonymous(&source.to_string_lossy())?;
    remote.fetch(&["+refs/*:refs/*"], None, None)?;
    let src = git2::Repository::open_bare(source)?;
    if let Some(head) = src.find_reference("HEAD")?.symbolic_target() {
        repo.set_head(head)?;
    }
    Ok(())
}

pub fn update_repository(args: &Args, ctx: &Ctx) -> Field {
    let id = args.i64("id").unwrap_or(-1) as u64;
    let input = args
        .0
        .get("input")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut world = ctx.state.world.lock();
    let me = caller_id(&world, ctx)?;
    let not_found = || format!("No repository by ID {id} found for this user");
    match world.repos.get(&id) {
        Some(r) if r.owner_id == me && r.forge == Forge::Sourcehut => {}
        _ => return Err(not_found()),
    }
    if let Some(Value::String(name)) = input.get("name") {
        check_name(name)?;
        let login = world.owners[&me].name.clone();
        let taken = world
            .repos
            .values()
            .any(|r| r.owner_id == me && r.id != id && &r.name == name);
        if taken {
            return Err("A repository with this name already exists.".into());
        }
        let r = world.repos.get_mut(&id).expect("checked");
        r.name = name.clone();
        r.full_path = format!("~{login}/{name}");
    }
    if let Some(Value::String(branch)) = input.get("HEAD") {
        let git_dir = world.repos[&id].git_dir.clone();
        let refname = format!("refs/heads/{branch}");
        let repo = git2::Repository::open_bare(&git_dir).map_err(|e| e.message().to_string())?;
        repo.find_reference(&refname)
            .map_err(|_| "reference not found".to_string())?;
        repo.set_head(&refname)
            .map_err(|e| e.message().to_string())?;
        world.repos.get_mut(&id).expect("checked").default_branch = branch.clone();
    }
    let now = world.now();
    if let Some(readme) = input.get("readme") {
        let readmes = &mut world.ext_mut::<State>().readmes;
        match readme.as_str() {
            Some(s) => readmes.insert(id, s.to_string()),
            None => readmes.remove(&id),
        };
    }
    let r = world.repos.get_mut(&id).expect("checked");
    if let Some(d) = input.get("description") {
        r.description = d.as_str().map(str::to_string);
    }
    if let Some(v) = input.get("visibility").and_then(Value::as_str) {
        r.visibility = visibility_from(v).ok_or("invalid visibility")?;
    }
    r.updated_at = now;
    Ok(FieldValue::object(Repo(id)))
}

/// A deleted repository, answered from its last record.
struct Deleted(crate::world::Repository);

impl Object for Deleted {
    fn type_name(&self) -> &str {
        "Repository"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        let r = &self.0;
        Ok(match name {
            "id" => FieldValue::scalar(r.id),
            "rid" => FieldValue::scalar(rid(r.id)),
            "name" => FieldValue::scalar(r.name.clone()),
            "description" => FieldValue::opt_scalar(r.description.clone()),
            "visibility" => FieldValue::scalar(visibility_name(r.visibility)),
            "created" => FieldValue::scalar(rfc3339(r.created_at)),
            "updated" => FieldValue::scalar(rfc3339(r.updated_at)),
            "owner" => FieldValue::object(User(r.owner_id)),
            other => return Err(format!("Repository.{other} is gone with the repository")),
        })
    }
}
