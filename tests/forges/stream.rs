//! A sweep is a stream (issue 19): each batch of repositories is read,
//! proposed to, recorded in the store and handed on before the next batch
//! is read, so a sweep never holds the whole fleet; and what spans the
//! fleet (`limits:`) still holds across batches.

use std::sync::{Arc, Mutex};

use drover_emulator::{Emulator, EmulatorConfig, Forge, OwnerKind};

use crate::harness::{rust, write_fleet};

const TOKEN: &str = "ghp_streamTokenValue0123";

/// More than two snapshot batches of 50, every one drifted.
const REPOS: usize = 120;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_batch_is_recorded_and_handed_on_before_the_next_is_read() {
    let emu = Emulator::start(EmulatorConfig::default()).await.unwrap();
    emu.create_owner(Forge::Github, OwnerKind::Organization, "acme")
        .unwrap();
    emu.create_token(Forge::Github, "octo", TOKEN).unwrap();
    let names: Vec<String> = (0..REPOS).map(|i| format!("svc-{i:03}")).collect();
    for name in &names {
        emu.create_repo(Forge::Github, &format!("acme/{name}"), rust(name))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    write_fleet(
        dir.path(),
        &format!(
            "forge:\n  kind: github\n  url: {}\n  owner: acme\n  token: env:DROVER_STREAM_TOKEN\nlimits:\n  new_per_sweep: 70\n",
            emu.github_url()
        ),
    );
    std::env::set_var("DROVER_STREAM_TOKEN", TOKEN);
    let config = drover::config::Config::load(&dir.path().join("fleet.yaml")).unwrap();
    let renderer = drover::render::Renderer::new(&config.templates).unwrap();
    let forge = drover::forge::open(&config).unwrap();
    let state = dir.path().join("state");
    let store = tokio::task::spawn_blocking(move || drover::store::Store::open(&state))
        .await
        .unwrap()
        .unwrap();
    let options = drover::sweep::SweepOptions {
        dry_run: false,
        ..Default::default()
    };

    // For each report as it is handed on: the repository, the forge's
    // requests so far, and whether the store holds its record yet.
    let seen: Arc<Mutex<Vec<(String, u64, bool)>>> = Arc::default();
    let (emu_ref, store_ref, seen_ref) = (&emu, &store, seen.clone());
    let summary = drover::sweep::run_into(
        &config,
        &renderer,
        forge.as_ref(),
        Some(&store),
        &options,
        &mut |_, report| {
            let recorded = store_ref.repo(&report.full_name).unwrap().is_some();
            seen_ref
                .lock()
                .unwrap()
                .push((report.name, emu_ref.total_requests(), recorded));
        },
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap().clone();
    let total = emu.total_requests();

    assert_eq!(seen.len(), REPOS);
    assert!(
        seen.iter().all(|(_, _, recorded)| *recorded),
        "every report is handed on once its record is in the store"
    );
    // Each batch was done (proposed to, recorded, handed on) before the
    // next was read: the forge's count moves between batches, and not
    // within one. Gathering every plan first would hand all on at `total`.
    let at = |i: usize| seen[i].1;
    for batch in [0..50, 50..100, 100..REPOS] {
        assert!(
            seen[batch.clone()]
                .iter()
                .all(|(_, n, _)| *n == at(batch.start)),
            "a batch is handed on together"
        );
    }
    assert!(
        at(0) < at(50) && at(50) < at(100) && at(100) == total,
        "handed on after {}, {} and {} of {total} requests",
        at(0),
        at(50),
        at(100)
    );
    // In discovery order, batch by batch.
    let order: Vec<&str> = seen.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(order, names.iter().map(String::as_str).collect::<Vec<_>>());

    // `new_per_sweep` spans the batches: the first 70, no more.
    let opened: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| {
            !emu.proposals(Forge::Github, &format!("acme/{n}"))
                .unwrap()
                .is_empty()
        })
        .collect();
    assert_eq!(opened, order[..70]);
    assert_eq!(summary.tally.actions.opened, 70);
    assert_eq!(summary.tally.waiting, REPOS - 70);
    assert_eq!(summary.tally.totals.drifted, REPOS);
    assert_eq!(store.sweeps().unwrap().len(), 1, "one history entry, last");
}
