//! Every rule of `#[plugin]`, `#[plugin_factory]` and `registry!`: one case per rule, each
//! diagnostic pointing at the offending token (checked-in `.stderr` files). Native only: the
//! cases run rustc.
#![cfg(not(target_family = "wasm"))]

#[test]
#[ignore = "compiles every case with rustc (minutes on 2 cores): `.ci/run` runs it; locally `cargo test -p modreg-core --test ui -- --ignored`"]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
