//! Every rule of `#[plugin]`, `#[plugin_factory]` and `registry!`: one case per rule, each
//! diagnostic pointing at the offending token (checked-in `.stderr` files). Native only: the
//! cases run rustc.
#![cfg(not(target_family = "wasm"))]

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
