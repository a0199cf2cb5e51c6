use std::collections::BTreeMap;

use super::*;
use crate::model::ForgeKind;

fn sources(files: &[(&str, &str)]) -> TemplateSources {
    TemplateSources {
        files: files
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect(),
        origin: "templates".into(),
    }
}

fn ctx() -> RenderContext {
    RenderContext {
        repo: RepoFacts::named("api", "acme/api", "rust", "ghcr.io/acme/api"),
        forge: ForgeFacts {
            kind: ForgeKind::Github,
            ci: CiFlavor::Github,
            host: "github.com".into(),
            owner: "acme".into(),
            url: "https://github.com".into(),
            registry: "ghcr.io/acme".into(),
            ci_path: ".github/workflows/ci.yml".into(),
        },
        defaults: DefaultFacts {
            branch: "drover/sync".into(),
            labels: vec![],
            reviewers: vec![],
        },
        vars: BTreeMap::from([("port".to_owned(), serde_json::json!(8080))]),
    }
}

#[test]
fn renders_with_the_context_and_one_final_newline() {
    let r = Renderer::new(&sources(&[(
        "t",
        "{{ repo.full_name }}:{{ vars.port }} on {{ forge.ci }}\n\n\n",
    )]))
    .unwrap();
    assert_eq!(r.render("t", &ctx()).unwrap(), "acme/api:8080 on github\n");
    let r = Renderer::new(&sources(&[("t", "no newline")])).unwrap();
    assert_eq!(r.render("t", &ctx()).unwrap(), "no newline\n");
}

#[test]
fn raw_blocks_keep_actions_expressions() {
    let r = Renderer::new(&sources(&[(
        "t",
        "tag: {% raw %}${{ github.sha }}{% endraw %}",
    )]))
    .unwrap();
    assert_eq!(r.render("t", &ctx()).unwrap(), "tag: ${{ github.sha }}\n");
}

#[test]
fn undefined_variables_name_template_and_line() {
    let r = Renderer::new(&sources(&[(
        "rust/ci.yml",
        "a: 1\nb: {{ repo.name }}\nc: {{ vars.missing }}\n",
    )]))
    .unwrap();
    let err = r.render("rust/ci.yml", &ctx()).unwrap_err();
    assert_eq!(err.file, "templates/rust/ci.yml");
    assert_eq!(err.line, 3);
    assert!(
        err.message.contains("`vars.missing` is not defined"),
        "{err}"
    );
}

#[test]
fn a_mistyped_variable_is_told_the_name_it_is_near() {
    let r = Renderer::new(&sources(&[
        ("a", "{{ repo.nmae }}\n"),
        ("b", "{{ rpeo.name }}\n"),
        ("c", "{{ repo.name_of_the_thing }}\n"),
    ]))
    .unwrap();
    let err = r.render("a", &ctx()).unwrap_err();
    assert_eq!(
        err.message,
        "variable `repo.nmae` is not defined (did you mean `repo.name`?)"
    );
    let err = r.render("b", &ctx()).unwrap_err();
    assert!(err.message.ends_with("(did you mean `repo`?)"), "{err}");
    let err = r.render("c", &ctx()).unwrap_err();
    assert!(err.message.ends_with("if it is optional)"), "{err}");
}

#[test]
fn errors_inside_includes_name_the_included_template() {
    let r = Renderer::new(&sources(&[
        ("outer", "x\n{% include \"inner\" %}\n"),
        ("inner", "\n\n{{ nope }}\n"),
    ]))
    .unwrap();
    let err = r.render("outer", &ctx()).unwrap_err();
    assert_eq!(
        (err.file.as_str(), err.line),
        ("templates/inner", 3),
        "{err}"
    );
}

#[test]
fn syntax_errors_name_template_and_line() {
    let err = Renderer::new(&sources(&[(
        "rust/Dockerfile",
        "FROM x\nRUN {{ 1 + }}\nCMD y\n",
    )]))
    .err()
    .unwrap();
    assert_eq!(err.file, "templates/rust/Dockerfile");
    assert_eq!(err.line, 2, "{err}");
    assert!(err.message.starts_with("syntax error"), "{err}");
}

#[test]
fn fingerprints_follow_template_content() {
    let a = Renderer::new(&sources(&[("t", "1")])).unwrap();
    let b = Renderer::new(&sources(&[("t", "1")])).unwrap();
    let c = Renderer::new(&sources(&[("t", "2")])).unwrap();
    assert_eq!(a.templates_fingerprint(), b.templates_fingerprint());
    assert_ne!(a.templates_fingerprint(), c.templates_fingerprint());
}

#[test]
fn line_using_ignores_text_outside_tags_and_longer_names() {
    let text = "vars.x here\n{{ vars.xy }}\n{% if vars.x %}\n";
    assert_eq!(line_using(text, "vars.x"), 3);
}

