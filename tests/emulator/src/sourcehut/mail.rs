//! Just enough RFC 5322 / MIME to read patch mail the way lists.sr.ht
//! does: unfolded headers, RFC 2047 encoded words, addresses, message ids,
//! the `Date` header, and the text/plain body (quoted-printable and base64
//! decoded, first text/plain part of a multipart message).

use base64::Engine;

/// A parsed message; the raw bytes stay with the world's `Mail`.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// Headers in order, names as sent, values unfolded (not decoded).
    pub headers: Vec<(String, String)>,
    /// The decoded text/plain body.
    pub body: String,
}

impl Parsed {
    pub fn parse(raw: &[u8]) -> Parsed {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = split_head(&text);
        let headers = unfold(head);
        let body = text_body(&headers, body);
        Parsed { headers, body }
    }

    /// Every value of header `name` (case-insensitive), unfolded.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of header `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }

    /// A header with RFC 2047 encoded words decoded.
    pub fn decoded(&self, name: &str) -> Option<String> {
        self.get(name).map(decode_words)
    }
}

fn split_head(text: &str) -> (&str, &str) {
    let crlf = text.find("\r\n\r\n").map(|i| (i, i + 4));
    let lf = text.find("\n\n").map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) if b.0 < a.0 => (&text[..b.0], &text[b.1..]),
        (Some(a), _) => (&text[..a.0], &text[a.1..]),
        (None, Some(b)) => (&text[..b.0], &text[b.1..]),
        (None, None) => (text, ""),
    }
}

/// RFC 5322 unfolding: a line starting with white space continues the
/// previous header (the line break is removed, the white space kept).
fn unfold(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push_str(line);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim_start().to_string()));
        }
    }
    for (_, v) in &mut out {
        *v = v.trim().to_string();
    }
    out
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The value of a `Content-Type` parameter (`boundary`, `charset`).
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

