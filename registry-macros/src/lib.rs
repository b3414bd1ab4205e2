//! The `#[plugin]`, `#[plugin_factory]` and `registry!` macros of module-registry.
//!
//! Use them through `modreg` (or `modreg_core`); this crate is an
//! implementation detail. Each macro runs three steps: `parse` reads the syntax,
//! `validate` applies every rule with an error at the offending token, `expand` writes
//! the table entry.
//!
//! Generated code names the runtime crate by a fixed path, as `linkme` does: each runtime
//! crate re-exports the entry points whose default path is its own name
//! (`::modreg_core` or `::modreg`), and `crate = path` overrides it where the
//! dependency is renamed.

mod dyn_trait;
mod expand;
mod parse;
mod sandboxed;
mod validate;

use proc_macro::TokenStream;

/// The path generated code uses when the attribute has no `crate = ...`.
#[derive(Clone, Copy)]
pub(crate) enum Runtime {
    /// `::modreg_core`.
    Core,
    /// `::modreg`, the facade.
    Facade,
}

/// Registers a struct as a plugin; generated paths start at `::modreg_core`.
///
/// See the `modreg_core` crate for the keys and an example.
#[proc_macro_attribute]
pub fn plugin(args: TokenStream, item: TokenStream) -> TokenStream {
    plugin_with(Runtime::Core, args, item)
}

/// Registers a struct as a plugin; generated paths start at `::modreg`.
///
/// See the `modreg` crate for the keys and an example.
#[proc_macro_attribute]
pub fn facade_plugin(args: TokenStream, item: TokenStream) -> TokenStream {
    plugin_with(Runtime::Facade, args, item)
}

/// Registers a function `fn(&str) -> Result<Box<dyn Plugin>, PluginError>` as a named
/// plugin factory; generated paths start at `::modreg_core`.
#[proc_macro_attribute]
pub fn plugin_factory(args: TokenStream, item: TokenStream) -> TokenStream {
    factory_with(Runtime::Core, args, item)
}

/// `#[plugin_factory]` whose generated paths start at `::modreg`.
#[proc_macro_attribute]
pub fn facade_plugin_factory(args: TokenStream, item: TokenStream) -> TokenStream {
    factory_with(Runtime::Facade, args, item)
}

/// Declares a registry of a trait object type; generated paths start at
/// `::modreg_core`.
#[proc_macro]
pub fn registry(input: TokenStream) -> TokenStream {
    registry_with(Runtime::Core, input)
}

/// `registry!` whose generated paths start at `::modreg`.
#[proc_macro]
pub fn facade_registry(input: TokenStream) -> TokenStream {
    registry_with(Runtime::Facade, input)
}

/// On a trait with native `async fn`s, writes its trait-object form `Dyn<Trait>` (boxed
/// futures) and implements it for every implementation of the trait, so that a registry of
/// `dyn Dyn<Trait>` holds them; each `async fn` of the trait becomes `fn ... -> impl Future +
/// Send`, which implementations still write as `async fn`.
///
/// See the `modreg_core` crate for an example.
#[proc_macro_attribute]
pub fn registry_trait(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    let result = no_arguments(args, "#[registry_trait] takes no arguments")
        .and_then(|()| syn::parse::<syn::ItemTrait>(item))
        .and_then(|item| dyn_trait::expand(&item));
    finish(result, &original)
}

/// On a trait, writes what runs its plugins in the WebAssembly sandbox: a proxy implementing
/// the trait over encoded calls, the guest's dispatch and the trait's fingerprint; generated
/// paths start at `::modreg_core` (with its `sandboxed` feature).
///
/// See `modreg_core::typed_sandbox` for the contract and an example.
#[proc_macro_attribute]
pub fn sandboxed(args: TokenStream, item: TokenStream) -> TokenStream {
    sandboxed_with(Runtime::Core, args, item)
}

/// `#[sandboxed]` whose generated paths start at `::modreg`.
#[proc_macro_attribute]
pub fn facade_sandboxed(args: TokenStream, item: TokenStream) -> TokenStream {
    sandboxed_with(Runtime::Facade, args, item)
}

fn sandboxed_with(runtime: Runtime, args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    let result = no_arguments(args, "#[sandboxed] takes no arguments")
        .and_then(|()| syn::parse::<syn::ItemTrait>(item))
        .and_then(|item| sandboxed::expand(&item, runtime));
    finish(result, &original)
}

/// An attribute that takes none: an error at its first argument otherwise.
fn no_arguments(args: TokenStream, message: &str) -> syn::Result<()> {
    match proc_macro2::TokenStream::from(args).into_iter().next() {
        None => Ok(()),
        Some(first) => Err(syn::Error::new(first.span(), message)),
    }
}

fn plugin_with(runtime: Runtime, args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    let result = syn::parse::<parse::Args>(args)
        .and_then(|args| validate::plugin(args, syn::parse(item)?))
        .map(|plugin| expand::plugin(&plugin, runtime));
    finish(result, &original)
}

fn factory_with(runtime: Runtime, args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    let result = syn::parse::<parse::Args>(args)
        .and_then(|args| validate::factory(args, syn::parse(item)?))
        .map(|factory| expand::factory(&factory, runtime));
    finish(result, &original)
}

fn registry_with(runtime: Runtime, input: TokenStream) -> TokenStream {
    let result = syn::parse::<parse::RegistryDecl>(input)
        .and_then(validate::registry)
        .map(|registry| expand::registry(&registry, runtime));
    finish(result, &proc_macro2::TokenStream::new())
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