#[test]
fn templates_cannot_read_the_environment() {
    std::env::set_var("DROVER_CANARY_TOKEN", "ghp_canary");
    let err = Renderer::new(&sources(&[(
        "ci.yml",
        "a: 1\ntoken: {{ get_env(name=\"DROVER_CANARY_TOKEN\") }}\n",
    )]))
    .err()
    .expect("get_env is refused when loading");
    assert_eq!((err.file.as_str(), err.line), ("templates/ci.yml", 2));
    assert!(err.message.contains("cannot read the environment"), "{err}");
    assert!(!err.to_string().contains("ghp_canary"));
    // Even out of reach of the load check, the function itself refuses.
    let mut tera = tera::Tera::default();
    guard::install(&mut tera);
    tera.add_raw_template("t", "{{ get_env(name=\"DROVER_CANARY_TOKEN\") }}")
        .unwrap();
    let err = tera.render("t", &tera::Context::new()).unwrap_err();
    assert!(!format!("{err:?}").contains("ghp_canary"));
    // Other functions than range and throw are refused too.
    let err = Renderer::new(&sources(&[("t", "{{ now() }}")]))
        .err()
        .unwrap();
    assert!(
        err.message.contains("function `now` is not available"),
        "{err}"
    );
}

#[test]
fn include_and_macro_cycles_are_refused_with_their_chain() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("a", "x {% include \"a\" %}")], "a → a"),
        (
            &[("a", "{% include \"b\" %}"), ("b", "{% include \"a\" %}")],
            "a → b → a",
        ),
        (
            &[(
                "m",
                "{% macro f(n) %}{{ self::f(n=n) }}{% endmacro f %}{{ self::f(n=1) }}",
            )],
            "m (macro f) → m (macro f)",
        ),
        (
            &[
                (
                    "lib",
                    "{% macro f() %}{% include \"user\" %}{% endmacro f %}",
                ),
                ("user", "{% import \"lib\" as lib %}{{ lib::f() }}"),
            ],
            "user",
        ),
    ];
    for (files, chain) in cases {
        let err = Renderer::new(&sources(files)).err().unwrap_or_else(|| {
            panic!("{files:?} should be refused");
        });
        assert!(err.message.contains("without end"), "{err}");
        assert!(err.message.contains(chain), "{chain}: {err}");
    }
    // Includes that do not loop are fine, as are macros calling others.
    let ok = Renderer::new(&sources(&[
        ("a", "{% include \"b\" %}{% include \"b\" %}"),
        ("b", "{% include \"c\" %}"),
        ("c", "{% macro g() %}g{% endmacro g %}{% macro f() %}{{ self::g() }}{% endmacro f %}{{ self::f() }}"),
    ]))
    .unwrap();
    assert_eq!(ok.render("a", &ctx()).unwrap(), "gg\n");
}

#[test]
fn runaway_renderings_fail_within_their_budgets() {
    // Nested deeper than the parser should recurse.
    let deep = format!("{{{{ {}1{} }}}}", "(".repeat(10_000), ")".repeat(10_000));
    let err = Renderer::new(&sources(&[("deep", &deep)])).err().unwrap();
    assert!(err.message.contains("nested more than"), "{err}");
    // A loop over a large range, directly or nested.
    let r = Renderer::new(&sources(&[
        ("big", "{% for i in range(end=100000000) %}x{% endfor %}"),
        (
            "nested",
            "{% for i in range(end=1000) %}{% for j in range(end=1000) %}x{% endfor %}{% endfor %}",
        ),
        ("wide", "{% for i in range(end=2000) %}{{ \"ab\" ~ \"cdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789\" }}{% endfor %}"),
    ]))
    .unwrap();
    for t in ["big", "nested"] {
        let err = r.render(t, &ctx()).unwrap_err();
        assert!(err.message.contains("the budget"), "{t}: {err}");
    }
    let err = r.render("wide", &ctx()).unwrap_err();
    assert!(err.message.contains("more than the"), "{err}");
}

#[test]
fn a_rendering_over_its_time_budget_fails_the_repository() {
    let templates = sources(&[(
        "slow",
        "{% for a in vars.items %}{% for b in vars.items %}{% for c in vars.items %}{% endfor %}{% endfor %}{% endfor %}",
    )]);
    let r = Renderer::new(&templates)
        .unwrap()
        .with_time_budget(std::time::Duration::from_millis(200));
    let policy: Policy = serde_yaml::from_str(
        "language: rust\ndetect: {markers: [Cargo.toml]}\nfiles:\n  - {path: Dockerfile, template: slow, why: w}\n",
    )
    .unwrap();
    let mut slow = ctx();
    slow.vars
        .insert("items".into(), serde_json::json!(vec![0; 300]));
    let started = std::time::Instant::now();
    let err = r
        .desired_files(&policy, CiFlavor::Github, &[], &slow)
        .unwrap_err();
    assert!(err.message.contains("took longer than 200ms"), "{err}");
    // Back at the budget, not when the rendering ends (seconds later);
    // loose, for a loaded machine.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The same templates with little data render as usual (with a budget
    // no loaded machine misses).
    let r = Renderer::new(&templates)
        .unwrap()
        .with_time_budget(std::time::Duration::from_secs(30));
    let mut small = ctx();
    small.vars.insert("items".into(), serde_json::json!([1]));
    let (files, _) = r
        .desired_files(&policy, CiFlavor::Github, &[], &small)
        .unwrap();
    assert_eq!(files.len(), 1);
}
