use std::io::Read;

fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn main() {
    let mut total = 0;
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .expect("read stdin");
        total = count_words(&text);
    }
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(1)
        });
        total += count_words(&text);
    }
    println!("{total}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts() {
        assert_eq!(super::count_words(" one two\nthree "), 3);
    }
}
