//! Completing snapshots with what repository facts need: manifests known
//! only by blob id are read, and the facts' follow-up reads (workspace
//! members, Go main packages) are made — one batched snapshot per round
//! for every repository of the batch that needs one.

use crate::facts::{self, MAX_ROUNDS};
use crate::forge::{Forge, ForgeError};
use crate::model::{Actual, RemoteRepo, RepoPath, Snapshot, Wanted};

/// Where texts already read are kept between sweeps (by blob id), and
/// whether this run may add to it (not a dry run).
#[derive(Clone, Copy)]
pub struct TextCache<'a> {
    pub store: &'a crate::store::Store,
    pub write: bool,
}

/// Completes each `Ok` snapshot of `repos` in place.
pub async fn complete_facts(
    forge: &dyn Forge,
    repos: &[RemoteRepo],
    snapshots: &mut [Result<Snapshot, ForgeError>],
    cache: Option<TextCache<'_>>,
) {
    // Paths the facts read: their text is needed, not only a blob id.
    let mut fact_paths: std::collections::BTreeSet<RepoPath> =
        facts::wanted().paths.into_iter().collect();
    read_manifests(forge, repos, snapshots, &fact_paths, cache).await;
    for _ in 0..MAX_ROUNDS {
        let mut wanted = Wanted::default();
        let mut needing = Vec::new();
        for (i, snapshot) in snapshots.iter().enumerate() {
            let Ok(snapshot) = snapshot else { continue };
            let more = facts::follow_up(snapshot);
            if more != Wanted::default() {
                needing.push(i);
                wanted.paths.extend(more.paths);
                wanted.dirs.extend(more.dirs);
            }
        }
        if needing.is_empty() {
            return;
        }
        wanted.paths.sort();
        wanted.paths.dedup();
        wanted.dirs.sort();
        wanted.dirs.dedup();
        fact_paths.extend(wanted.paths.iter().cloned());
        let batch: Vec<RemoteRepo> = needing.iter().map(|i| repos[*i].clone()).collect();
        let more = forge.snapshot(&batch, &wanted).await;
        for (i, extra) in needing.into_iter().zip(more) {
            let merged = match (&mut snapshots[i], extra) {
                (Ok(snapshot), Ok(extra)) => {
                    merge(snapshot, extra, &wanted);
                    continue;
                }
                (_, Err(e)) => Err(e.context("reading repository facts")),
                (Err(_), _) => continue,
            };
            snapshots[i] = merged;
        }
        read_manifests(forge, repos, snapshots, &fact_paths, cache).await;
    }
}

/// Adds what a follow-up read saw. Paths it read but found missing are
/// recorded too, so they are not asked for again.
fn merge(snapshot: &mut Snapshot, extra: Snapshot, wanted: &Wanted) {
    for (path, actual) in extra.files {
        snapshot.files.entry(path).or_insert(actual);
    }
    for dir in &wanted.dirs {
        match extra.listings.get(dir) {
            Some(listed) => {
                snapshot.listings.insert(dir.clone(), listed.clone());
            }
            // Not a directory there: listed as empty, so not asked again.
            None => {
                snapshot.listings.entry(dir.clone()).or_default();
            }
        }
    }
}

/// Reads what the facts need of what a forge answered by blob id only:
/// the manifests, then the entry sources the manifests say matter.
async fn read_manifests(
    forge: &dyn Forge,
    repos: &[RemoteRepo],
    snapshots: &mut [Result<Snapshot, ForgeError>],
    fact_paths: &std::collections::BTreeSet<RepoPath>,
    cache: Option<TextCache<'_>>,
) {
    for _ in 0..2 {
        if let Some(cache) = cache {
            // A manifest from the cache can make an entry source needed
            // (a service's `src/main.rs`): ask the cache again for it
            // before the forge.
            while from_cache(cache, snapshots, fact_paths).await > 0 {}
        }
        let read = read_texts(forge, repos, snapshots, fact_paths).await;
        if let Some(cache) = cache.filter(|c| c.write && !read.is_empty()) {
            let store = cache.store.clone();
            // A cache: a failure costs the next sweep a read, nothing else.
            match tokio::task::spawn_blocking(move || store.put_texts(&read)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("caching manifest texts: {e}"),
                Err(e) => tracing::warn!("caching manifest texts: {e}"),
            }
        }
    }
}

/// The blob ids the facts need the text of, per snapshot.
fn needed(
    snapshot: &Snapshot,
    fact_paths: &std::collections::BTreeSet<RepoPath>,
) -> Vec<(RepoPath, String)> {
    snapshot
        .files
        .iter()
        .filter_map(|(p, a)| match a {
            Actual::Blob { oid } if fact_paths.contains(p) && facts::text_needed(snapshot, p) => {
                Some((p.clone(), oid.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Fills what the cache holds (each text checked against its id); how
/// many texts it filled.
async fn from_cache(
    cache: TextCache<'_>,
    snapshots: &mut [Result<Snapshot, ForgeError>],
    fact_paths: &std::collections::BTreeSet<RepoPath>,
) -> usize {
    let wanted: Vec<(usize, RepoPath, String)> = snapshots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((i, s.as_ref().ok()?)))
        .flat_map(|(i, s)| {
            needed(s, fact_paths)
                .into_iter()
                .map(move |(p, o)| (i, p, o))
        })
        .collect();
    if wanted.is_empty() {
        return 0;
    }
    let oids: Vec<String> = wanted.iter().map(|(_, _, o)| o.clone()).collect();
    let store = cache.store.clone();
    let Ok(Ok(texts)) = tokio::task::spawn_blocking(move || store.texts(&oids)).await else {
        return 0;
    };
    let mut filled = 0;
    for ((i, path, oid), text) in wanted.into_iter().zip(texts) {
        let Some(content) = text else { continue };
        if crate::git::blob_id_like(&content, &oid).as_deref() != Some(oid.as_str()) {
            continue;
        }
        if let Ok(snapshot) = &mut snapshots[i] {
            snapshot.files.insert(path, Actual::File { content });
            filled += 1;
        }
    }
    filled
}

/// Reads what is still only a blob id from the forge (verified against
/// the id by the forge); returns the texts read, by blob id.
async fn read_texts(
    forge: &dyn Forge,
    repos: &[RemoteRepo],
    snapshots: &mut [Result<Snapshot, ForgeError>],
    fact_paths: &std::collections::BTreeSet<RepoPath>,
) -> Vec<(String, Vec<u8>)> {
    let reads =
        futures::future::join_all(snapshots.iter().zip(repos).map(|(s, repo)| async move {
            let Ok(snapshot) = s else { return None };
            let blobs = needed(snapshot, fact_paths);
            if blobs.is_empty() {
                return None;
            }
            let head = snapshot.head.clone()?;
            let read = forge.read_files(repo, &head, &blobs).await;
            Some((blobs, read))
        }))
        .await;
    let mut texts = Vec::new();
    for (snapshot, read) in snapshots.iter_mut().zip(reads) {
        let Some((blobs, result)) = read else {
            continue;
        };
        match result {
            Ok(contents) => {
                if let Ok(snapshot) = snapshot {
                    for ((path, oid), content) in blobs.into_iter().zip(contents) {
                        texts.push((oid, content.clone()));
                        snapshot.files.insert(path, Actual::File { content });
                    }
                }
            }
            Err(e) => *snapshot = Err(e.context("reading manifests")),
        }
    }
    texts
}
