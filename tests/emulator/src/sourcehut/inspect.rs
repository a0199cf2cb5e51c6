//! Seeding and inspection of sourcehut state for tests, as `Emulator`
//! methods (`srht_*`), and the mbox format shared with the lists
//! listener's download routes.

use crate::error::{Error, Result};
use crate::world::{Forge, Mail, OwnerKind, Patchset, World};
use crate::Emulator;

use super::lists::create_list_record;
use super::state::{self, State};

/// Messages as an mbox (`From ` separator lines, LF line ends), which
/// `git am` and `git mailsplit` read.
pub fn mbox<'a>(mails: impl IntoIterator<Item = &'a Mail>) -> Vec<u8> {
    let mut out = Vec::new();
    for m in mails {
        out.extend_from_slice(b"From drover-emulator Thu Jan  1 00:00:00 1970\n");
        let text = m.raw.split(|b| *b == b'\n');
        for line in text {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        if !out.ends_with(b"\n\n") {
            out.push(b'\n');
        }
    }
    out
}

/// The diff of a patch mail's body (see [`Emulator::srht_patch_diffs`]).
pub fn diff_part(body: &str) -> String {
    let body = body.replace("\r\n", "\n");
    let start = body
        .find("\ndiff --git ")
        .or_else(|| body.find("\n--- "))
        .map_or(body.len(), |i| i + 1);
    let diff = &body[start..];
    let end = diff.find("\n-- \n").map_or(diff.len(), |i| i + 1);
    diff[..end].to_string()
}

fn list_id(world: &World, owner: &str, list: &str) -> Result<u64> {
    let login = owner.trim_start_matches('~');
    let owner_id = state::sourcehut_user(world, login)
        .ok_or_else(|| Error::NotFound(format!("sourcehut user {owner}")))?;
    world
        .lists
        .values()
        .find(|l| l.owner_id == owner_id && l.name == list)
        .map(|l| l.id)
        .ok_or_else(|| Error::NotFound(format!("mailing list ~{login}/{list}")))
}

/// The mails of a patchset that `git am` wants: the patches, in order.
pub fn patch_mails(world: &World, id: u64) -> Option<Vec<Mail>> {
    let meta = world.ext::<State>()?.patchsets.get(&id)?;
    let emails = &world.ext::<State>()?.emails;
    Some(
        meta.patches
            .iter()
            .filter_map(|e| emails.get(e).map(|e| e.mail.clone()))
            .collect(),
    )
}

impl Emulator {
    /// Creates the mailing list `~owner/name` (the user is created if
    /// needed), public. Returns its id.
    pub fn srht_create_list(&self, owner: &str, name: &str) -> Result<u64> {
        let mut world = self.state.world.lock();
        let owner_id = world.ensure_owner(
            Forge::Sourcehut,
            OwnerKind::User,
            owner.trim_start_matches('~'),
        )?;
        create_list_record(&mut world, owner_id, name, None).map_err(Error::Conflict)
    }

    /// Registers `address` as sourcehut user `login`'s email: mail from it
    /// then has that user as sender and submitter (instead of a Mailbox).
    pub fn srht_set_user_email(&self, login: &str, address: &str) -> Result<()> {
        let mut world = self.state.world.lock();
        let login = login.trim_start_matches('~').to_string();
        world.ensure_owner(Forge::Sourcehut, OwnerKind::User, &login)?;
        world
            .ext_mut::<State>()
            .user_emails
            .insert(address.to_ascii_lowercase(), login);
        Ok(())
    }

    /// The patchsets of `~owner/list`, oldest first; `mails` holds the raw
    /// cover letter (if any) and patches, in series order.
    pub fn srht_patchsets(&self, owner: &str, list: &str) -> Result<Vec<Patchset>> {
        let world = self.state.world.lock();
        let id = list_id(&world, owner, list)?;
        Ok(world
            .patchsets
            .values()
            .filter(|p| p.list_id == id)
            .cloned()
            .collect())
    }

    /// The patches of a patchset as an mbox that `git am` applies (the
    /// cover letter left out).
    pub fn srht_patchset_mbox(&self, id: u64) -> Result<Vec<u8>> {
        let world = self.state.world.lock();
        let mails =
            patch_mails(&world, id).ok_or_else(|| Error::NotFound(format!("patchset {id}")))?;
        Ok(mbox(&mails))
    }

    /// The diff part of each patch of a patchset, in series order: the body
    /// from its first `diff --git` (or `--- `) line, without the trailing
    /// `-- ` signature.
    pub fn srht_patch_diffs(&self, id: u64) -> Result<Vec<String>> {
        let world = self.state.world.lock();
        let state = world
            .ext::<State>()
            .ok_or_else(|| Error::NotFound(format!("patchset {id}")))?;
        let meta = state
            .patchsets
            .get(&id)
            .ok_or_else(|| Error::NotFound(format!("patchset {id}")))?;
        Ok(meta
            .patches
            .iter()
            .filter_map(|e| state.emails.get(e))
            .map(|e| diff_part(&e.parsed.body))
            .collect())
    }

    /// Every mail archived on `~owner/list`, in arrival order.
    pub fn srht_list_mails(&self, owner: &str, list: &str) -> Result<Vec<Mail>> {
        let world = self.state.world.lock();
        let id = list_id(&world, owner, list)?;
        Ok(world
            .ext::<State>()
            .map(|s| s.emails_of(id).map(|e| e.mail.clone()).collect())
            .unwrap_or_default())
    }
}
