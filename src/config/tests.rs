use std::path::Path;

use super::*;

fn fleet_err(text: &str) -> String {
    parse_fleet(Path::new("fleet.yaml"), text)
        .unwrap_err()
        .to_string()
}

fn sources(names: &[&str]) -> TemplateSources {
    TemplateSources {
        files: names
            .iter()
            .map(|n| (n.to_string(), "x".to_string()))
            .collect(),
        origin: "templates".into(),
    }
}

fn policy_err(text: &str) -> String {
    parse_policy(
        Path::new("policies/rust.yaml"),
        text,
        &sources(&["rust/ci.yml"]),
    )
    .unwrap_err()
    .to_string()
}

const GOOD_FLEET: &str = "\
forge:
  kind: gitlab
  owner: acme
  token: env:GITLAB_TOKEN
schedule:
  cron: \"0 0 3 * * *\"
  timezone: Europe/Paris
defaults:
  labels: [drover]
repositories:
  exclude: [\"legacy-*\"]
  overrides:
    billing-api:
      language: rust
      skip:
        - path: Dockerfile
          reason: built by the platform team
";

#[test]
fn a_good_fleet_parses() {
    let fleet = parse_fleet(Path::new("fleet.yaml"), GOOD_FLEET).unwrap();
    assert_eq!(
        fleet.forge.token,
        Some(SecretRef::Env("GITLAB_TOKEN".into()))
    );
    assert_eq!(fleet.defaults.branch.as_str(), "drover/sync");
    assert_eq!(
        fleet.repositories.overrides["billing-api"].skip[0].reason,
        "built by the platform team"
    );
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let err = fleet_err("forge:\n  kind: local\n  path: [unclosed\n");
    assert!(err.starts_with("fleet.yaml:"), "{err}");
    assert!(err.contains(":4:") || err.contains(":3:"), "{err}");
}

#[test]
fn unknown_keys_are_errors_with_location() {
    let err = fleet_err("forge:\n  kind: local\n  path: repos\n  colour: blue\n");
    assert!(err.starts_with("fleet.yaml:4:3: "), "{err}");
    assert!(err.contains("unknown field `colour`"), "{err}");
    let err = fleet_err("forge:\n  kind: local\n  path: repos\ndefault:\n  branch: x\n");
    assert!(err.starts_with("fleet.yaml:4:1: "), "{err}");
    assert!(err.ends_with("(did you mean `defaults`?)"), "{err}");
    let err = fleet_err("forge:\n  kind: local\n  path: repos\ndefaults:\n  brach: x\n");
    assert!(
        err.ends_with("unknown field `brach`, expected one of `branch`, `labels`, `reviewers`, `variables`, `author`, `docs_url`, `config_url` (did you mean `branch`?)"),
        "{err}"
    );
}

#[test]
fn literal_tokens_are_refused_and_never_echoed() {
    let err = fleet_err("forge:\n  kind: github\n  owner: acme\n  token: ghp_s3cr3tvalue\n");
    assert!(err.starts_with("fleet.yaml:4:"), "{err}");
    assert!(err.contains("env:NAME"), "{err}");
    assert!(
        !err.contains("s3cr3t"),
        "the token leaked into the error: {err}"
    );
}

#[test]
fn a_github_app_signs_in_instead_of_a_token() {
    let app = "forge:\n  kind: github\n  owner: acme\n  app:\n    id: 12345\n    private_key: file:/etc/drover/app.pem\n";
    let fleet = parse_fleet(Path::new("fleet.yaml"), app).unwrap();
    let parsed = fleet.forge.app.unwrap();
    assert_eq!(parsed.id, 12345);
    assert_eq!(parsed.private_key.to_string(), "file:/etc/drover/app.pem");
    assert_eq!(parsed.installation, crate::config::Installation::Auto);
    for (raw, want) in [
        ("auto", crate::config::Installation::Auto),
        ("678", crate::config::Installation::Id(678)),
        ("\"678\"", crate::config::Installation::Id(678)),
    ] {
        let text = format!("{app}    installation: {raw}\n");
        let fleet = parse_fleet(Path::new("fleet.yaml"), &text).unwrap();
        assert_eq!(fleet.forge.app.unwrap().installation, want, "{raw}");
    }

    // The key is never written into fleet.yaml, nor echoed.
    let err = fleet_err("forge:\n  kind: github\n  owner: acme\n  app:\n    id: 1\n    private_key: \"-----BEGIN RSA PRIVATE KEY-----MIIEsecret\"\n");
    assert!(err.starts_with("fleet.yaml:6:"), "{err}");
    assert!(err.contains("env:NAME"), "{err}");
    assert!(!err.contains("MIIEsecret"), "{err}");

    let err = fleet_err(&format!("{app}    installation: first\n"));
    assert!(err.starts_with("fleet.yaml:7:"), "{err}");
    assert!(
        err.contains("`auto` or the installation's numeric id"),
        "{err}"
    );
    let err = fleet_err(&format!("{app}  token: env:T\n"));
    assert!(err.starts_with("fleet.yaml:4:3: "), "{err}");
    assert!(err.contains("keep one"), "{err}");
    let err = fleet_err(
        "forge:\n  kind: gitlab\n  owner: acme\n  app:\n    id: 1\n    private_key: env:K\n",
    );
    assert!(err.starts_with("fleet.yaml:4:3: "), "{err}");
    assert!(err.contains("only for a github forge"), "{err}");
    let err = fleet_err("forge:\n  kind: github\n  owner: acme\n");
    assert!(err.contains("`token:`") && err.contains("`app:`"), "{err}");
    let err = fleet_err(
        "forge:\n  kind: local\n  path: repos\n  app:\n    id: 1\n    private_key: env:K\n",
    );
    assert!(err.contains("takes no `app:`"), "{err}");
}

#[test]
fn forge_kinds_need_their_keys() {
    let err = fleet_err("forge:\n  kind: github\n  token: env:T\n");
    assert!(err.starts_with("fleet.yaml:2:3: "), "{err}");
    assert!(err.contains("owner"), "{err}");
    let err = fleet_err("forge:\n  kind: local\n");
    assert!(err.contains("path"), "{err}");
    let err = fleet_err("forge:\n  kind: gitlab\n  owner: a\n  token: env:T\n  url: https://user:pw@gitlab.example.com\n");
    assert!(err.starts_with("fleet.yaml:5:3: "), "{err}");
    assert!(!err.contains("pw@"), "{err}");
}

#[test]
fn sourcehut_keys_are_checked_and_located() {
    let base = "forge:\n  kind: sourcehut\n  owner: acme\n  token: env:T\n";
    let ok = format!(
        "{base}  list_address: \"u.{{owner}}.{{repo}}@lists.example.org\"\n  smtp:\n    host: mail.example.org\n    username: drover\n    password: env:P\n"
    );
    let fleet = parse_fleet(Path::new("fleet.yaml"), &ok).unwrap();
    let list = fleet
        .forge
        .list_address
        .unwrap()
        .resolve("acme", "api")
        .unwrap();
    assert_eq!(
        (
            list.address.as_str(),
            list.owner.as_str(),
            list.name.as_str()
        ),
        ("u.acme.api@lists.example.org", "acme", "api")
    );
    let err = fleet_err(&format!("{base}  list_address: \"{{repo}}@lists.sr.ht\"\n"));
    assert!(err.starts_with("fleet.yaml:5:17: "), "{err}");
    let err = fleet_err(&format!(
        "{base}  list_address: \"~{{owner}}/{{name}}@x\"\n"
    ));
    assert!(err.contains("placeholders"), "{err}");
    let err = fleet_err(&format!(
        "{base}  smtp:\n    host: mail.example.org\n    security: plain\n"
    ));
    assert!(err.starts_with("fleet.yaml:7:5: "), "{err}");
    let err = fleet_err(&format!("{base}  smtp:\n    host: h\n    username: u\n"));
    assert!(err.contains("go together"), "{err}");
    let err = fleet_err(&format!(
        "{base}  smtp:\n    host: h\n    password: hunter2\n"
    ));
    assert!(!err.contains("hunter2"), "{err}");
    let err = fleet_err(&format!("{base}  smtp:\n    host: h\n    tls: yes\n"));
    assert!(err.contains("tls"), "unknown keys are errors: {err}");
    let err = fleet_err(
        "forge:\n  kind: github\n  owner: a\n  token: env:T\n  lists_url: https://lists.sr.ht\n",
    );
    assert!(err.starts_with("fleet.yaml:5:3: "), "{err}");
}

#[test]
fn bad_cron_timezone_branch_and_glob_are_located() {
    let base = "forge:\n  kind: local\n  path: r\n";
    let err = fleet_err(&format!("{base}schedule:\n  cron: every day\n"));
    assert!(err.starts_with("fleet.yaml:5:9: "), "{err}");
    let err = fleet_err(&format!(
        "{base}schedule:\n  cron: \"0 0 3 * * *\"\n  timezone: Mars/Olympus\n"
    ));
    assert!(err.starts_with("fleet.yaml:6:13: "), "{err}");
    let err = fleet_err(&format!("{base}defaults:\n  branch: \"drover sync\"\n"));
    assert!(err.starts_with("fleet.yaml:5:11: "), "{err}");
    let err = fleet_err(&format!("{base}repositories:\n  include: [\"a[\"]\n"));
    assert!(err.starts_with("fleet.yaml:5:"), "{err}");
}

#[test]
fn crontab_five_fields_and_seconds_first_six_are_the_same_schedule() {
    let base = "forge:\n  kind: local\n  path: r\nschedule:\n  cron: ";
    let five = parse_fleet(Path::new("fleet.yaml"), &format!("{base}\"0 3 * * *\"\n")).unwrap();
    let six = parse_fleet(Path::new("fleet.yaml"), &format!("{base}\"0 0 3 * * *\"\n")).unwrap();
    let (five, six) = (five.schedule.unwrap().cron, six.schedule.unwrap().cron);
    assert_eq!(five, six);
    let after = chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z").unwrap();
    let next = five.schedule().after(&after).next().unwrap();
    assert_eq!(next.to_rfc3339(), "2024-05-02T03:00:00+00:00");
    let err = fleet_err(&format!("{base}\"0 3 * *\"\n"));
    assert!(err.contains("five fields as crontab does"), "{err}");
}

#[test]
fn escaping_skip_paths_are_rejected() {
    let err = fleet_err(
        "forge:\n  kind: local\n  path: r\nrepositories:\n  overrides:\n    a:\n      skip:\n        - path: ../etc/passwd\n          reason: x\n",
    );
    assert!(err.starts_with("fleet.yaml:8:"), "{err}");
    assert!(err.contains("may not leave"), "{err}");
}

const GOOD_POLICY: &str = "\
language: rust
detect:
  markers: [Cargo.toml]
files:
  - path: .github/workflows/ci.yml
    template: rust/ci.yml
    forges: [github]
    why: CI
  - path: .gitlab-ci.yml
    mode: absent
    forges: [github]
    why: old CI
";

#[test]
fn a_good_policy_parses() {
    let p = parse_policy(
        Path::new("policies/rust.yaml"),
        GOOD_POLICY,
        &sources(&["rust/ci.yml"]),
    )
    .unwrap();
    assert_eq!(p.files.len(), 2);
    assert!(p.files[0].applies_to(CiFlavor::Github));
    assert!(!p.files[0].applies_to(CiFlavor::Gitlab));
}

#[test]
fn policy_errors_are_located() {
    let err = policy_err(&GOOD_POLICY.replace("rust/ci.yml", "rust/missing.yml"));
    assert_eq!(
        err,
        "policies/rust.yaml:6:5: template `rust/missing.yml` not found in templates"
    );
    let err = policy_err(&GOOD_POLICY.replace("path: .gitlab-ci.yml", "path: /etc/passwd"));
    assert!(err.starts_with("policies/rust.yaml:9:"), "{err}");
    assert!(err.contains("absolute"), "{err}");
    let err = policy_err(&GOOD_POLICY.replace("path: .gitlab-ci.yml", "path: a/../../b"));
    assert!(err.starts_with("policies/rust.yaml:9:"), "{err}");
    let err = policy_err(&GOOD_POLICY.replace("language: rust", "language: go"));
    assert!(err.starts_with("policies/rust.yaml:1:1: "), "{err}");
    let err = policy_err(&GOOD_POLICY.replace(
        "    why: old CI",
        "    why: old CI\n    template: rust/ci.yml",
    ));
    assert!(err.contains("takes no template"), "{err}");
    let err = policy_err(&GOOD_POLICY.replace("mode: absent", "mode: sometimes"));
    assert!(err.starts_with("policies/rust.yaml:10:11: "), "{err}");
    assert!(err.contains("whole"), "{err}");
    let err = policy_err(&GOOD_POLICY.replace("    why: CI\n", "    why: CI\n    owner: me\n"));
    assert!(
        err.starts_with("policies/rust.yaml:9:5: files[0]: unknown field `owner`"),
        "{err}"
    );
}

#[test]
fn overrides_must_name_known_languages() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    std::fs::create_dir_all(dir.path().join("templates/rust")).unwrap();
    std::fs::write(dir.path().join("policies/rust.yaml"), GOOD_POLICY).unwrap();
    std::fs::write(dir.path().join("templates/rust/ci.yml"), "on: push\n").unwrap();
    let fleet = dir.path().join("fleet.yaml");
    std::fs::write(&fleet, "forge:\n  kind: local\n  path: repos\nrepositories:\n  overrides:\n    api:\n      language: cobol\n").unwrap();
    let err = Config::load(&fleet).unwrap_err();
    assert_eq!((err.line, err.column), (7, 7), "{err}");
    assert!(
        err.message
            .contains("no policy for language `cobol` (known: rust)"),
        "{err}"
    );
}

