//! Completing snapshots with what repository facts need: manifests known
//! only by blob id are read, and the facts' follow-up reads (workspace
//! members, Go main packages) are made — one batched snapshot per round
//! for every repository of the batch that needs one.

use crate::facts::{self, MAX_ROUNDS};
use crate::forge::{Forge, ForgeError};
use crate::model::{Actual, RemoteRepo, RepoPath, Snapshot, Wanted};

/// Completes each `Ok` snapshot of `repos` in place.
pub async fn complete_facts(
    forge: &dyn Forge,
    repos: &[RemoteRepo],
    snapshots: &mut [Result<Snapshot, ForgeError>],
) {
    // Paths the facts read: their text is needed, not only a blob id.
    let mut fact_paths: std::collections::BTreeSet<RepoPath> =
        facts::wanted().paths.into_iter().collect();
    read_manifests(forge, repos, snapshots, &fact_paths).await;
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
        read_manifests(forge, repos, snapshots, &fact_paths).await;
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
) {
    for _ in 0..2 {
        read_texts(forge, repos, snapshots, fact_paths).await;
    }
}

async fn read_texts(
    forge: &dyn Forge,
    repos: &[RemoteRepo],
    snapshots: &mut [Result<Snapshot, ForgeError>],
    fact_paths: &std::collections::BTreeSet<RepoPath>,
) {
    let reads =
        futures::future::join_all(snapshots.iter().zip(repos).map(|(s, repo)| async move {
            let Ok(snapshot) = s else { return None };
            let blobs: Vec<(RepoPath, String)> = snapshot
                .files
                .iter()
                .filter_map(|(p, a)| match a {
                    Actual::Blob { oid }
                        if fact_paths.contains(p) && facts::text_needed(snapshot, p) =>
                    {
                        Some((p.clone(), oid.clone()))
                    }
                    _ => None,
                })
                .collect();
            if blobs.is_empty() {
                return None;
            }
            let head = snapshot.head.clone()?;
            let read = forge.read_files(repo, &head, &blobs).await;
            Some((blobs.into_iter().map(|(p, _)| p).collect::<Vec<_>>(), read))
        }))
        .await;
    for (snapshot, read) in snapshots.iter_mut().zip(reads) {
        let Some((paths, result)) = read else {
            continue;
        };
        match result {
            Ok(contents) => {
                if let Ok(snapshot) = snapshot {
                    for (path, content) in paths.into_iter().zip(contents) {
                        snapshot.files.insert(path, Actual::File { content });
                    }
                }
            }
            Err(e) => *snapshot = Err(e.context("reading manifests")),
        }
    }
}
