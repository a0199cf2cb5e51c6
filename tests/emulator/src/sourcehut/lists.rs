//! lists.sr.ht GraphQL (`POST /query` on the lists listener): `version`,
//! `me`, `user(username) { list(name) lists(cursor) patches(cursor) }`, `email(id)`,
//! `message(messageID)`, `patchset(id)`, `MailingList { patches emails
//! message … }`, `Patchset { subject version prefix status submitter
//! coverLetter patches … }`, `Email`, `Patch`, `Mailbox`; mutations
//! `createMailingList`, `updateMailingList`, `deleteMailingList`,
//! `updatePatchset`.
//!
//! Upstream behaviour kept: `user(username:)` is exact (no `~`);
//! `updatePatchset` changes only patchsets on lists the caller owns and
//! answers `null` otherwise (no error), without touching `updated`;
//! `createMailingList` checks the name like git.sr.ht repository names
//! and answers "A mailing list with this name already exists." for a
//! duplicate; pages hold 25; patchsets are listed newest first; the sender
//! or submitter is a `User` when the address belongs to one (see
//! `Emulator::srht_set_user_email`), else a `Mailbox` whose canonical name
//! is the address; `Email.messageID` and `inReplyTo` come without angle
//! brackets while `message(messageID:)` takes them with. `envelope`,
//! `mbox`, `archive` are URLs on the lists listener that answer the raw
//! message or an mbox (`git am` reads them).

use serde_json::Value;

use super::cursor::{num_key, Cursor, Order, Paged};
use super::git::caller_id;
use super::mail;
use super::state::{self, sourcehut_user, visibility_from, visibility_name, ListEmail, State};
use crate::graphql::{not_emulated, Args, FieldValue, Object};
use crate::server::Ctx;
use crate::world::{rfc3339, MailingList, PatchsetStatus, Visibility, World};

type Field = Result<FieldValue<Ctx>, String>;

/// The `Query` and `Mutation` root of lists.sr.ht.
pub struct ListsRoot;

