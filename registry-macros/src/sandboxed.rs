//! `#[sandboxed]`: a user's trait whose plugins may also run in the WebAssembly sandbox.
//!
//! On the trait the attribute writes (see `modreg_core::typed_sandbox` for the contract):
//!
//! - a proxy implementing the trait, each method an encoded call through a `TypedCall`;
//! - `impl SandboxedTrait for dyn Trait` (or `dyn DynTrait` under `#[registry_trait]`): the
//!   trait's name, its fingerprint, its methods' names, the proxy's constructor and the
//!   guest's dispatch.
//!
//! Every method takes `&self`, has no type parameter and returns `Result<T, E>` (an `async
//! fn` too, under `#[async_trait]` or `#[registry_trait]`): each rule is an error at the
//! offending token.

use std::fmt::Write as _;

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, ItemTrait, Pat, PathArguments, ReturnType, TraitItem, TraitItemFn, Type,
};

use crate::Runtime;

/// How the trait's `async fn`s become a trait object.
enum Asyncness {
    /// No `async fn`, no attribute for them.
    None,
    /// `#[async_trait]`: the trait object is `dyn Trait`; the proxy's impl carries the same
    /// attribute.
    AsyncTrait(Box<syn::Attribute>),
    /// `#[registry_trait]`: the trait object is `dyn DynTrait`; the proxy implements the
    /// native trait (its `async fn`s), which makes it a `DynTrait`.
    RegistryTrait,
}

/// One method, as the proxy and the dispatch need it.
struct Method<'a> {
    item: &'a TraitItemFn,
    /// Each argument's type, in order (without `self`).
    arguments: Vec<&'a Type>,
    /// The declared result, `Result<T, E>`.
    output: &'a Type,
    /// Its `E`.
    error: &'a Type,
}

/// Checks `item` and writes it with its proxy and its ABI.
pub fn expand(item: &ItemTrait, runtime: Runtime) -> syn::Result<TokenStream> {
    let asyncness = asyncness(item);
    let methods = check(item, &asyncness)?;
    let p = match runtime {
        Runtime::Core => quote!(::modreg_core::__private_0_1_0),
        Runtime::Facade => quote!(::modreg::__private_0_1_0),
    };
    let ident = &item.ident;
    let trait_name = ident.to_string();
    let object = if let Asyncness::RegistryTrait = asyncness {
        let dyn_ident = format_ident!("Dyn{}", ident);
        quote!(dyn #dyn_ident)
    } else {
        quote!(dyn #ident)
    };
    let impl_attr = match &asyncness {
        Asyncness::AsyncTrait(attr) => Some(&**attr),
        _ => None,
    };
    let fingerprint = fingerprint(&trait_name, &methods);
    let names: Vec<String> = methods
        .iter()
        .map(|m| m.item.sig.ident.to_string())
        .collect();
    let count = methods.len();
    let proxies = methods
        .iter()
        .enumerate()
        .map(|(i, m)| proxy_method(&p, i, m));
    let arms = methods.iter().enumerate().map(|(i, m)| dispatch_arm(i, m));
    Ok(quote! {
        #item

        const _: () = {
            use #p::typed_encoding as __modreg_encoding;

            /// The host's side of a sandboxed plugin: each method runs in the guest.
            struct __ModregProxy(#p::Box<dyn #p::TypedCall>);

            impl ::core::fmt::Debug for __ModregProxy {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_tuple(#trait_name).field(&self.0.plugin_name()).finish()
                }
            }

            #impl_attr
            impl #ident for __ModregProxy {
                #(#proxies)*
            }

            impl #p::SandboxedTrait for #object {
                const TRAIT_NAME: &'static str = #trait_name;
                const FINGERPRINT: &'static str = #fingerprint;
                const METHODS: &'static [&'static str] = &[#(#names),*];

                fn proxy(call: #p::Box<dyn #p::TypedCall>) -> #p::Box<Self> {
                    #p::Box::new(__ModregProxy(call))
                }

                fn dispatch(
                    &self,
                    method: u32,
                    arguments: &[u8],
                ) -> #p::Result<#p::Dispatched, #p::PluginError> {
                    match method {
                        #(#arms)*
                        _ => #p::Result::Err(__modreg_encoding::no_method(#trait_name, method, #count)),
                    }
                }
            }
        };
    })
}

fn last_segment_is(path: &syn::Path, name: &str) -> bool {
    path.segments.last().is_some_and(|s| s.ident == name)
}

fn asyncness(item: &ItemTrait) -> Asyncness {
    for attr in &item.attrs {
        if last_segment_is(attr.path(), "async_trait") {
            return Asyncness::AsyncTrait(Box::new(attr.clone()));
        }
        if last_segment_is(attr.path(), "registry_trait") {
            return Asyncness::RegistryTrait;
        }
    }
    Asyncness::None
}

