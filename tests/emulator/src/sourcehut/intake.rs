//! Filing received mail on lists.sr.ht lists, and assembling patchsets.
//!
//! Addresses (lists.sr.ht `parseListAddr`): `~owner/name@any.host` or, for
//! mail providers that refuse `~` and `/`, `u.owner.name@any.host`; a
//! `+command` before the `@` (`+subscribe`, …) is a list command, not a
//! post, and is left in the inbox. Posts without a `Message-ID`, or with
//! one the list already has, are dropped from the archive (they stay in the
//! inbox), as lists.sr.ht drops them.
//!
//! Threading follows `In-Reply-To` (else the last known `References` id);
//! mail that arrived before its parent is re-parented when the parent
//! comes. A mail is a patch when its body carries a diff and its subject
//! parses (see [`super::subject`]). Within one thread, the unassigned
//! patches of one version become a patchset once every index `1..=count`
//! has arrived; the `0/N` cover letter of that version, if any, becomes the
//! patchset's cover letter and gives its subject. A `v2` series sent in
//! reply to `v1` therefore makes a second patchset in the same thread (the
//! old one keeps its status until someone calls `updatePatchset`). New
//! patchsets are `PROPOSED`; their mails leave `world.inbox`. A reply from
//! the list owner with `X-Sourcehut-Patchset-Update: STATUS` sets the status
//! of the patchset it answers (lists.sr.ht's email control).

use std::collections::BTreeMap;

use crate::world::{Forge, Mail, Patchset, PatchsetStatus, World};

use super::mail::{self, Parsed};
use super::state::{ListEmail, PatchsetMeta, State};
use super::subject;

/// What a recipient address is to lists.sr.ht.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recipient {
    /// A post to an existing list.
    Post(u64),
    /// A list command (`+subscribe`, …) to an existing list.
    Command(u64, String),
    /// Looks like a list address, but no such list exists.
    UnknownList(String),
    /// Not a list address at all.
    Other,
}

/// Classifies one envelope recipient.
pub fn recipient(world: &World, address: &str) -> Recipient {
    let local = address.split('@').next().unwrap_or(address);
    let (local, command) = match local.rfind('+') {
        Some(i) if i > 0 => (&local[..i], Some(local[i + 1..].to_ascii_lowercase())),
        _ => (local, None),
    };
    let (owner, name) = if let Some(rest) = local.strip_prefix('~') {
        match rest.split_once('/') {
            Some((o, n)) => (o.to_string(), n.to_string()),
            None => return Recipient::UnknownList(address.to_string()),
        }
    } else {
        let tokens: Vec<&str> = local.split('.').collect();
        if tokens.len() < 3 || tokens[0] != "u" {
            return Recipient::Other;
        }
        (tokens[1].to_string(), tokens[2..].join("."))
    };
    let list = world
        .owner(Forge::Sourcehut, &owner)
        .filter(|o| o.name == owner)
        .and_then(|o| {
            world
                .lists
                .values()
                .find(|l| l.owner_id == o.id && l.name == name)
        });
    match (list, command) {
        (None, _) => Recipient::UnknownList(address.to_string()),
        (Some(l), None) => Recipient::Post(l.id),
        (Some(l), Some(c)) if c == "post" => Recipient::Post(l.id),
        (Some(l), Some(c)) => Recipient::Command(l.id, c),
    }
}

/// Builds the inbox record of a received message.
pub fn inbox_mail(world: &mut World, from: &str, to: Vec<String>, raw: Vec<u8>) -> Mail {
    let parsed = Parsed::parse(&raw);
    Mail {
        id: world.next_id(),
        envelope_from: from.to_string(),
        envelope_to: to,
        message_id: parsed
            .get("Message-ID")
            .and_then(|v| mail::message_ids(v).into_iter().next()),
        in_reply_to: parsed
            .get("In-Reply-To")
            .and_then(|v| mail::message_ids(v).into_iter().next()),
        subject: parsed.decoded("Subject"),
        raw,
        received_at: world.now(),
    }
}

/// Archives `mail` on every list it was posted to; returns the archive ids.
pub fn file(world: &mut World, mail: &Mail) -> Vec<u64> {
    let lists: Vec<u64> = mail
        .envelope_to
        .iter()
        .filter_map(|to| match recipient(world, to) {
            Recipient::Post(id) => Some(id),
            _ => None,
        })
        .collect();
    let mut archived = Vec::new();
    for list_id in dedup(lists) {
        if let Some(id) = archive(world, list_id, mail) {
            archived.push(id);
        }
    }
    archived
}