impl Object for ListsRoot {
    fn type_name(&self) -> &str {
        "Query"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Field {
        let mut world = ctx.state.world.lock();
        match name {
            "version" => Ok(FieldValue::object(Version)),
            "me" => Ok(FieldValue::object(User(caller_id(&world, ctx)?))),
            "user" => Ok(FieldValue::opt_object(
                sourcehut_user(&world, args.required_str("username")?).map(User),
            )),
            "email" => {
                let id = args.i64("id").unwrap_or(-1) as u64;
                let found = emails(&world)
                    .and_then(|s| s.emails.get(&id))
                    .map(|e| e.list_id);
                Ok(FieldValue::opt_object(
                    found
                        .filter(|l| list_visible(&world, *l, ctx))
                        .map(|_| Email(id)),
                ))
            }
            "message" => {
                let wanted = args.required_str("messageID")?;
                let found = emails(&world).and_then(|s| {
                    s.emails
                        .values()
                        .find(|e| format!("<{}>", e.message_id) == wanted)
                        .map(|e| (e.id, e.list_id))
                });
                Ok(FieldValue::opt_object(
                    found
                        .filter(|(_, l)| list_visible(&world, *l, ctx))
                        .map(|(id, _)| Email(id)),
                ))
            }
            "patchset" => {
                let id = args.i64("id").unwrap_or(-1) as u64;
                let found = world.patchsets.get(&id).map(|p| p.list_id);
                Ok(FieldValue::opt_object(
                    found
                        .filter(|l| list_visible(&world, *l, ctx))
                        .map(|_| Patchset(id)),
                ))
            }
            "createMailingList" => create_list(&mut world, args, ctx),
            "updateMailingList" => {
                let Some(id) = owned_list(&world, args.i64("id"), ctx) else {
                    return Ok(FieldValue::Null);
                };
                let input = args
                    .0
                    .get("input")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                if let Some(d) = input.get("description").and_then(Value::as_str) {
                    if d.len() >= 2048 {
                        return Err("Description must be fewer than 2048 characters".into());
                    }
                    world.lists.get_mut(&id).expect("owned").description = Some(d.to_string());
                }
                if let Some(v) = input.get("visibility").and_then(Value::as_str) {
                    let v = visibility_from(v).ok_or("invalid visibility")?;
                    world.ext_mut::<State>().list_visibility.insert(id, v);
                }
                Ok(FieldValue::object(List(id)))
            }
            "deleteMailingList" => {
                let Some(id) = owned_list(&world, args.i64("id"), ctx) else {
                    return Ok(FieldValue::Null);
                };
                let list = world.lists.remove(&id).expect("owned");
                world.patchsets.retain(|_, p| p.list_id != id);
                world
                    .ext_mut::<State>()
                    .emails
                    .retain(|_, e| e.list_id != id);
                Ok(FieldValue::object(DeletedList(list)))
            }
            "updatePatchset" => {
                let id = args.i64("id").unwrap_or(-1) as u64;
                let status = status_from(args.required_str("status")?)?;
                let me = caller_id(&world, ctx)?;
                let list = world.patchsets.get(&id).map(|p| p.list_id);
                let owned = list
                    .and_then(|l| world.lists.get(&l))
                    .is_some_and(|l| l.owner_id == me);
                if !owned {
                    return Ok(FieldValue::Null);
                }
                world.patchsets.get_mut(&id).expect("owned").status = status;
                Ok(FieldValue::object(Patchset(id)))
            }
            other => Err(not_emulated("Query/Mutation", other)),
        }
    }
}

fn emails(world: &World) -> Option<&State> {
    world.ext::<State>()
}

fn list_visibility(world: &World, id: u64) -> Visibility {
    world
        .ext::<State>()
        .and_then(|s| s.list_visibility.get(&id).copied())
        .unwrap_or(Visibility::Public)
}

fn list_visible(world: &World, id: u64, ctx: &Ctx) -> bool {
    let owner = world.lists.get(&id).map(|l| l.owner_id);
    owner.is_some()
        && (list_visibility(world, id) != Visibility::Private
            || owner == caller_id(world, ctx).ok())
}

fn owned_list(world: &World, id: Option<i64>, ctx: &Ctx) -> Option<u64> {
    let me = caller_id(world, ctx).ok()?;
    let id = id? as u64;
    world
        .lists
        .get(&id)
        .filter(|l| l.owner_id == me)
        .map(|l| l.id)
}

fn status_from(s: &str) -> Result<PatchsetStatus, String> {
    serde_json::from_value(Value::String(s.to_string())).map_err(|_| format!("invalid status {s}"))
}

fn status_name(s: PatchsetStatus) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn create_list(world: &mut World, args: &Args, ctx: &Ctx) -> Field {
    let me = caller_id(world, ctx)?;
    let name = args.required_str("name")?.to_string();
    let description = args.str("description").map(str::to_string);
    let visibility =
        visibility_from(args.required_str("visibility")?).ok_or("invalid visibility")?;
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err("Name must match ^[A-Za-z0-9._-]+$".into());
    }
    if matches!(name.as_str(), "." | ".." | ".git" | ".hg") {
        return Err("This is a reserved name and cannot be used for user mailing lists.".into());
    }
    if description.as_ref().is_some_and(|d| d.len() >= 2048) {
        return Err("Description must be fewer than 2048 characters".into());
    }
    let id = create_list_record(world, me, &name, description)?;
    world
        .ext_mut::<State>()
        .list_visibility
        .insert(id, visibility);
    Ok(FieldValue::object(List(id)))
}

/// Creates a list owned by `owner_id`; errors on a duplicate name.
pub fn create_list_record(
    world: &mut World,
    owner_id: u64,
    name: &str,
    description: Option<String>,
) -> Result<u64, String> {
    if world
        .lists
        .values()
        .any(|l| l.owner_id == owner_id && l.name == name)
    {
        return Err("A mailing list with this name already exists.".into());
    }
    let id = world.next_id();
    let now = world.now();
    world.lists.insert(
        id,
        MailingList {
            id,
            owner_id,
            name: name.to_string(),
            description,
            created_at: now,
            updated_at: now,
        },
    );
    Ok(id)
}