/// Every rule, each broken one an error at its token; the methods when none is.
fn check<'a>(item: &'a ItemTrait, asyncness: &Asyncness) -> syn::Result<Vec<Method<'a>>> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |error: syn::Error| match &mut errors {
        Some(all) => all.combine(error),
        None => errors = Some(error),
    };
    if let Some(param) = item.generics.params.first() {
        push(syn::Error::new_spanned(
            param,
            "a #[sandboxed] trait cannot be generic: its guests are built for one set of types",
        ));
    }
    let mut methods = Vec::new();
    for trait_item in &item.items {
        match trait_item {
            TraitItem::Fn(method) => match check_method(method, asyncness) {
                Ok(method) => methods.push(method),
                Err(error) => push(error),
            },
            TraitItem::Type(ty) => push(syn::Error::new_spanned(
                &ty.ident,
                "a #[sandboxed] trait cannot have an associated type: a trait object has to name it",
            )),
            TraitItem::Const(constant) => push(syn::Error::new_spanned(
                &constant.ident,
                "a #[sandboxed] trait cannot have an associated constant: make it a method",
            )),
            _ => {}
        }
    }
    match errors {
        Some(errors) => Err(errors),
        None => Ok(methods),
    }
}

fn check_method<'a>(method: &'a TraitItemFn, asyncness: &Asyncness) -> syn::Result<Method<'a>> {
    let sig = &method.sig;
    if let Some(param) = crate::dyn_trait::type_parameter(sig) {
        return Err(syn::Error::new_spanned(
            param,
            format!(
                "`{}` is generic: a sandboxed method has one signature, which its guests are built for",
                sig.ident
            ),
        ));
    }
    if sig.asyncness.is_some() && matches!(asyncness, Asyncness::None) {
        return Err(syn::Error::new_spanned(
            sig.asyncness,
            "an `async fn` of a #[sandboxed] trait needs the trait to be a trait object: put #[sandboxed] above #[registry_trait] (or #[async_trait])",
        ));
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver))
            if matches!(receiver.kind, syn::ReceiverKind::Reference(_, _, None)) => {}
        Some(FnArg::Receiver(receiver)) => {
            return Err(syn::Error::new_spanned(
                receiver,
                format!(
                    "`{}` must take `&self`: a sandboxed plugin is shared by its callers",
                    sig.ident
                ),
            ));
        }
        _ => {
            return Err(syn::Error::new_spanned(
                &sig.ident,
                format!(
                    "`{}` has no `self`: a trait object cannot call it",
                    sig.ident
                ),
            ));
        }
    }
    let arguments = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            FnArg::Typed(typed) => Some(&*typed.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let not_result = || {
        syn::Error::new(
            match &sig.output {
                ReturnType::Default => sig.ident.span(),
                ReturnType::Type(_, ty) => ty.span(),
            },
            format!(
                "`{}` must return `Result<T, E>` with `E: From<PluginError>`: a guest can fail (a trap, its fuel, memory or time) where a native call cannot",
                sig.ident
            ),
        )
    };
    let ReturnType::Type(_, output) = &sig.output else {
        return Err(not_result());
    };
    let error = result_error(output).ok_or_else(not_result)?;
    Ok(Method {
        item: method,
        arguments,
        output,
        error,
    })
}

