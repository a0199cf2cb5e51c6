//! A forge's own note on a snapshot: what its `propose` needs from the
//! read beyond the forge-neutral [`Snapshot`](super::Snapshot) (sourcehut:
//! the state of the repository's mailing list; GitLab: which paths exist
//! at the head). Opaque to everyone else, it travels with the snapshot and
//! the proposal built from it, so a forge keeps no state between the two.

use std::any::Any;
use std::sync::Arc;

/// An opaque value of the forge's own type.
#[derive(Clone, Default)]
pub struct ForgeNote(Option<Arc<dyn Any + Send + Sync>>);

impl ForgeNote {
    pub fn new<T: Any + Send + Sync>(value: T) -> ForgeNote {
        ForgeNote(Some(Arc::new(value)))
    }

    /// The note, if there is one of type `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.as_deref()?.downcast_ref()
    }
}

impl std::fmt::Debug for ForgeNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ForgeNote(..)"
        } else {
            "ForgeNote(none)"
        })
    }
}

/// Two notes are equal when they are the same note (or both absent).
impl PartialEq for ForgeNote {
    fn eq(&self, other: &ForgeNote) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for ForgeNote {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_read_back_as_its_own_type_only() {
        let note = ForgeNote::new(vec![1u8]);
        assert_eq!(note.get::<Vec<u8>>(), Some(&vec![1u8]));
        assert_eq!(note.get::<String>(), None);
        assert_eq!(note.clone(), note);
        assert_ne!(ForgeNote::new(vec![1u8]), note);
        assert_eq!(ForgeNote::default().get::<Vec<u8>>(), None);
    }
}
