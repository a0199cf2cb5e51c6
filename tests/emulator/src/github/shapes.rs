//! JSON shapes of GitHub REST objects, with every field the spec's schemas
//! require (`simple-user`, `organization-full`, `private-user`,
//! `repository` / `minimal-repository` / `full-repository`, `label`,
//! `issue-comment`, `git-commit`, `git-ref`, `short-branch`), URL templates
//! as GitHub writes them, and ids shared with GraphQL (`node_id`).

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::gitstore::{CommitInfo, Person};
use crate::world::{
    rfc3339, Comment, Forge, Label, Owner, OwnerKind, ProposalState, Repository, Visibility, World,
};

use super::http::{encode_path, node_id, Base};

/// The GraphQL / node type name of an owner (a GitHub App's bot user,
/// `<slug>[bot]`, is a `Bot`).
pub fn owner_type(owner: &Owner) -> &'static str {
    if owner.kind == OwnerKind::Organization {
        "Organization"
    } else if owner.name.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    }
}

/// `simple-user` for an owner (user or organisation).
pub fn owner_json(owner: &Owner, base: &Base) -> Value {
    // A bot's login (`app[bot]`) is percent-encoded in URLs, and its page
    // is the app's.
    let api = format!("{}/users/{}", base.api, encode_path(&owner.name, false));
    let html = match owner.name.strip_suffix("[bot]") {
        Some(slug) => format!("{}/apps/{slug}", base.web),
        None => format!("{}/{}", base.web, owner.name),
    };
    json!({
        "login": owner.name,
        "id": owner.id,
        "node_id": node_id(owner_type(owner), owner.id),
        "avatar_url": format!("{}/avatars/u/{}?v=4", base.web, owner.id),
        "gravatar_id": "",
        "url": api,
        "html_url": html,
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": owner_type(owner),
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// `simple-user` for a login; a login the world does not know (e.g. a
/// reviewer named by a test) gets a stable synthetic id.
pub fn login_json(world: &World, login: &str, base: &Base) -> Value {
    match world.owner(Forge::Github, login) {
        Some(o) => owner_json(o, base),
        None => {
            let id = login
                .bytes()
                .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
                % 1_000_000_000;
            let ghost = Owner {
                id,
                forge: Forge::Github,
                kind: OwnerKind::User,
                path: login.to_string(),
                name: login.to_string(),
                parent: None,
                created_at: 0,
            };
            owner_json(&ghost, base)
        }
    }
}

/// The noreply address GitHub gives a user's API-side commits.
pub fn noreply(world: &World, login: &str) -> Person {
    let id = world.owner(Forge::Github, login).map_or(0, |o| o.id);
    Person::new(login, &format!("{id}+{login}@users.noreply.github.com"))
}

fn count_repos(world: &World, owner: &Owner, private: bool) -> usize {
    world
        .repos_of(owner.id, false)
        .iter()
        .filter(|r| (r.visibility != Visibility::Public) == private)
        .count()
}

/// `organization-full`.
pub fn org_json(world: &World, org: &Owner, base: &Base) -> Value {
    let api = format!("{}/orgs/{}", base.api, org.name);
    json!({
        "login": org.name,
        "id": org.id,
        "node_id": node_id("Organization", org.id),
        "url": api,
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events"),
        "hooks_url": format!("{api}/hooks"),
        "issues_url": format!("{api}/issues"),
        "members_url": format!("{api}/members{{/member}}"),
        "public_members_url": format!("{api}/public_members{{/member}}"),
        "avatar_url": format!("{}/avatars/u/{}?v=4", base.web, org.id),
        "description": null,
        "is_verified": false,
        "has_organization_projects": true,
        "has_repository_projects": true,
        "public_repos": count_repos(world, org, false),
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "html_url": format!("{}/{}", base.web, org.name),
        "created_at": rfc3339(org.created_at),
        "updated_at": rfc3339(org.created_at),
        "archived_at": null,
        "type": "Organization",
        "total_private_repos": count_repos(world, org, true),
        "owned_private_repos": count_repos(world, org, true),
        "default_repository_permission": "read",
        "members_can_create_repositories": true,
        "two_factor_requirement_enabled": false,
    })
}

/// `private-user` for the authenticated user.
pub fn private_user_json(world: &World, user: &Owner, base: &Base) -> Value {
    let mut v = owner_json(user, base);
    let private = count_repos(world, user, true);
    let extra = json!({
        "name": null, "company": null, "blog": "", "location": null,
        "email": null, "hireable": null, "bio": null, "twitter_username": null,
        "notification_email": null,
        "public_repos": count_repos(world, user, false),
        "public_gists": 0, "followers": 0, "following": 0,
        "created_at": rfc3339(user.created_at),
        "updated_at": rfc3339(user.created_at),
        "private_gists": 0,
        "total_private_repos": private,
        "owned_private_repos": private,
        "disk_usage": 0,
        "collaborators": 0,
        "two_factor_authentication": false,
        "user_view_type": "private",
    });
    merge(&mut v, extra);
    v
}

/// `public-user`: what anyone may read of an account.
pub fn public_user_json(world: &World, user: &Owner, base: &Base) -> Value {
    let mut v = owner_json(user, base);
    let extra = json!({
        "name": null, "company": null, "blog": "", "location": null,
        "email": null, "hireable": null, "bio": null, "twitter_username": null,
        "public_repos": count_repos(world, user, false),
        "public_gists": 0, "followers": 0, "following": 0,
        "created_at": rfc3339(user.created_at),
        "updated_at": rfc3339(user.created_at),
        "user_view_type": "public",
    });
    merge(&mut v, extra);
    v
}

/// Merges the fields of `extra` (an object) into `v` (an object).
pub fn merge(v: &mut Value, extra: Value) {
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
        obj.extend(extra);
    }
}

/// The repository size in KiB as GitHub reports it (0 when empty).
fn size_kib(git_dir: &Path) -> u64 {
    fn walk(dir: &Path) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => walk(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    }
    walk(&git_dir.join("objects")).div_ceil(1024)
}

/// Open pull requests of a repository (GitHub counts them in `open_issues`).
fn open_issues(world: &World, repo: &Repository) -> usize {
    world
        .proposals
        .values()
        .filter(|p| p.repo_id == repo.id && p.state == ProposalState::Open)
        .count()
}

/// A repository as lists and nested objects carry it (the `repository`
/// schema, a superset of `minimal-repository`).
pub fn repo_json(world: &World, r: &Repository, base: &Base) -> Value {
    let api = base.repo_api(&r.full_path);
    let web = base.repo_web(&r.full_path);
    let host = base
        .web
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    let owner = world
        .owners
        .get(&r.owner_id)
        .map(|o| owner_json(o, base))
        .unwrap_or(Value::Null);
    let url = |suffix: &str| format!("{api}{suffix}");
    let open = open_issues(world, r);
    let size = size_kib(&r.git_dir);
    let mut v = json!({
        "id": r.id,
        "node_id": node_id("Repository", r.id),
        "name": r.name,
        "full_name": r.full_path,
        "private": r.visibility != Visibility::Public,
        "owner": owner,
        "html_url": web,
        "description": r.description,
        "fork": r.fork,
        "url": api,
        "git_url": format!("git://{host}/{}.git", r.full_path),
        "ssh_url": format!("git@{}:{}.git", host.split(':').next().unwrap_or(host), r.full_path),
    });
    for (key, suffix) in [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ] {
        v[key] = json!(url(suffix));
    }
    let rest = json!({
        "clone_url": format!("{web}.git"),
        "mirror_url": null,
        "hooks_url": url("/hooks"),
        "svn_url": web,
        "homepage": null,
        "language": null,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "size": size,
        "default_branch": r.default_branch,
        "open_issues_count": open,
        "is_template": false,
        "topics": [],
        "has_issues": true,
        "has_projects": true,
        "has_wiki": true,
        "has_pages": false,
        "has_downloads": true,
        "has_discussions": false,
        "archived": r.archived,
        "disabled": false,
        "visibility": if r.visibility == Visibility::Public { "public" } else { "private" },
        "pushed_at": rfc3339(r.pushed_at.unwrap_or(r.created_at)),
        "created_at": rfc3339(r.created_at),
        "updated_at": rfc3339(r.updated_at),
        "allow_forking": true,
        "web_commit_signoff_required": false,
        "license": null,
        "forks": 0,
        "open_issues": open,
        "watchers": 0,
    });
    merge(&mut v, rest);
    merge(&mut v, json!({ "permissions": permissions() }));
    v
}

fn permissions() -> Value {
    json!({ "admin": true, "maintain": true, "push": true, "triage": true, "pull": true })
}

/// `full-repository` (get, create, update).
pub fn full_repo_json(world: &World, r: &Repository, base: &Base) -> Value {
    let mut v = repo_json(world, r, base);
    let mut extra = Map::new();
    for (k, val) in [
        ("network_count", json!(0)),
        ("subscribers_count", json!(0)),
        ("allow_merge_commit", json!(true)),
        ("allow_squash_merge", json!(true)),
        ("allow_rebase_merge", json!(true)),
        ("allow_auto_merge", json!(false)),
        ("allow_update_branch", json!(false)),
        ("delete_branch_on_merge", json!(false)),
        ("use_squash_pr_title_as_default", json!(false)),
        ("squash_merge_commit_title", json!("COMMIT_OR_PR_TITLE")),
        ("squash_merge_commit_message", json!("COMMIT_MESSAGES")),
        ("merge_commit_title", json!("MERGE_MESSAGE")),
        ("merge_commit_message", json!("PR_TITLE")),
        ("temp_clone_token", json!("")),
    ] {
        extra.insert(k.to_string(), val);
    }
    if let Some(o) = world.owners.get(&r.owner_id) {
        if o.kind == OwnerKind::Organization {
            extra.insert("organization".into(), owner_json(o, base));
        }
    }
    merge(&mut v, Value::Object(extra));
    v
}

/// `label`.
pub fn label_json(label: &Label, repo_full: &str, base: &Base) -> Value {
    json!({
        "id": label.id,
        "node_id": node_id("Label", label.id),
        "url": format!("{}/labels/{}", base.repo_api(repo_full), encode_path(&label.name, false)),
        "name": label.name,
        "color": label.color,
        "default": is_default_label(&label.name),
        "description": label.description,
    })
}

/// The labels GitHub gives a new repository (name, color, description).
pub const DEFAULT_LABELS: [(&str, &str, &str); 9] = [
    ("bug", "d73a4a", "Something isn't working"),
    (
        "documentation",
        "0075ca",
        "Improvements or additions to documentation",
    ),
    (
        "duplicate",
        "cfd3d7",
        "This issue or pull request already exists",
    ),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
];

fn is_default_label(name: &str) -> bool {
    DEFAULT_LABELS.iter().any(|(n, _, _)| *n == name)
}

/// The `author_association` of `login` with a repository: the emulator
/// treats every user as a member of every organisation.
pub fn association(world: &World, repo: &Repository, login: &str) -> &'static str {
    match world.owners.get(&repo.owner_id) {
        Some(o) if o.kind == OwnerKind::Organization => "MEMBER",
        Some(o) if o.name.eq_ignore_ascii_case(login) => "OWNER",
        _ => "CONTRIBUTOR",
    }
}

/// `issue-comment` on issue/pull `number`.
pub fn comment_json(
    world: &World,
    repo: &Repository,
    number: u64,
    c: &Comment,
    base: &Base,
) -> Value {
    let api = base.repo_api(&repo.full_path);
    json!({
        "id": c.id,
        "node_id": node_id("IssueComment", c.id),
        "url": format!("{api}/issues/comments/{}", c.id),
        "html_url": format!("{}/pull/{number}#issuecomment-{}", base.repo_web(&repo.full_path), c.id),
        "body": c.body,
        "user": login_json(world, &c.author, base),
        "created_at": rfc3339(c.created_at),
        "updated_at": rfc3339(c.updated_at),
        "issue_url": format!("{api}/issues/{number}"),
        "author_association": association(world, repo, &c.author),
        "reactions": {
            "url": format!("{api}/issues/comments/{}/reactions", c.id),
            "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
            "confused": 0, "heart": 0, "rocket": 0, "eyes": 0,
        },
    })
}

/// A git identity with a UTC date, as the git data API writes it.
pub fn person_json(p: &Person) -> Value {
    json!({
        "name": p.name,
        "email": p.email,
        "date": rfc3339(p.time.unwrap_or(0)),
    })
}

/// The verification block of an unsigned commit.
pub fn unsigned() -> Value {
    json!({ "verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null })
}

/// `git-commit`.
pub fn git_commit_json(c: &CommitInfo, repo_full: &str, base: &Base, repo_id: u64) -> Value {
    let api = base.repo_api(repo_full);
    let web = base.repo_web(repo_full);
    json!({
        "sha": c.oid,
        "node_id": node_id("Commit", format!("{repo_id}:{}", c.oid)),
        "url": format!("{api}/git/commits/{}", c.oid),
        "html_url": format!("{web}/commit/{}", c.oid),
        "author": person_json(&c.author),
        "committer": person_json(&c.committer),
        "tree": { "sha": c.tree, "url": format!("{api}/git/trees/{}", c.tree) },
        "message": c.message,
        "parents": c.parents.iter().map(|p| json!({
            "sha": p,
            "url": format!("{api}/git/commits/{p}"),
            "html_url": format!("{web}/commit/{p}"),
        })).collect::<Vec<_>>(),
        "verification": unsigned(),
    })
}

/// `git-ref` for a full ref name pointing at `oid` of `kind`.
pub fn ref_json(name: &str, oid: &str, kind: &str, repo: &Repository, base: &Base) -> Value {
    let api = base.repo_api(&repo.full_path);
    let object_path = match kind {
        "tag" => "tags",
        "tree" => "trees",
        "blob" => "blobs",
        _ => "commits",
    };
    json!({
        "ref": name,
        "node_id": node_id("Ref", format!("{}:{name}", repo.id)),
        "url": format!("{api}/git/{}", encode_path(name, true)),
        "object": {
            "sha": oid,
            "type": kind,
            "url": format!("{api}/git/{object_path}/{oid}"),
        },
    })
}

/// `short-branch`.
pub fn short_branch_json(name: &str, oid: &str, repo: &Repository, base: &Base) -> Value {
    json!({
        "name": name,
        "commit": { "sha": oid, "url": format!("{}/commits/{oid}", base.repo_api(&repo.full_path)) },
        "protected": false,
    })
}
