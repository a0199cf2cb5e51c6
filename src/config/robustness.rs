//! A bounded fuzz of the configuration loader: the shipped fleet.yaml and
//! policies, mutated deterministically (brackets, indicators, quotes,
//! control characters, `.git` spellings, deep nesting, duplicated lines,
//! cuts), fed through `parse_fleet` and `parse_policy`. Whatever the
//! input, the loader does not panic, answers within a budget, and every
//! refusal is one line that starts with `file:line:column: `.

use std::path::Path;
use std::time::{Duration, Instant};

use super::*;

const SNIPPETS: &[&str] = &[
    "[",
    "{",
    "]",
    "}",
    "- ",
    "? ",
    ": ",
    ":",
    "\n",
    "\n  ",
    "\n    - ",
    "'",
    "\"",
    "\\",
    "#",
    "&a ",
    "*a ",
    "!!str ",
    "!x ",
    "|\n",
    ">-\n",
    "\0",
    "\u{1b}[2J",
    "\r\n",
    "\t",
    "\u{202e}",
    ".GIT/",
    ".git./",
    "git~1/",
    "../",
    "/etc/",
    "HEAD",
    "x.lock",
    "@{",
    "~",
    "%",
    "---\n",
    "...\n",
    "forge:\n",
    "  kind: gitlab\n",
    "  path: r\n",
    "é",
    "\u{feff}",
];

/// A char boundary of `s`, at random.
fn boundary(rng: &mut fastrand::Rng, s: &str) -> usize {
    let mut i = rng.usize(..=s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Deterministic mutations of `text`, `n` of them.
fn mutants(text: &str, seed: u64, n: usize) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = text.to_owned();
        for _ in 0..rng.usize(1..6) {
            match rng.u8(..6) {
                0 | 1 => {
                    let at = boundary(&mut rng, &s);
                    s.insert_str(at, SNIPPETS[rng.usize(..SNIPPETS.len())]);
                }
                2 => {
                    let (a, b) = (boundary(&mut rng, &s), boundary(&mut rng, &s));
                    s.replace_range(a.min(b)..a.max(b), "");
                }
                3 => {
                    let mut lines: Vec<String> = s.lines().map(str::to_owned).collect();
                    if !lines.is_empty() {
                        let i = rng.usize(..lines.len());
                        lines.insert(i, lines[i].clone());
                        s = lines.join("\n");
                    }
                }
                4 => {
                    let open = ["[", "{a: ", "- ", "{", "[ "][rng.usize(..5)];
                    let at = boundary(&mut rng, &s);
                    let times = rng.usize(1..3000);
                    s.insert_str(at, &open.repeat(times));
                }
                _ => {
                    let at = boundary(&mut rng, &s);
                    let c = if rng.bool() {
                        rng.u32(..0x80)
                    } else {
                        rng.u32(0x80..0x3000)
                    };
                    s.insert(at, char::from_u32(c).unwrap_or('?'));
                }
            }
        }
        out.push(s);
    }
    out
}

#[track_caller]
fn assert_located(file: &str, err: &ConfigError, input: &str) {
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{file}:")) && err.line >= 1 && err.column >= 1,
        "{text}\n--- input ---\n{input:.400}"
    );
    assert!(!text.contains(['\n', '\r', '\u{1b}', '\0']), "{text:?}");
}

#[test]
fn mutated_configuration_never_panics_and_is_refused_with_its_location() {
    let fleet = include_str!("../../fleet.yaml");
    let policies = [
        ("go", include_str!("../../policies/go.yaml")),
        ("node", include_str!("../../policies/node.yaml")),
        ("python", include_str!("../../policies/python.yaml")),
        ("rust", include_str!("../../policies/rust.yaml")),
    ];
    let templates = embedded_templates();
    let budget = Duration::from_secs(1);
    let (mut tried, mut refused, mut slowest) = (0, 0, Duration::ZERO);
    let mut check = |file: &str, input: &str, parse: &dyn Fn(&str) -> Result<(), ConfigError>| {
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(input)));
        let took = started.elapsed();
        slowest = slowest.max(took);
        assert!(took < budget, "{took:?} for\n{input:.400}");
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                assert_located(file, &e, input);
                refused += 1;
            }
            Err(_) => panic!("the loader panicked on\n{input:.400}"),
        }
        tried += 1;
    };
    for input in mutants(fleet, 17, 1500) {
        check("fleet.yaml", &input, &|t| {
            parse_fleet(Path::new("fleet.yaml"), t).map(|_| ())
        });
    }
    for (k, (language, text)) in policies.iter().enumerate() {
        let file = format!("policies/{language}.yaml");
        for input in mutants(text, 100 + k as u64, 400) {
            check(&file, &input, &|t| {
                parse_policy(Path::new(&file), t, &templates).map(|_| ())
            });
        }
    }
    eprintln!(
        "configuration fuzz: {tried} inputs tried, {refused} refused with file:line, 0 panics, slowest {slowest:?}"
    );
    assert_eq!(tried, 1500 + 4 * 400);
    assert!(
        refused > tried / 3,
        "the mutations do break files: {refused}"
    );
}
