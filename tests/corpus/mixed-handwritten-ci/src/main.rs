use std::collections::HashSet;

fn common<'a>(a: &'a str, b: &str) -> Vec<&'a str> {
    let right: HashSet<&str> = b.lines().collect();
    a.lines().filter(|l| right.contains(l)).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: mixed-handwritten-ci FILE FILE");
        std::process::exit(2);
    }
    let a = std::fs::read_to_string(&args[0]).expect("read first file");
    let b = std::fs::read_to_string(&args[1]).expect("read second file");
    for line in common(&a, &b) {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order_of_first() {
        assert_eq!(super::common("b\na\nc", "a\nb"), vec!["b", "a"]);
    }
}
