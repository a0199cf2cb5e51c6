fn main() {
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "world".to_owned());
    println!("hello, {name}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn runs() {
        assert_eq!(2 + 2, 4);
    }
}