#[test]
fn the_committed_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/fleet.schema.json");
    let generated = fleet_schema();
    if std::env::var_os("DROVER_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema/fleet.schema.json is stale; regenerate with `DROVER_BLESS=1 cargo test the_committed_schema_is_current` or `drover schema`"
    );
}

#[test]
fn the_embedded_defaults_load() {
    let templates = embedded_templates();
    let policies = embedded_policies(&templates).unwrap();
    for p in &policies {
        for f in &p.files {
            if let Some(t) = &f.template {
                assert!(templates.files.contains_key(t), "{t}");
            }
        }
    }
}

#[test]
fn the_state_directory_follows_flag_fleet_systemd_then_user() {
    use std::ffi::OsString;
    use std::path::PathBuf;
    let base = Path::new("/srv/fleet");
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    };
    let all: &[(&str, &str)] = &[
        ("STATE_DIRECTORY", "/var/lib/drover:/var/lib/other"),
        ("XDG_STATE_HOME", "/home/u/.state"),
        ("HOME", "/home/u"),
    ];
    let at =
        |flag: Option<&str>, fleet: Option<&str>, vars: &'static [(&'static str, &'static str)]| {
            state_dir_from(
                flag.map(Path::new),
                fleet.map(Path::new),
                base,
                || "github-acme".to_owned(),
                env(vars),
            )
        };
    assert_eq!(at(Some("/tmp/s"), Some("st"), all), PathBuf::from("/tmp/s"));
    assert_eq!(at(None, Some("st"), all), PathBuf::from("/srv/fleet/st"));
    assert_eq!(at(None, None, all), PathBuf::from("/var/lib/drover"));
    assert_eq!(
        at(
            None,
            None,
            &[("XDG_STATE_HOME", "/home/u/.state"), ("HOME", "/home/u")]
        ),
        PathBuf::from("/home/u/.state/drover/github-acme")
    );
    // A relative XDG_STATE_HOME is invalid by the spec and ignored.
    assert_eq!(
        at(
            None,
            None,
            &[("XDG_STATE_HOME", "rel"), ("HOME", "/home/u")]
        ),
        PathBuf::from("/home/u/.local/state/drover/github-acme")
    );
    assert_eq!(at(None, None, &[]), PathBuf::from("/srv/fleet/.drover"));
}