/// `E` of a `Result<T, E>`.
fn result_error(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|a| match a {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let _ok = types.next()?;
    let error = types.next()?;
    types.next().is_none().then_some(error)
}

/// FNV-1a (64 bits) of everything a guest and a host must agree on: the trait's name and each
/// method's name, argument types and result type, as written, in order.
fn fingerprint(trait_name: &str, methods: &[Method<'_>]) -> String {
    let mut text = format!("{trait_name}{{");
    for m in methods {
        let sig = &m.item.sig;
        let arguments = &m.arguments;
        let output = m.output;
        let asyncness = if sig.asyncness.is_some() {
            "async "
        } else {
            ""
        };
        let _ = write!(
            text,
            "{asyncness}fn {}({}) -> {};",
            sig.ident,
            quote!(#(#arguments),*),
            quote!(#output),
        );
    }
    text.push('}');
    // FNV-1a: a dependency-free hash is enough here, as no adversary picks the input (the
    // trait's author does); the fingerprint guards against drift, not forgery.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The type an argument is decoded as in the guest: `&X` as `X`'s owned form.
fn decoded(ty: &Type) -> TokenStream {
    match ty {
        Type::Reference(reference) => {
            let inner = &reference.elem;
            quote!(<#inner as ::std::borrow::ToOwned>::Owned)
        }
        other => quote!(#other),
    }
}

/// The proxy's method `i`: the trait's signature, its arguments encoded and sent.
fn proxy_method(p: &TokenStream, i: usize, m: &Method<'_>) -> TokenStream {
    let mut sig = m.item.sig.clone();
    let mut names = Vec::new();
    for (n, input) in sig.inputs.iter_mut().enumerate() {
        if let FnArg::Typed(typed) = input {
            let name = format_ident!("__modreg_arg{}", n);
            *typed.pat = Pat::Ident(syn::PatIdent {
                attrs: Vec::new(),
                by_ref: None,
                mutability: None,
                ident: name.clone(),
                subpat: None,
            });
            names.push(name);
        }
    }
    let output = m.output;
    let error = m.error;
    let index = u32::try_from(i).unwrap_or(u32::MAX);
    // The conversion's error points at the method's `E` when it lacks `From<PluginError>`.
    let convert =
        quote_spanned!(error.span()=> <#error as ::core::convert::From<#p::PluginError>>::from);
    // An `async fn` awaits the call: a guest awaiting an async host function yields the
    // caller's thread.
    let answer = if sig.asyncness.is_some() {
        quote!(__modreg_encoding::call_async::<_, #output>(&*self.0, #index, &(#(&#names,)*)).await)
    } else {
        quote!(__modreg_encoding::call::<_, #output>(&*self.0, #index, &(#(&#names,)*)))
    };
    quote! {
        #sig {
            match #answer {
                #p::Result::Ok(answer) => answer,
                #p::Result::Err(error) => #p::Result::Err(#convert(error)),
            }
        }
    }
}

/// The guest's dispatch of method `i`: its arguments decoded, the method run, its result
/// encoded.
fn dispatch_arm(i: usize, m: &Method<'_>) -> TokenStream {
    let index = u32::try_from(i).unwrap_or(u32::MAX);
    let ident = &m.item.sig.ident;
    let names: Vec<_> = (0..m.arguments.len())
        .map(|n| format_ident!("__modreg_arg{}", n))
        .collect();
    let types = m.arguments.iter().map(|ty| decoded(ty));
    let passed = m.arguments.iter().zip(&names).map(|(ty, name)| {
        if let Type::Reference(reference) = ty {
            let inner = &reference.elem;
            quote!(::std::borrow::Borrow::<#inner>::borrow(&#name))
        } else {
            quote!(#name)
        }
    });
    let name = ident.to_string();
    let call = quote!(self.#ident(#(#passed),*));
    let result = if m.item.sig.asyncness.is_some() {
        quote!(__modreg_encoding::block_on(#name, #call)?)
    } else {
        call
    };
    quote! {
        #index => {
            let (#(#names,)*): (#(#types,)*) = __modreg_encoding::decode(#name, arguments)?;
            let result = #result;
            let failed = result.is_err();
            __modreg_encoding::encode(#name, &result)
                .map(|encoded| __modreg_encoding::Dispatched { encoded, failed })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(item: &ItemTrait) -> Vec<String> {
        expand(item, Runtime::Core)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn each_broken_rule_is_one_error() {
        let item: ItemTrait = syn::parse_quote! {
            pub trait Bad<X> {
                fn generic<T>(&self, value: T) -> Result<(), E>;
                fn plain(&self) -> u32;
                fn mutable(&mut self) -> Result<(), E>;
                async fn waits(&self) -> Result<(), E>;
                type Output;
            }
        };
        let errors = errors(&item);
        assert_eq!(errors.len(), 6, "{errors:?}");
        assert!(errors[0].contains("cannot be generic"), "{errors:?}");
        assert!(errors[1].contains("`generic` is generic"), "{errors:?}");
        assert!(
            errors[2].contains("must return `Result<T, E>`"),
            "{errors:?}"
        );
        assert!(errors[3].contains("must take `&self`"), "{errors:?}");
        assert!(errors[4].contains("#[registry_trait]"), "{errors:?}");
        assert!(errors[5].contains("associated type"), "{errors:?}");
    }

    #[test]
    fn the_fingerprint_follows_names_types_and_order() {
        let of = |item: ItemTrait| {
            let methods = check(&item, &Asyncness::None).unwrap();
            fingerprint(&item.ident.to_string(), &methods)
        };
        let base = of(
            syn::parse_quote! { trait T { fn a(&self, x: u32) -> Result<u8, E>; fn b(&self) -> Result<(), E>; } },
        );
        assert_eq!(base.len(), 16);
        assert_eq!(
            base,
            of(
                syn::parse_quote! { trait T { fn a(&self, y: u32) -> Result<u8, E>; fn b(&self) -> Result<(), E>; } }
            ),
            "argument names are not part of it"
        );
        for changed in [
            of(
                syn::parse_quote! { trait U { fn a(&self, x: u32) -> Result<u8, E>; fn b(&self) -> Result<(), E>; } },
            ),
            of(
                syn::parse_quote! { trait T { fn a(&self, x: u64) -> Result<u8, E>; fn b(&self) -> Result<(), E>; } },
            ),
            of(
                syn::parse_quote! { trait T { fn a(&self, x: u32) -> Result<u16, E>; fn b(&self) -> Result<(), E>; } },
            ),
            of(
                syn::parse_quote! { trait T { fn b(&self) -> Result<(), E>; fn a(&self, x: u32) -> Result<u8, E>; } },
            ),
            of(syn::parse_quote! { trait T { fn a(&self, x: u32) -> Result<u8, E>; } }),
        ] {
            assert_ne!(base, changed);
        }
    }
}
