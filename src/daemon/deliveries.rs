//! Webhook deliveries already acted on, by their delivery id (GitHub's
//! `X-GitHub-Delivery`, GitLab's `X-Gitlab-Event-UUID`, sourcehut's
//! signed nonce): a forge that delivers again, or someone who replays a
//! captured delivery, does not queue a second sweep. Ids are kept for
//! [`WINDOW`], and at most [`CAPACITY`] of them (the oldest go first), so
//! the memory they take is bounded whatever clients send.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// How long a delivery id is remembered.
pub const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// How many delivery ids are remembered at most.
pub const CAPACITY: usize = 10_000;

/// The ids seen within the window, oldest first.
#[derive(Debug, Default)]
pub struct Seen {
    order: VecDeque<(Instant, String)>,
    ids: HashMap<String, Instant>,
}

impl Seen {
    /// Records `id` (already namespaced by forge) seen at `now`; false when
    /// it was seen within the window before.
    pub fn first_time(&mut self, id: &str, now: Instant) -> bool {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < WINDOW && self.order.len() < CAPACITY {
                break;
            }
            let (at, old) = self.order.pop_front().expect("not empty");
            if self.ids.get(&old) == Some(&at) {
                self.ids.remove(&old);
            }
        }
        if self.ids.contains_key(id) {
            return false;
        }
        self.ids.insert(id.to_owned(), now);
        self.order.push_back((now, id.to_owned()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_counts_once_within_the_window_and_again_after_it() {
        let mut seen = Seen::default();
        let t0 = Instant::now();
        assert!(seen.first_time("github:a", t0));
        assert!(!seen.first_time("github:a", t0 + Duration::from_secs(60)));
        assert!(seen.first_time("gitlab:a", t0), "namespaced by forge");
        assert!(seen.first_time("github:a", t0 + WINDOW + Duration::from_secs(1)));
    }

    #[test]
    fn the_oldest_ids_go_first_beyond_capacity() {
        let mut seen = Seen::default();
        let t0 = Instant::now();
        for i in 0..=CAPACITY {
            assert!(seen.first_time(&format!("id{i}"), t0));
        }
        assert!(seen.ids.len() <= CAPACITY);
        assert!(seen.first_time("id0", t0), "evicted, so new again");
        assert!(!seen.first_time(&format!("id{CAPACITY}"), t0));
    }
}
