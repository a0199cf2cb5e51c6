#[test]
fn keeps_digits() {
    assert_eq!(rust_library::slug("Release 2 notes"), "release-2-notes");
}
