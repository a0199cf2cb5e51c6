//! Reviewers' accounts as a forge answered for them, shared by every
//! proposal of one sweep: each name is looked up once per sweep, not once
//! per repository, and never across sweeps (an account created since is
//! found the next time).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

/// One name's answer, filled once (`None`: no such account).
type Answer = Arc<OnceCell<Option<u64>>>;

/// Name → the forge's id for it. Cloning shares the memo; a sweep makes
/// one and hands it to each of its proposals.
#[derive(Clone, Default)]
pub struct Accounts(Arc<Mutex<HashMap<String, Answer>>>);

impl Accounts {
    /// The id of `name`, asking `lookup` only the first time this sweep
    /// (proposals asking at once wait for the one request). A failed
    /// look-up is not remembered: the next proposal asks again.
    pub async fn id<F, Fut, E>(&self, name: &str, lookup: F) -> Result<Option<u64>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<u64>, E>>,
    {
        let cell = {
            let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(name.to_owned()).or_default().clone()
        };
        cell.get_or_try_init(lookup).await.copied()
    }
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |m| m.len());
        write!(f, "Accounts({n} names)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_name_is_looked_up_once_even_when_asked_at_once() {
        let accounts = Accounts::default();
        let asked = AtomicUsize::new(0);
        let ask = |name: &'static str| {
            let accounts = accounts.clone();
            let asked = &asked;
            async move {
                accounts
                    .id(name, || async {
                        asked.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok::<_, ()>((name == "ann").then_some(7))
                    })
                    .await
            }
        };
        let got =
            futures::future::join_all([ask("ann"), ask("ann"), ask("ghost"), ask("ann")]).await;
        assert_eq!(got, [Ok(Some(7)), Ok(Some(7)), Ok(None), Ok(Some(7))]);
        assert_eq!(asked.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_look_up_is_asked_again() {
        let accounts = Accounts::default();
        let first: Result<_, &str> = accounts.id("ann", || async { Err("down") }).await;
        assert_eq!(first, Err("down"));
        let second: Result<_, &str> = accounts.id("ann", || async { Ok(Some(1)) }).await;
        assert_eq!(second, Ok(Some(1)));
    }
}