#[test]
fn fleets_get_distinct_state_directories() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, forge: &str| {
        let sub = dir.path().join(name);
        std::fs::create_dir_all(sub.join("repos")).unwrap();
        std::fs::write(sub.join("fleet.yaml"), forge).unwrap();
        Config::load(&sub.join("fleet.yaml")).unwrap().fleet_id()
    };
    let a = write("a", "forge:\n  kind: local\n  path: repos\n");
    let b = write("b", "forge:\n  kind: local\n  path: repos\n");
    assert!(
        a.starts_with("local-") && b.starts_with("local-") && a != b,
        "{a} {b}"
    );
    let gh = write(
        "c",
        "forge:\n  kind: github\n  owner: acme/x\n  token: env:T\n",
    );
    assert_eq!(gh, "github-acme_x");
}

#[test]
fn migrate_to_is_checked_like_forge_and_errors_point_into_it() {
    let base = "forge:\n  kind: gitlab\n  owner: acme\n  token: env:GITLAB_TOKEN\n";
    let ok = format!("{base}migrate_to:\n  kind: github\n  owner: acme\n  token: env:GITHUB_TOKEN\n  ssh_key: file:/etc/drover/key\n");
    let fleet = parse_fleet(Path::new("fleet.yaml"), &ok).unwrap();
    assert_eq!(
        fleet.migrate_to.unwrap().kind,
        crate::model::ForgeKind::Github
    );

    let no_token = format!("{base}migrate_to:\n  kind: github\n  owner: acme\n");
    let err = fleet_err(&no_token);
    assert!(
        err.contains("fleet.yaml:6:") && err.contains("token"),
        "{err}"
    );
    let local = format!("{base}migrate_to:\n  kind: local\n  path: repos\n");
    let err = fleet_err(&local);
    assert!(
        err.contains("fleet.yaml:6:") && err.contains("not to the local forge"),
        "{err}"
    );
    let smtp = format!("{base}migrate_to:\n  kind: github\n  owner: acme\n  token: env:T\n  lists_url: https://lists.sr.ht\n");
    let err = fleet_err(&smtp);
    assert!(
        err.contains("fleet.yaml:9:") && err.contains("only for the sourcehut"),
        "{err}"
    );
    let literal =
        format!("{base}migrate_to:\n  kind: github\n  owner: acme\n  token: ghp_literal\n");
    let err = fleet_err(&literal);
    assert!(!err.contains("ghp_literal"), "{err}");
}

