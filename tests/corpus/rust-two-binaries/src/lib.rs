/// Run-length encodes `s`.
///
/// ```
/// assert_eq!(rust_two_binaries::encode("aaab"), "3a1b");
/// ```
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let mut n = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            n += 1;
        }
        out.push_str(&format!("{n}{c}"));
    }
    out
}

/// Reverses [`encode`].
pub fn decode(s: &str) -> String {
    let mut out = String::new();
    let mut n = 0usize;
    for c in s.chars() {
        match c.to_digit(10) {
            Some(d) => n = n * 10 + d as usize,
            None => {
                out.extend(std::iter::repeat(c).take(n));
                n = 0;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        assert_eq!(
            super::decode(&super::encode("zzzzzzzzzzzy")),
            "zzzzzzzzzzzy"
        );
    }
}