fn text_body(headers: &[(String, String)], body: &str) -> String {
    let ctype = header(headers, "Content-Type").unwrap_or("text/plain");
    let mime = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime.starts_with("multipart/") {
        let Some(boundary) = param(ctype, "boundary") else {
            return String::new();
        };
        let delimiter = format!("--{boundary}");
        for part in body.split(delimiter.as_str()).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part.trim_start_matches(['\r', '\n']);
            let (head, content) = split_head(part);
            let part_headers = unfold(head);
            let part_type = header(&part_headers, "Content-Type").unwrap_or("text/plain");
            if part_type.to_ascii_lowercase().starts_with("text/plain") {
                return text_body(&part_headers, content);
            }
        }
        return String::new();
    }
    let encoding = header(headers, "Content-Transfer-Encoding")
        .unwrap_or("8bit")
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => quoted_printable(body.as_bytes(), false),
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .unwrap_or_default(),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Decodes quoted-printable; `q` selects RFC 2047's Q variant (`_` is space).
fn quoted_printable(input: &[u8], q: bool) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'=' if input.get(i + 1) == Some(&b'\r') => {
                i += if input.get(i + 2) == Some(&b'\n') {
                    3
                } else {
                    2
                };
            }
            b'=' if input.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' => match (
                input.get(i + 1).and_then(|b| hex(*b)),
                input.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                }
                _ => {
                    out.push(b'=');
                    i += 1;
                }
            },
            b'_' if q => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?UTF-8?q?…?=`, `=?utf-8?b?…?=`);
/// white space between two encoded words is dropped. Charsets other than
/// UTF-8 are read as Latin-1 (enough for what `git format-patch` emits).
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, from) = rest.split_at(start);
        let decoded = decode_word(from);
        match decoded {
            Some((text, len)) => {
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &from[len..];
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &from[2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One encoded word at the start of `s`: its text and its length.
fn decode_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let payload = &inner[..end];
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    let bytes = match encoding {
        "q" | "Q" => quoted_printable(payload.as_bytes(), true),
        "b" | "B" => base64::engine::general_purpose::STANDARD
            .decode(payload)
            .ok()?,
        _ => return None,
    };
    let charset = charset.split('*').next().unwrap_or(charset);
    let text = if charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("us-ascii")
    {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        bytes.iter().map(|b| *b as char).collect()
    };
    Some((text, len))
}

/// One mailbox of an address header: display name (decoded) and address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mailbox {
    pub name: String,
    pub address: String,
}

/// Parses an address list (`To`, `Cc`, `From`). Quoted display names may
/// contain commas.
pub fn addresses(value: &str) -> Vec<Mailbox> {
    let mut items = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut angle) = (false, false);
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|item| match (item.rfind('<'), item.rfind('>')) {
            (Some(a), Some(b)) if a < b => Mailbox {
                name: decode_words(item[..a].trim().trim_matches('"')),
                address: item[a + 1..b].trim().to_string(),
            },
            _ => Mailbox {
                name: String::new(),
                address: item.to_string(),
            },
        })
        .collect()
}

/// The message ids in a `Message-ID`, `In-Reply-To` or `References`
/// header, without angle brackets; obsolete comments (`(…)`) are ignored.
pub fn message_ids(value: &str) -> Vec<String> {
    let without_comments: String = {
        let mut depth = 0;
        value
            .chars()
            .filter(|c| match c {
                '(' => {
                    depth += 1;
                    false
                }
                ')' => {
                    depth -= 1;
                    false
                }
                _ => depth == 0,
            })
            .collect()
    };
    let ids: Vec<String> = without_comments
        .split('<')
        .skip(1)
        .filter_map(|s| s.split_once('>').map(|(id, _)| id.trim().to_string()))
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() && !without_comments.trim().is_empty() {
        return vec![without_comments.trim().to_string()];
    }
    ids
}

/// Parses an RFC 5322 date (`Mon, 2 Jan 2006 15:04:05 -0700`) to epoch
/// seconds.
pub fn parse_date(value: &str) -> Option<i64> {
    let value = value.split_once(',').map_or(value, |(_, rest)| rest);
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [day, month, year, time, zone, ..] = parts.as_slice() else {
        return None;
    };
    let day: i64 = day.parse().ok()?;
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let month = MONTHS
        .iter()
        .position(|m| month.to_ascii_lowercase().starts_with(m))? as i64
        + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    let (h, m, s) = (hms[0], *hms.get(1)?, hms.get(2).copied().unwrap_or(0));
    let offset = match zone.as_bytes().first() {
        Some(b'+' | b'-') if zone.len() == 5 => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let hh: i64 = zone[1..3].parse().ok()?;
            let mm: i64 = zone[3..5].parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
        _ => 0,
    };
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Whether a body carries a unified diff (what makes a mail a patch).
pub fn has_diff(body: &str) -> bool {
    let lines: Vec<&str> = body.lines().collect();
    lines.iter().enumerate().any(|(i, l)| {
        l.starts_with("--- ")
            && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ "))
            && lines.get(i + 2).is_some_and(|n| n.starts_with("@@ "))
    }) || lines.iter().any(|l| l.starts_with("diff --git "))
        && lines.iter().any(|l| {
            l.starts_with("@@ ")
                || l.starts_with("GIT binary patch")
                || l.starts_with("rename from ")
                || l.starts_with("deleted file mode ")
                || l.starts_with("new file mode ")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_unfold_and_decode() {
        let raw = b"From: =?UTF-8?q?J=C3=BCrgen?= <j@example.org>\r\nSubject: [PATCH repo 1/2] a long\r\n subject line\r\nMessage-ID: <abc@x>\r\nIn-Reply-To: <p@x> (obsolete comment)\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nb=C3=A4r\r\nsoft=\r\nbreak\r\n";
        let p = Parsed::parse(raw);
        assert_eq!(
            p.decoded("subject").unwrap(),
            "[PATCH repo 1/2] a long subject line"
        );
        let from = addresses(&p.decoded("From").unwrap());
        assert_eq!(from[0].name, "Jürgen");
        assert_eq!(from[0].address, "j@example.org");
        assert_eq!(message_ids(p.get("message-id").unwrap()), ["abc@x"]);
        assert_eq!(message_ids(p.get("in-reply-to").unwrap()), ["p@x"]);
        assert_eq!(p.body, "bär\r\nsoftbreak\r\n");
        assert_eq!(decode_words("=?utf-8?b?w6Q=?= =?utf-8?q?b?= c"), "äb c");
        assert_eq!(
            addresses("\"Doe, J\" <j@d>, x@y")
                .iter()
                .map(|m| m.address.as_str())
                .collect::<Vec<_>>(),
            ["j@d", "x@y"]
        );
    }

    #[test]
    fn dates_and_diffs() {
        assert_eq!(parse_date("Thu, 1 Jan 1970 01:00:00 +0100"), Some(0));
        assert_eq!(
            parse_date("Sat, 24 Sep 2005 20:47:55 +0100"),
            Some(1127591275)
        );
        assert!(has_diff(
            "msg\n---\n a | 1 +\n\ndiff --git a/a b/a\n--- a/a\n+++ b/a\n@@ -1 +1 @@\n-x\n+y\n"
        ));
        assert!(!has_diff("Cover letter\n\n a | 1 +\n"));
    }
}
