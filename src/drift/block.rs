//! Managed blocks: the region between a begin and an end marker line. The
//! splice rewrites only the lines strictly between the markers and keeps
//! every other byte of the file, line endings included.

use crate::config::Markers;

/// A new file holding only the block.
pub fn fresh(markers: &Markers, inner: &str) -> String {
    let mut out = String::new();
    push_block(&mut out, markers, inner, "\n");
    out
}

fn push_block(out: &mut String, markers: &Markers, inner: &str, eol: &str) {
    out.push_str(&markers.begin);
    out.push_str(eol);
    for line in inner.lines() {
        out.push_str(line);
        out.push_str(eol);
    }
    out.push_str(&markers.end);
    out.push_str(eol);
}

/// Replaces the block in `text`, or appends one when the file has none.
/// Unbalanced or repeated markers are an error: guessing could eat the
/// repository's own lines.
pub fn splice(text: &str, markers: &Markers, inner: &str) -> Result<String, String> {
    let eol = if super::is_crlf(text.as_bytes()) {
        "\r\n"
    } else {
        "\n"
    };
    // Byte offsets of each line's start and end (end excludes the break).
    let mut begins = Vec::new();
    let mut ends = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']).trim_end();
        let next = offset + line.len();
        if content.trim_start() == markers.begin.trim() {
            begins.push((offset, next));
        } else if content.trim_start() == markers.end.trim() {
            ends.push((offset, next));
        }
        offset = next;
    }
    match (begins.as_slice(), ends.as_slice()) {
        ([], []) => {
            let mut out = text.to_owned();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(eol);
            }
            push_block(&mut out, markers, inner, eol);
            Ok(out)
        }
        ([(_, body_start)], [(end_start, _)]) if body_start <= end_start => {
            let mut out = String::with_capacity(text.len() + inner.len());
            out.push_str(&text[..*body_start]);
            // An end marker on the file's last line without a newline keeps
            // having none: only the inside is ours.
            for line in inner.lines() {
                out.push_str(line);
                out.push_str(eol);
            }
            out.push_str(&text[*end_start..]);
            Ok(out)
        }
        ([_], [_]) => Err(format!(
            "the end marker `{}` comes before the begin marker `{}`",
            markers.end, markers.begin
        )),
        (b, e) if b.len() > 1 || e.len() > 1 => Err(format!(
            "the managed block's markers appear more than once ({} begin, {} end); keep one block",
            b.len(),
            e.len()
        )),
        (b, _) => Err(format!(
            "only the {} marker of the managed block is present; add `{}` or remove the other",
            if b.is_empty() { "end" } else { "begin" },
            if b.is_empty() {
                &markers.begin
            } else {
                &markers.end
            },
        )),
    }
}