/// `Version` (lists.sr.ht).
struct Version;

impl Object for Version {
    fn type_name(&self) -> &str {
        "Version"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        Ok(match name {
            "major" | "minor" | "patch" => FieldValue::scalar(0),
            "deprecationDate" => FieldValue::Null,
            other => return Err(not_emulated("Version", other)),
        })
    }
}

/// `User` (lists.sr.ht).
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
            "list" => {
                let wanted = args.required_str("name")?;
                let found = world
                    .lists
                    .values()
                    .find(|l| l.owner_id == o.id && l.name == wanted);
                FieldValue::opt_object(
                    found
                        .filter(|l| list_visible(&world, l.id, ctx))
                        .map(|l| List(l.id)),
                )
            }
            "patches" => {
                // Patchsets submitted from this user's address, newest first.
                let mut ids: Vec<u64> = world
                    .patchsets
                    .values()
                    .filter(|p| list_visible(&world, p.list_id, ctx))
                    .filter(|p| {
                        world
                            .ext::<State>()
                            .and_then(|s| s.patchsets.get(&p.id))
                            .and_then(|m| state::user_by_email(&world, &m.from.address))
                            == Some(o.id)
                    })
                    .map(|p| p.id)
                    .collect();
                ids.reverse();
                Paged::field(
                    "PatchsetCursor",
                    ids,
                    &Cursor::from_args(args)?,
                    Order::Desc,
                    |id| num_key(*id),
                    |id| FieldValue::object(Patchset(*id)),
                )
            }
            "lists" => {
                let ids: Vec<u64> = world
                    .lists
                    .values()
                    .filter(|l| l.owner_id == o.id && list_visible(&world, l.id, ctx))
                    .map(|l| l.id)
                    .collect();
                Paged::field(
                    "MailingListCursor",
                    ids,
                    &Cursor::from_args(args)?,
                    Order::Asc,
                    |id| num_key(*id),
                    |id| FieldValue::object(List(*id)),
                )
            }
            other => return Err(not_emulated("User", other)),
        })
    }
}

/// A `Mailbox` (a sender without an account).
struct MailboxObj(mail::Mailbox);

impl Object for MailboxObj {
    fn type_name(&self) -> &str {
        "Mailbox"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        Ok(match name {
            "canonicalName" | "address" => FieldValue::scalar(self.0.address.clone()),
            "name" => FieldValue::scalar(self.0.name.clone()),
            other => return Err(not_emulated("Mailbox", other)),
        })
    }
}

/// The `Entity` a sender is: a `User` when the address is one's.
fn entity(world: &World, from: &mail::Mailbox) -> FieldValue<Ctx> {
    match state::user_by_email(world, &from.address) {
        Some(id) => FieldValue::object(User(id)),
        None => FieldValue::object(MailboxObj(from.clone())),
    }
}

/// `MailingList`.
pub struct List(pub u64);

