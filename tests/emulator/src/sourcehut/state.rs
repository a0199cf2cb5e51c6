//! sourcehut's private state, kept in the world as an extension
//! (`world.ext_mut::<State>()`): the archive of list mail with its
//! threading and parsed patch subjects, list visibility, patchset details
//! the shared `world::Patchset` has no field for, repository READMEs, and
//! which address belongs to which user.

use std::collections::{BTreeMap, HashMap};

use crate::world::{Forge, Mail, Visibility, World};

use super::mail::{Mailbox, Parsed};
use super::subject::PatchSubject;

/// One mail archived on a list (lists.sr.ht `Email`).
#[derive(Clone, Debug)]
pub struct ListEmail {
    /// The archive id (GraphQL `Email.id`); `mail.id` is the inbox id.
    pub id: u64,
    pub list_id: u64,
    pub mail: Mail,
    pub parsed: Parsed,
    /// Decoded subject.
    pub subject: String,
    /// Without angle brackets.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub from: Mailbox,
    /// The `Date` header, if it parses.
    pub date: Option<i64>,
    pub received: i64,
    pub parent: Option<u64>,
    /// The parsed subject, when it is a patch subject.
    pub patch: Option<PatchSubject>,
    /// Whether the body carries a diff.
    pub is_patch: bool,
    pub patchset: Option<u64>,
}

/// What a patchset has beyond `world::Patchset`.
#[derive(Clone, Debug, Default)]
pub struct PatchsetMeta {
    pub cover_letter: Option<u64>,
    /// Archive ids of the patches, in series order.
    pub patches: Vec<u64>,
    /// The archive id of the thread root.
    pub thread: u64,
    /// The address of the submitter (the `From` of the completing mail).
    pub from: Mailbox,
}

/// The sourcehut extension of the world.
#[derive(Default)]
pub struct State {
    pub emails: BTreeMap<u64, ListEmail>,
    pub list_visibility: HashMap<u64, Visibility>,
    pub patchsets: HashMap<u64, PatchsetMeta>,
    pub readmes: HashMap<u64, String>,
    /// Lower-cased address → user login.
    pub user_emails: HashMap<String, String>,
}

impl State {
    /// The root of the thread an archived mail belongs to.
    pub fn thread_root(&self, mut id: u64) -> u64 {
        let mut hops = 0;
        while let Some(parent) = self.emails.get(&id).and_then(|e| e.parent) {
            id = parent;
            hops += 1;
            if hops > 10_000 {
                break;
            }
        }
        id
    }

    /// Archived mails of a list, oldest first.
    pub fn emails_of(&self, list_id: u64) -> impl Iterator<Item = &ListEmail> {
        self.emails.values().filter(move |e| e.list_id == list_id)
    }
}

/// The address a sourcehut user has, for matching senders: one set with
/// [`State::user_emails`], else `login@sr.ht.invalid`.
pub fn user_email(world: &World, login: &str) -> String {
    world
        .ext::<State>()
        .and_then(|s| {
            s.user_emails
                .iter()
                .find(|(_, l)| l.as_str() == login)
                .map(|(a, _)| a.clone())
        })
        .unwrap_or_else(|| format!("{login}@sr.ht.invalid"))
}

/// The sourcehut user an address belongs to, if any.
pub fn user_by_email(world: &World, address: &str) -> Option<u64> {
    let address = address.to_ascii_lowercase();
    let login = match world
        .ext::<State>()
        .and_then(|s| s.user_emails.get(&address))
    {
        Some(login) => login.clone(),
        None => address.strip_suffix("@sr.ht.invalid")?.to_string(),
    };
    sourcehut_user(world, &login)
}

/// A sourcehut user by exact username (no `~`), as meta.sr.ht looks it up.
pub fn sourcehut_user(world: &World, username: &str) -> Option<u64> {
    if username.starts_with('~') {
        return None;
    }
    world
        .owners
        .values()
        .find(|o| o.forge == Forge::Sourcehut && o.name == username)
        .map(|o| o.id)
}

/// A visibility as the sourcehut schemas spell it.
pub fn visibility_name(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "PUBLIC",
        Visibility::Internal => "UNLISTED",
        Visibility::Private => "PRIVATE",
    }
}

/// The visibility a schema enum value names.
pub fn visibility_from(name: &str) -> Option<Visibility> {
    match name {
        "PUBLIC" => Some(Visibility::Public),
        "UNLISTED" => Some(Visibility::Internal),
        "PRIVATE" => Some(Visibility::Private),
        _ => None,
    }
}
