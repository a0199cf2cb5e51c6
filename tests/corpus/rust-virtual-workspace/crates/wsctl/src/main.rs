fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| ".env".into());
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    for (key, value) in wscore::parse(&text) {
        println!("{key}\t{value}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uses_core() {
        assert_eq!(wscore::parse("x=y").len(), 1);
    }
}
