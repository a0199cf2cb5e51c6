//! What a service's own source says about how it serves: the port it
//! listens on, a health route, HTTP or raw TCP. Read from the entry
//! sources the language readers find (a binary's `main.rs`, a Go main
//! package, the Node start file, the Python application module), by
//! patterns that real services use; what no pattern finds stays unknown.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// How a service is reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceFacts {
    /// The port the entry source listens on by default, if it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// A health route the entry source serves, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_path: Option<String>,
    /// `http`, or `tcp` for a raw listener.
    pub protocol: String,
    /// The sources read.
    pub sources: Vec<String>,
}

/// Routes that are health checks, most specific first.
const HEALTH: &[&str] = &[
    "/healthz",
    "/livez",
    "/readyz",
    "/health",
    "/healthcheck",
    "/_health",
    "/status",
    "/ping",
];

static PORT_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // env PORT with a default: Rust unwrap_or("8080"), Node
        // `process.env.PORT || 3000` / `?? 3000`, Python
        // `os.environ.get("PORT", "5000")`, Go `getenv("PORT") … "8080"`.
        r#"PORT["'`)\]]?[^\n;]{0,80}?(?:\|\||\?\?|unwrap_or[_a-z]*\(|,|"|')\s*[|&(:"'\s]*:?([0-9]{2,5})\b"#,
        // A literal address: ":8080", "0.0.0.0:3000", "127.0.0.1:3000",
        // "[::]:8080", "localhost:8000".
        r#"["'](?:0\.0\.0\.0|127\.0\.0\.1|localhost|\[::\]|::)?:([0-9]{2,5})["']"#,
        // Keyword arguments and calls: port=8000, port: 3000,
        // .listen(3000, .bind(("0.0.0.0", 8080)).
        r#"(?i)\bport\s*[=:]\s*["']?:?([0-9]{2,5})\b"#,
        // clap and similar: `#[arg(long, env = "PORT", default_value_t = 8080)] port: u16`.
        r#"(?i)port[^\n]{0,60}default_value(?:_t)?\s*=\s*"?([0-9]{2,5})"#,
        r#"default_value(?:_t)?\s*=\s*"?([0-9]{2,5})"?\s*\)\]\s*(?:pub\s+)?port\b"#,
        // SocketAddr::from(([0, 0, 0, 0], 3000)).
        r#"\[\s*0\s*,\s*0\s*,\s*0\s*,\s*0\s*\]\s*,\s*([0-9]{2,5})"#,
        r#"\.listen\(\s*([0-9]{2,5})\b"#,
        r#"\(\s*["'][0-9.:\[\]a-z]*["']\s*,\s*([0-9]{2,5})\s*\)"#,
    ]
    .iter()
    .map(|p| Regex::new(p).expect("patterns compile"))
    .collect()
});

static QUOTED_ROUTE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"["'`](/[A-Za-z_]+)["'`]"#).expect("pattern compiles"));

/// What the sources say; `tcp` is the caller's to decide.
pub fn read(sources: &[(String, String)], protocol: &str) -> ServiceFacts {
    let mut facts = ServiceFacts {
        protocol: protocol.to_owned(),
        sources: sources.iter().map(|(p, _)| p.clone()).collect(),
        ..ServiceFacts::default()
    };
    for (_, text) in sources {
        let code = strip_comments(text);
        if facts.port.is_none() {
            facts.port = PORT_PATTERNS
                .iter()
                .find_map(|re| re.captures(&code)?.get(1)?.as_str().parse().ok())
                .filter(|p: &u16| *p >= 80);
        }
        if facts.health_path.is_none() && protocol == "http" {
            let routes: Vec<&str> = QUOTED_ROUTE
                .captures_iter(&code)
                .filter_map(|c| c.get(1).map(|m| m.as_str()))
                .collect();
            facts.health_path = HEALTH
                .iter()
                .find(|h| routes.contains(h))
                .map(|h| (*h).to_owned());
        }
    }
    facts
}

/// The first `EXPOSE` of a Dockerfile: where the repository's own image
/// says it listens, when its sources do not.
pub fn exposed(dockerfile: &str) -> Option<u16> {
    dockerfile.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("EXPOSE ")?;
        rest.split_whitespace()
            .next()?
            .split('/')
            .next()?
            .parse()
            .ok()
    })
}

/// Drops `//` and `#` line comments (not inside quotes, roughly), so that
/// a commented-out address is not taken for the real one.
fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") || trimmed.starts_with('#') {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> ServiceFacts {
        read(&[("main".into(), text.into())], "http")
    }

    #[test]
    fn ports_and_health_routes_from_common_shapes() {
        let cases: &[(&str, Option<u16>, Option<&str>)] = &[
            (
                r#"let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
                   let app = Router::new().route("/livez", get(ok));"#,
                Some(8080),
                Some("/livez"),
            ),
            (
                r#"TcpListener::bind("0.0.0.0:3000").await"#,
                Some(3000),
                None,
            ),
            (
                r#"const port = process.env.PORT || 3000;"#,
                Some(3000),
                None,
            ),
            (
                r#"const port = Number(process.env.PORT ?? 3000)"#,
                Some(3000),
                None,
            ),
            (
                r#"app.run(port=int(os.environ.get("PORT", "5000")))"#,
                Some(5000),
                None,
            ),
            (
                r#"addr := ":9000"
                http.HandleFunc("/healthz", h)"#,
                Some(9000),
                Some("/healthz"),
            ),
            (
                r#"uvicorn.run(app, host="0.0.0.0", port=8000)"#,
                Some(8000),
                None,
            ),
            (
                r#"// listen(":1234")
                fmt.Println("no port")"#,
                None,
                None,
            ),
        ];
        for (text, port, health) in cases {
            let f = one(text);
            assert_eq!(f.port, *port, "{text}");
            assert_eq!(f.health_path.as_deref(), *health, "{text}");
        }
    }
}
