//! A bounded fuzz of templates: the shipped templates, mutated
//! deterministically with Tera syntax (unclosed and nested tags, includes
//! of themselves and of each other, macro calls, `get_env`, huge ranges,
//! deep brackets, cuts), each compiled and rendered for every shipped
//! policy and forge as `drover check` does. Whatever the input: no panic,
//! no stack overflow, every rendering back within its budget, and every
//! refusal one line naming a template (`templates/…:line: `). Rendering
//! writes nothing anywhere: it is pure.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{guard, sample_file_sets, Renderer};
use crate::config::{parse_policies, TemplateSources};
use crate::model::{CiFlavor, ForgeKind};

const SNIPPETS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{% if x %}",
    "{% endif %}",
    "{% for i in range(end=100000000) %}x{% endfor %}",
    "{% for a in range(end=1000) %}{% for b in range(end=1000) %}.{% endfor %}{% endfor %}",
    "{% include \"rust/Dockerfile\" %}",
    "{% include \"common/k8s/deployment.yaml\" %}",
    "{{ get_env(name=\"HOME\") }}",
    "{{ now() }}",
    "{{ misfit(reason=\"fuzz\") }}",
    "{% macro m() %}{{ self::m() }}{% endmacro m %}{{ self::m() }}",
    "{{ vars.nope }}",
    "{% raw %}",
    "{% endraw %}",
    "{{ repo.facts.rust.bins | join(sep=\",\") }}",
    "\u{0}",
    "é",
];

fn shipped() -> (TemplateSources, Vec<(std::path::PathBuf, String)>) {
    let mut templates = BTreeMap::new();
    let mut policies = Vec::new();
    for (path, bytes) in crate::config::embedded_defaults() {
        let text = String::from_utf8_lossy(bytes).into_owned();
        if let Some(name) = path.strip_prefix("templates/") {
            templates.insert(name.to_owned(), text);
        } else {
            policies.push((std::path::PathBuf::from(&path), text));
        }
    }
    (
        TemplateSources {
            files: templates,
            origin: "templates".into(),
        },
        policies,
    )
}

fn boundary(rng: &mut fastrand::Rng, s: &str) -> usize {
    let mut i = rng.usize(..=s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[test]
fn mutated_templates_never_panic_hang_or_escape_their_budgets() {
    let (sources, policy_texts) = shipped();
    let names: Vec<String> = sources.files.keys().cloned().collect();
    let mut rng = fastrand::Rng::with_seed(0x5eed_7e3a);
    let forge_for = |ci: CiFlavor| crate::render::ForgeFacts {
        kind: ForgeKind::Github,
        ci,
        host: "forge.example".into(),
        owner: "acme".into(),
        url: "https://forge.example".into(),
        registry: "registry.example/acme".into(),
        ci_path: ci.ci_path().into(),
    };
    let (mut tried, mut refused, mut rendered) = (0, 0, 0);
    for _ in 0..120 {
        let mut mutated = sources.clone();
        for _ in 0..rng.usize(1..4) {
            let name = &names[rng.usize(..names.len())];
            let text = mutated.files.get_mut(name).expect("a template");
            match rng.u8(..4) {
                0 | 1 => {
                    let at = boundary(&mut rng, text);
                    text.insert_str(at, SNIPPETS[rng.usize(..SNIPPETS.len())]);
                }
                2 => {
                    let (a, b) = (boundary(&mut rng, text), boundary(&mut rng, text));
                    text.replace_range(a.min(b)..a.max(b), "");
                }
                _ => {
                    let at = boundary(&mut rng, text);
                    let depth = rng.usize(1..5000);
                    text.insert_str(
                        at,
                        &format!("{{{{ {}1{} }}}}", "(".repeat(depth), ")".repeat(depth)),
                    );
                }
            }
        }
        tried += 1;
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(|| {
            let renderer = Renderer::new(&mutated)?.with_time_budget(Duration::from_secs(2));
            let policies =
                parse_policies(policy_texts.clone(), &mutated).map_err(|e| super::RenderError {
                    file: e.file.clone(),
                    line: e.line,
                    message: e.message.clone(),
                })?;
            sample_file_sets(&renderer, &policies, forge_for, &BTreeMap::new()).map(|_| ())
        });
        let Ok(result) = outcome else {
            panic!("a mutated template panicked drover");
        };
        // Compiling plus every policy × forge within their budgets (each
        // repository's rendering has its own time budget).
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "took {:?}",
            started.elapsed()
        );
        match result {
            Ok(()) => rendered += 1,
            Err(e) => {
                refused += 1;
                let text = e.to_string();
                assert!(
                    (text.starts_with("templates/") || text.starts_with("policies/"))
                        && e.line >= 1,
                    "{text}"
                );
                assert!(!text.contains('\u{0}'), "{text:?}");
            }
        }
    }
    eprintln!("templates fuzzed: {tried} tried, {refused} refused with file:line, {rendered} rendered, 0 panics");
    assert_eq!(tried, refused + rendered);
    assert!(refused > 0 && rendered > 0);
    let _ = guard::RANGE_BUDGET;
}