impl Object for List {
    fn type_name(&self) -> &str {
        "MailingList"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Field {
        let world = ctx.state.world.lock();
        let l = world.lists.get(&self.0).ok_or("mailing list vanished")?;
        let archive =
            |path: &str| format!("{}/query/list/{}{path}", ctx.state.urls.srht_lists, l.id);
        let state = world.ext::<State>();
        Ok(match name {
            "id" => FieldValue::scalar(l.id),
            "created" => FieldValue::scalar(rfc3339(l.created_at)),
            "updated" => FieldValue::scalar(rfc3339(l.updated_at)),
            "name" => FieldValue::scalar(l.name.clone()),
            "owner" => FieldValue::object(User(l.owner_id)),
            "lastActivity" => FieldValue::opt_scalar(
                state
                    .and_then(|s| s.emails_of(l.id).map(|e| e.received).max())
                    .map(rfc3339),
            ),
            "description" => FieldValue::opt_scalar(l.description.clone()),
            "visibility" => FieldValue::scalar(visibility_name(list_visibility(&world, l.id))),
            "permitMime" => FieldValue::list(
                [
                    "text/*",
                    "application/pgp-signature",
                    "application/pgp-keys",
                ]
                .map(FieldValue::scalar),
            ),
            "rejectMime" => FieldValue::list(["text/html"].map(FieldValue::scalar)),
            "importing" => FieldValue::scalar(false),
            "archive" => FieldValue::scalar(archive(".mbox")),
            "last30days" => FieldValue::scalar(archive(".mbox?since=30")),
            "access" | "defaultACL" => {
                let owner = caller_id(&world, ctx).ok() == Some(l.owner_id);
                FieldValue::object(Acl(name == "access" && owner))
            }
            "subscription" => FieldValue::Null,
            "patches" => {
                let mut ids: Vec<u64> = world
                    .patchsets
                    .values()
                    .filter(|p| p.list_id == l.id)
                    .map(|p| p.id)
                    .collect();
                ids.reverse();
                Paged::field(
                    "PatchsetCursor",
                    ids,
                    &Cursor::from_args(args)?,
                    Order::Desc,
                    |id| num_key(*id),
                    |id| FieldValue::object(Patchset(*id)),
                )
            }
            "emails" => {
                let mut ids: Vec<u64> = state
                    .map(|s| s.emails_of(l.id).map(|e| e.id).collect())
                    .unwrap_or_default();
                ids.reverse();
                Paged::field(
                    "EmailCursor",
                    ids,
                    &Cursor::from_args(args)?,
                    Order::Desc,
                    |id| num_key(*id),
                    |id| FieldValue::object(Email(*id)),
                )
            }
            "message" => {
                let wanted = args.required_str("messageID")?;
                FieldValue::opt_object(state.and_then(|s| {
                    s.emails_of(l.id)
                        .find(|e| e.message_id == wanted.trim_matches(['<', '>']))
                        .map(|e| Email(e.id))
                }))
            }
            other => return Err(not_emulated("MailingList", other)),
        })
    }
}

/// `GeneralACL`: everything for the owner, browse/reply/post otherwise.
struct Acl(bool);

impl Object for Acl {
    fn type_name(&self) -> &str {
        "GeneralACL"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        Ok(match name {
            "browse" | "reply" | "post" => FieldValue::scalar(true),
            "moderate" => FieldValue::scalar(self.0),
            other => return Err(not_emulated("GeneralACL", other)),
        })
    }
}

/// A deleted list, answered from its last record.
struct DeletedList(MailingList);

impl Object for DeletedList {
    fn type_name(&self) -> &str {
        "MailingList"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        Ok(match name {
            "id" => FieldValue::scalar(self.0.id),
            "name" => FieldValue::scalar(self.0.name.clone()),
            "description" => FieldValue::opt_scalar(self.0.description.clone()),
            "created" => FieldValue::scalar(rfc3339(self.0.created_at)),
            "updated" => FieldValue::scalar(rfc3339(self.0.updated_at)),
            "owner" => FieldValue::object(User(self.0.owner_id)),
            other => return Err(format!("MailingList.{other} is gone with the list")),
        })
    }
}

/// `Patchset`.
pub struct Patchset(pub u64);

impl Object for Patchset {
    fn type_name(&self) -> &str {
        "Patchset"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Field {
        let world = ctx.state.world.lock();
        let p = world.patchsets.get(&self.0).ok_or("patchset vanished")?;
        let meta = world
            .ext::<State>()
            .and_then(|s| s.patchsets.get(&p.id))
            .cloned()
            .unwrap_or_default();
        Ok(match name {
            "id" => FieldValue::scalar(p.id),
            "created" => FieldValue::scalar(rfc3339(p.created_at)),
            "updated" => FieldValue::scalar(rfc3339(p.updated_at)),
            "subject" => FieldValue::scalar(p.subject.clone()),
            "version" => FieldValue::scalar(p.version),
            "prefix" => FieldValue::opt_scalar(p.prefix.clone()),
            "status" => FieldValue::scalar(status_name(p.status)),
            "submitter" => entity(&world, &meta.from),
            "coverLetter" => FieldValue::opt_object(meta.cover_letter.map(Email)),
            "supersededBy" => FieldValue::Null,
            "list" => FieldValue::object(List(p.list_id)),
            "patches" => Paged::field(
                "EmailCursor",
                meta.patches.clone(),
                &Cursor::from_args(args)?,
                Order::Exact,
                |id| num_key(*id),
                |id| FieldValue::object(Email(*id)),
            ),
            "tools" => FieldValue::List(Vec::new()),
            "mbox" => FieldValue::scalar(format!(
                "{}/query/patchset/{}.mbox",
                ctx.state.urls.srht_lists, p.id
            )),
            other => return Err(not_emulated("Patchset", other)),
        })
    }
}

/// `Email`.
pub struct Email(pub u64);

impl Object for Email {
    fn type_name(&self) -> &str {
        "Email"
    }

