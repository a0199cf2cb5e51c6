//! How drover is shipped, checked without the tools that install it: the
//! image's build context (`.dockerignore`), the two systemd services
//! (sandboxed alike, comments that name only what the unit uses), and the
//! Kubernetes manifest against the fleet.yaml it suggests. The tools'
//! own checks (hadolint, kubeconform, `systemd-analyze`) are in
//! tests/templates.rs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(project().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The build context is only what the build reads: everything is left
/// out, then the sources, the embedded policies and templates, and the
/// workspace's other member put back; never target/, .git or a store.
#[test]
fn the_image_build_context_is_what_the_build_reads() {
    let text = read(".dockerignore");
    let patterns: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(patterns.first(), Some(&"*"), "everything out first");
    let back: BTreeSet<&str> = patterns
        .iter()
        .filter_map(|p| p.strip_prefix('!'))
        .map(|p| p.trim_end_matches('/'))
        .collect();
    // Every path the Dockerfile's build names, and every file `include_*!`
    // reads (fleet.yaml, policies/, templates/).
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "src",
        "benches",
        "policies",
        "templates",
        "fleet.yaml",
        "tests/emulator/Cargo.toml",
        "tests/emulator/src",
    ] {
        assert!(back.contains(needed), "{needed} is not in the context");
        assert!(project().join(needed).exists(), "{needed} does not exist");
    }
    for never in ["target", ".git", ".drover", "tests", "."] {
        assert!(!back.contains(never), "{never} is in the context");
    }
}

/// A unit's `[Service]` settings, by key (repeated keys joined by `\n`).
fn service(unit: &str) -> BTreeMap<String, String> {
    let text = read(&format!("systemd/{unit}"));
    let mut settings: BTreeMap<String, String> = BTreeMap::new();
    let mut in_service = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if let (true, Some((key, value))) = (in_service, line.split_once('=')) {
            if !line.starts_with('#') {
                let entry = settings.entry(key.to_owned()).or_default();
                if !entry.is_empty() {
                    entry.push('\n');
                }
                entry.push_str(value);
            }
        }
    }
    settings
}

/// What sandboxes a service, as `systemd-analyze security` scores it.
const SANDBOX: &[&str] = &[
    "DynamicUser",
    "NoNewPrivileges",
    "ProtectSystem",
    "ProtectHome",
    "PrivateTmp",
    "PrivateDevices",
    "PrivateUsers",
    "PrivateIPC",
    "RemoveIPC",
    "KeyringMode",
    "DevicePolicy",
    "ProtectKernelTunables",
    "ProtectKernelModules",
    "ProtectKernelLogs",
    "ProtectControlGroups",
    "ProtectClock",
    "ProtectHostname",
    "ProtectProc",
    "ProcSubset",
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "RestrictRealtime",
    "RestrictSUIDSGID",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "SystemCallArchitectures",
    "SystemCallFilter",
    "CapabilityBoundingSet",
    "AmbientCapabilities",
    "UMask",
];

/// drover-sweep.service runs the same code on the same store as
/// drover.service: the same dynamic user and the same sandbox, setting by
/// setting.
#[test]
fn the_sweep_service_is_sandboxed_like_the_daemon() {
    let daemon = service("drover.service");
    let sweep = service("drover-sweep.service");
    for key in SANDBOX {
        let want = daemon
            .get(*key)
            .unwrap_or_else(|| panic!("drover.service sets no {key}="));
        assert_eq!(sweep.get(*key), Some(want), "drover-sweep.service's {key}=");
    }
    assert_eq!(daemon.get("DynamicUser").map(String::as_str), Some("yes"));
    for unit in [&daemon, &sweep] {
        assert!(!unit.contains_key("User") && !unit.contains_key("Group"));
    }
}

/// A comment that names a directive (`LoadCredentialEncrypted=`) names one
/// the unit has, set or commented out for the reader to enable.
#[test]
fn the_units_comments_name_only_directives_they_have() {
    let directive = regex::Regex::new(r"\b([A-Z][a-z]+(?:[A-Z][a-z]*)+)=").unwrap();
    for unit in [
        "drover.service",
        "drover-sweep.service",
        "drover-sweep.timer",
    ] {
        let text = read(&format!("systemd/{unit}"));
        let present: BTreeSet<&str> = text
            .lines()
            .map(|l| l.trim().trim_start_matches('#'))
            .filter_map(|l| l.split_once('=').map(|(k, _)| k))
            .filter(|k| k.chars().all(|c| c.is_ascii_alphanumeric()))
            .collect();
        for comment in text.lines().filter(|l| l.trim_start().starts_with("# ")) {
            for named in directive.captures_iter(comment) {
                let name = &named[1];
                assert!(
                    present.contains(name),
                    "{unit}: the comment `{comment}` names {name}=, which the unit does not have"
                );
            }
        }
    }
}

/// Every secret the suggested fleet.yaml reads (`env:NAME`) is one the
/// manifest does not mark optional: drover does not start without a
/// secret fleet.yaml names.
#[test]
fn the_kubernetes_manifest_requires_every_secret_its_fleet_yaml_reads() {
    let text = read("deploy/k8s/drover.yaml");
    let suggested: String = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let env = regex::Regex::new(r"env:([A-Z_][A-Z0-9_]*)").unwrap();
    let read_by_drover: BTreeSet<&str> = env
        .captures_iter(&suggested)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert!(!read_by_drover.is_empty(), "{suggested}");
    let documents: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let mut given = BTreeSet::new();
    for doc in &documents {
        let containers = &doc["spec"]["template"]["spec"]["containers"];
        for container in containers.as_sequence().into_iter().flatten() {
            for var in container["env"].as_sequence().into_iter().flatten() {
                let name = var["name"].as_str().unwrap();
                let secret = &var["valueFrom"]["secretKeyRef"];
                if secret.is_null() {
                    continue;
                }
                given.insert(name.to_owned());
                if read_by_drover.contains(name) {
                    assert_ne!(
                        secret["optional"].as_bool(),
                        Some(true),
                        "{name} is optional in the manifest but fleet.yaml reads it"
                    );
                }
            }
        }
    }
    for name in read_by_drover {
        assert!(
            given.contains(name),
            "fleet.yaml reads {name}, the manifest gives none"
        );
    }
}