fn dedup(mut ids: Vec<u64>) -> Vec<u64> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn archive(world: &mut World, list_id: u64, mail: &Mail) -> Option<u64> {
    let message_id = mail.message_id.clone()?;
    let id = world.next_id();
    let now = world.now();
    let parsed = Parsed::parse(&mail.raw);
    let subject = parsed.decoded("Subject").unwrap_or_default();
    let references = parsed
        .all("References")
        .iter()
        .flat_map(|v| mail::message_ids(v))
        .collect::<Vec<_>>();
    let from = parsed
        .decoded("From")
        .and_then(|f| mail::addresses(&f).into_iter().next())
        .unwrap_or_default();
    let date = parsed.get("Date").and_then(mail::parse_date);
    let is_patch = mail::has_diff(&parsed.body);
    let patch = subject::parse(&subject);
    let state = world.ext_mut::<State>();
    let by_message_id = |s: &State, mid: &str| {
        s.emails_of(list_id)
            .find(|e| e.message_id == mid)
            .map(|e| e.id)
    };
    if by_message_id(state, &message_id).is_some() {
        tracing::debug!(%message_id, "lists: dropping mail with a duplicate Message-ID");
        return None;
    }
    let parent = mail
        .in_reply_to
        .as_deref()
        .and_then(|r| by_message_id(state, r))
        .or_else(|| {
            references
                .iter()
                .rev()
                .find_map(|r| by_message_id(state, r))
        });
    let orphans: Vec<u64> = state
        .emails_of(list_id)
        .filter(|e| e.parent.is_none() && e.in_reply_to.as_deref() == Some(message_id.as_str()))
        .map(|e| e.id)
        .collect();
    state.emails.insert(
        id,
        ListEmail {
            id,
            list_id,
            mail: mail.clone(),
            parsed,
            subject,
            message_id,
            in_reply_to: mail.in_reply_to.clone(),
            references,
            from,
            date,
            received: now,
            parent,
            patch,
            is_patch,
            patchset: None,
        },
    );
    for orphan in orphans {
        if let Some(e) = state.emails.get_mut(&orphan) {
            e.parent = Some(id);
        }
    }
    let root = state.thread_root(id);
    if let Some(list) = world.lists.get_mut(&list_id) {
        list.updated_at = now;
    }
    complete_patchsets(world, list_id, root);
    status_update(world, id);
    Some(id)
}

/// Makes patchsets of the complete series in a thread.
fn complete_patchsets(world: &mut World, list_id: u64, root: u64) {
    let state = world.ext_mut::<State>();
    let members: Vec<&ListEmail> = state
        .emails_of(list_id)
        .filter(|e| state.thread_root(e.id) == root && e.patchset.is_none())
        .collect();
    // version → index → first patch mail with that index
    let mut series: BTreeMap<u32, BTreeMap<u32, &ListEmail>> = BTreeMap::new();
    for e in &members {
        if let (true, Some(p)) = (e.is_patch, &e.patch) {
            if p.index > 0 {
                series
                    .entry(p.version)
                    .or_default()
                    .entry(p.index)
                    .or_insert(e);
            }
        }
    }
    let mut complete = Vec::new();
    for (version, patches) in series {
        let last = patches.values().max_by_key(|e| e.id).expect("non-empty");
        let count = last.patch.as_ref().map_or(1, |p| p.count);
        if !(1..=count).all(|i| patches.contains_key(&i)) {
            continue;
        }
        let patches: Vec<&ListEmail> = (1..=count).map(|i| patches[&i]).collect();
        let cover = members.iter().find(|e| {
            e.patch
                .as_ref()
                .is_some_and(|p| p.is_cover() && p.version == version)
        });
        let head = cover.map_or(patches[0], |c| c);
        let info = last.patch.clone().expect("patch subject");
        complete.push((
            version,
            info.prefix,
            head.patch
                .as_ref()
                .map_or(head.subject.clone(), |p| p.subject.clone()),
            cover.map(|c| c.id),
            patches.iter().map(|e| e.id).collect::<Vec<_>>(),
            last.mail.clone(),
            last.from.clone(),
        ));
    }
    for (version, prefix, subject, cover, patches, last_mail, from) in complete {
        let id = world.next_id();
        let now = world.now();
        let state = world.ext_mut::<State>();
        let mails: Vec<Mail> = cover
            .iter()
            .chain(patches.iter())
            .filter_map(|e| state.emails.get(e).map(|e| e.mail.clone()))
            .collect();
        for e in cover.iter().chain(patches.iter()) {
            if let Some(e) = state.emails.get_mut(e) {
                e.patchset = Some(id);
            }
        }
        state.patchsets.insert(
            id,
            PatchsetMeta {
                cover_letter: cover,
                patches,
                thread: root,
                from,
            },
        );
        let submitter = Parsed::parse(&last_mail.raw)
            .decoded("From")
            .unwrap_or_default();
        let inbox_ids: Vec<u64> = mails.iter().map(|m| m.id).collect();
        world.inbox.retain(|m| !inbox_ids.contains(&m.id));
        world.patchsets.insert(
            id,
            Patchset {
                id,
                list_id,
                subject,
                version,
                prefix,
                status: PatchsetStatus::Proposed,
                submitter,
                created_at: now,
                updated_at: now,
                mails,
            },
        );
    }
}

/// lists.sr.ht's email control: a reply carrying
/// `X-Sourcehut-Patchset-Update: STATUS` from the list owner sets the
/// status of the patchset it replies to (the nearest ancestor in one).
fn status_update(world: &mut World, id: u64) {
    let Some(state) = world.ext::<State>() else {
        return;
    };
    let Some(email) = state.emails.get(&id) else {
        return;
    };
    let Some(status) = email
        .parsed
        .get("X-Sourcehut-Patchset-Update")
        .and_then(|v| serde_json::from_value::<PatchsetStatus>(v.trim().into()).ok())
    else {
        return;
    };
    let mut cursor = email.parent;
    let mut patchset = None;
    while let Some(p) = cursor.and_then(|p| state.emails.get(&p)) {
        if p.patchset.is_some() {
            patchset = p.patchset;
            break;
        }
        cursor = p.parent;
    }
    let owner = world.lists.get(&email.list_id).map(|l| l.owner_id);
    let sender = super::state::user_by_email(world, &email.from.address);
    if let (Some(ps), true) = (patchset, owner.is_some() && owner == sender) {
        if let Some(p) = world.patchsets.get_mut(&ps) {
            p.status = status;
        }
    }
}
