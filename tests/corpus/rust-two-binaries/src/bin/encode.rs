use std::io::Read;

fn main() {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .expect("read stdin");
    println!("{}", rust_two_binaries::encode(input.trim_end()));
}