#[test]
fn branch_names_follow_gits_ref_name_rules() {
    let long = "b".repeat(256);
    for bad in [
        "HEAD",
        "@",
        "-b",
        "a..b",
        "a@{1}",
        ".hidden",
        "a/.b",
        "a.lock",
        "a.lock/b",
        "a//b",
        "/a",
        "a/",
        "a.",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[b",
        "a\\\\b",
        "a\\tb",
        "a\\0b",
        "a\\x7fb",
        "a\\nb",
        long.as_str(),
    ] {
        let text = format!("forge:\n  kind: local\n  path: r\ndefaults:\n  branch: \"{bad}\"\n");
        let err = fleet_err(&text);
        assert!(err.starts_with("fleet.yaml:5:11: "), "{bad}: {err}");
        assert!(err.contains("not a valid git branch name"), "{bad}: {err}");
        assert!(!err.contains(['\t', '\0', '\n', '\x7f']), "{bad}: {err:?}");
    }
    for good in ["drover/sync", "chore/ci-2024", "a@b", "héllo", "x.locks"] {
        let text = format!("forge:\n  kind: local\n  path: r\ndefaults:\n  branch: \"{good}\"\n");
        let fleet = parse_fleet(Path::new("fleet.yaml"), &text).unwrap();
        assert_eq!(fleet.defaults.branch.as_str(), good);
    }
}

#[test]
fn keys_given_twice_are_errors_located_in_the_file() {
    // An override given twice would drop the first one's skips.
    let err = fleet_err(
        "forge:\n  kind: local\n  path: r\nrepositories:\n  overrides:\n    a:\n      skip:\n        - path: Dockerfile\n          reason: x\n    a:\n      language: rust\n",
    );
    assert!(err.starts_with("fleet.yaml:10:5: "), "{err}");
    assert!(err.contains("key `a` is given twice"), "{err}");
    let err = fleet_err(
        "forge:\n  kind: local\n  path: r\ndefaults:\n  variables:\n    port: 80\n    port: 8080\n",
    );
    assert!(err.starts_with("fleet.yaml:7:5: "), "{err}");
    let err = fleet_err("forge:\n  kind: local\n  path: r\nforge:\n  kind: local\n");
    assert!(err.starts_with("fleet.yaml:4:1: "), "{err}");
    let err = policy_err(&GOOD_POLICY.replace("    why: CI\n", "    why: CI\n    why: again\n"));
    assert!(err.starts_with("policies/rust.yaml:9:5: "), "{err}");
    assert!(err.contains("`why`"), "{err}");
}

#[test]
fn files_that_are_not_settings_are_named_not_printed() {
    let secret = "ghp_SECRETtoken0123456789";
    for text in [
        format!("{secret}\n"),
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n".into(),
        format!("- {secret}\n"),
        format!("forge: {secret}\n"),
        format!("forge:\n  kind: {secret}\n"),
        format!("forge:\n  kind: local\n  path: [{secret}]\n"),
        format!("forge:\n  kind: local\n  path: r\nschedule:\n  cron: 5\n  timezone: {{ {secret}: 1 }}\n"),
    ] {
        let err = fleet_err(&text);
        assert!(err.starts_with("fleet.yaml:"), "{err}");
        assert!(
            !err.contains("SECRET") && !err.contains("root:x"),
            "{text:?} printed: {err}"
        );
    }
    let err = fleet_err(&format!("{secret}\n"));
    assert_eq!(
        err,
        "fleet.yaml:1:1: not a YAML mapping of settings (is this the right file?)"
    );
}

#[test]
fn deep_nesting_is_refused_before_it_costs() {
    let started = std::time::Instant::now();
    for deep in [
        "[".repeat(100_000),
        "- ".repeat(100_000),
        "{a: ".repeat(100_000),
    ] {
        let err = fleet_err(&format!(
            "forge:\n  kind: local\n  path: r\ndefaults:\n  variables:\n    x:\n      {deep}\n"
        ));
        assert!(err.starts_with("fleet.yaml:7:"), "{err}");
        assert!(err.contains("nested deeper than"), "{err}");
        let err = policy_err(&format!("language: rust\ndetect:\n  markers:\n  {deep}\n"));
        assert!(err.starts_with("policies/rust.yaml:4:"), "{err}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[test]
fn managed_paths_into_git_internals_are_refused_with_their_line() {
    for path in [
        ".GIT/config",
        "sub/.git./hooks/x",
        "git~1/config",
        "a/.git /b",
    ] {
        let text = GOOD_POLICY.replace(".gitlab-ci.yml", &format!("\"{path}\""));
        let err = policy_err(&text);
        assert!(
            err.starts_with("policies/rust.yaml:9:11: "),
            "{path}: {err}"
        );
        assert!(err.contains("names .git"), "{err}");
    }
    let err = fleet_err(
        "forge:\n  kind: local\n  path: r\nrepositories:\n  overrides:\n    a:\n      skip:\n        - path: \"x/Git~1/y\"\n          reason: x\n",
    );
    assert!(err.starts_with("fleet.yaml:8:17: "), "{err}");
    let err = fleet_err(
        "forge:\n  kind: local\n  path: r\nrepositories:\n  overrides:\n    a:\n      skip:\n        - path: \"a\\0b\"\n          reason: x\n",
    );
    assert!(err.starts_with("fleet.yaml:8:17: "), "{err}");
    assert!(err.contains("control character `\\u{0}`"), "{err}");
}

#[test]
fn proposal_links_are_http_pages_without_credentials_and_never_echoed() {
    let base = "forge:\n  kind: local\n  path: repos\ndefaults:\n  docs_url: ";
    let ok = parse_fleet(
        Path::new("fleet.yaml"),
        &format!("{base}https://wiki.example.com/drover?page=2\n"),
    )
    .unwrap();
    assert_eq!(
        ok.defaults.docs_url.unwrap().as_str(),
        "https://wiki.example.com/drover?page=2"
    );
    for (value, says) in [
        ("https://u:glpat-s3cr3t@git.example.com/x", "user or token"),
        (
            "https://git.example.com/x?private_token=glpat-s3cr3t",
            "credential in its query",
        ),
        (
            "https://git.example.com/x?X-Amz-Signature=s3cr3t",
            "credential in its query",
        ),
        ("ftp://git.example.com/s3cr3t", "not an http(s) address"),
    ] {
        let err = fleet_err(&format!("{base}{value}\n"));
        assert!(err.starts_with("fleet.yaml:5:13: "), "{err}");
        assert!(err.contains(says), "{value}: {err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }
}
