//! Every rule of `#[plugin]` and `#[plugin_factory]`: one case per rule, each diagnostic
//! pointing at the offending token (checked-in `.stderr` files).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
