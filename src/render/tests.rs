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
        repo: RepoFacts {
            name: "api".into(),
            full_name: "acme/api".into(),
            language: "rust".into(),
            default_branch: "main".into(),
            image: "ghcr.io/acme/api".into(),
        },
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
