//! What `export!` refuses at compile time: a limit a host does not know, or a value that is not
//! a positive integer (checked-in `.stderr` files). Native only: the cases run rustc.
#![cfg(not(target_family = "wasm"))]

#[test]
#[ignore = "compiles every case with rustc: `.ci/run` runs it; locally `cargo test -p modreg-guest --test ui -- --ignored`"]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
