//! The `#[plugin]` and `#[plugin_factory]` attributes of module-registry.
//!
//! Use them through `module_registry` (or `module_registry_core`); this crate is an
//! implementation detail. Each attribute runs three steps: `parse` reads the syntax,
//! `validate` applies every rule with an error at the offending token, `expand` writes
//! the table entry.

mod expand;
mod parse;
mod validate;

use proc_macro::TokenStream;

/// Registers a struct as a plugin in the binary's link-time plugin table.
///
/// See the `module_registry` crate for the keys and an example.
#[proc_macro_attribute]
pub fn plugin(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    let result = syn::parse::<parse::Args>(args)
        .and_then(|args| validate::plugin(args, syn::parse(item)?))
        .map(|plugin| expand::plugin(&plugin));
    finish(result, &original)
}

/// Registers a function `fn(&str) -> Result<Box<dyn Plugin>, PluginError>` as a named
/// plugin factory.
///
/// See the `module_registry` crate for the keys and an example.
#[proc_macro_attribute]
pub fn plugin_factory(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    let result = syn::parse::<parse::Args>(args)
        .and_then(|args| validate::factory(args, syn::parse(item)?))
        .map(|factory| expand::factory(&factory));
    finish(result, &original)
}

/// On error, the error and the item unchanged, so that one mistake is one diagnostic.
fn finish(
    result: syn::Result<proc_macro2::TokenStream>,
    original: &proc_macro2::TokenStream,
) -> TokenStream {
    match result {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let error = error.to_compile_error();
            quote::quote!(#error #original).into()
        }
    }
}