    fn field(&self, name: &str, args: &Args, ctx: &Ctx) -> Field {
        let world = ctx.state.world.lock();
        let e: &ListEmail = world
            .ext::<State>()
            .and_then(|s| s.emails.get(&self.0))
            .ok_or("email vanished")?;
        Ok(match name {
            "id" => FieldValue::scalar(e.id),
            "sender" => entity(&world, &e.from),
            "received" => FieldValue::scalar(rfc3339(e.received)),
            "date" => FieldValue::opt_scalar(e.date.map(rfc3339)),
            "subject" => FieldValue::scalar(e.subject.clone()),
            "messageID" => FieldValue::scalar(e.message_id.clone()),
            "inReplyTo" => FieldValue::opt_scalar(e.in_reply_to.clone()),
            "header" => {
                let want = args.required_str("want")?;
                FieldValue::list(
                    e.parsed
                        .all(want)
                        .into_iter()
                        .map(|v| FieldValue::scalar(mail::decode_words(v))),
                )
            }
            "addressList" => {
                let want = args.required_str("want")?;
                FieldValue::list(
                    e.parsed
                        .all(want)
                        .into_iter()
                        .flat_map(|v| mail::addresses(&mail::decode_words(v)))
                        .map(|m| FieldValue::object(MailboxObj(m))),
                )
            }
            "body" => FieldValue::scalar(e.parsed.body.clone()),
            "envelope" => FieldValue::scalar(format!(
                "{}/query/email/{}",
                ctx.state.urls.srht_lists, e.id
            )),
            "parent" => FieldValue::opt_object(e.parent.map(Email)),
            "patch" => match &e.patch {
                Some(p) => FieldValue::object(Patch(p.clone())),
                None => FieldValue::Null,
            },
            "patchset" => FieldValue::opt_object(e.patchset.map(Patchset)),
            "list" => FieldValue::object(List(e.list_id)),
            other => return Err(not_emulated("Email", other)),
        })
    }
}

/// `Patch`: the parsed subject of a patch mail.
struct Patch(super::subject::PatchSubject);

impl Object for Patch {
    fn type_name(&self) -> &str {
        "Patch"
    }

    fn field(&self, name: &str, _: &Args, _: &Ctx) -> Field {
        let p = &self.0;
        Ok(match name {
            "index" => FieldValue::scalar(p.index),
            "count" => FieldValue::scalar(p.count),
            "version" => FieldValue::scalar(p.version),
            "prefix" => FieldValue::opt_scalar(p.prefix.clone()),
            "subject" => FieldValue::scalar(p.subject.clone()),
            other => return Err(not_emulated("Patch", other)),
        })
    }
}
