//! `#[registry_trait]`: a trait with native `async fn`s, and its trait-object form.
//!
//! A trait with an `async fn` is not dyn-compatible, so no registry can hold it. On such a
//! trait the attribute writes what `trait-variant` and `dynosaur` write by hand:
//!
//! - the trait itself, each `async fn` turned into `fn ... -> impl Future<Output = T> + Send`
//!   (implementations still write `async fn`);
//! - `Dyn<Trait>`, the same methods with each future boxed (`Pin<Box<dyn Future + Send + 'a>>`,
//!   one allocation per call, as `async-trait` makes), which a registry holds:
//!   `registry!(pub FETCHERS: dyn DynFetcher)`;
//! - `impl<X: Trait> Dyn<Trait> for X`, so every implementation of the trait is a plugin of
//!   the registry with no more code.
//!
//! What no trait object can call (a generic method, one without `self`, `self` by value, an
//! associated type or constant) is one error at that item.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::visit_mut::VisitMut;
use syn::{
    FnArg, GenericParam, ItemTrait, Lifetime, Pat, ReturnType, TraitItem, TraitItemFn, Type,
};

/// Checks `item` and writes the trait, its object form and the blanket implementation.
pub fn expand(item: &ItemTrait) -> syn::Result<TokenStream> {
    check(item)?;
    let ident = &item.ident;
    let dyn_ident = format_ident!("Dyn{}", ident);
    let mut native = item.clone();
    let mut object_methods = Vec::new();
    let mut forwards = Vec::new();
    for trait_item in &mut native.items {
        let TraitItem::Fn(method) = trait_item else {
            continue;
        };
        let (object, forward) = object_method(item, method);
        object_methods.push(object);
        forwards.push(forward);
        if method.sig.asyncness.is_some() {
            make_native(method);
        }
    }

    let vis = &item.vis;
    let generics = &item.generics;
    let supertraits = &item.supertraits;
    let colon = (!supertraits.is_empty()).then(|| quote!(:));
    let (_, type_generics, where_clause) = item.generics.split_for_impl();
    let params = &item.generics.params;
    let comma = (!params.is_empty()).then(|| quote!(,));
    let doc = format!(
        "[`{ident}`] as a trait object: each `async fn` returns a boxed future. Written by \
         `#[registry_trait]`; every `{ident}` is one, so a registry of `dyn {dyn_ident}` holds \
         every implementation."
    );
    Ok(quote! {
        #native

        #[doc = #doc]
        #vis trait #dyn_ident #generics #colon #supertraits #where_clause {
            #(#object_methods)*
        }

        impl<#params #comma __ModregX: #ident #type_generics> #dyn_ident #type_generics for __ModregX #where_clause {
            #(#forwards)*
        }
    })
}

/// Every item a trait object can call, or an error at the first that it cannot.
fn check(item: &ItemTrait) -> syn::Result<()> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |error: syn::Error| match &mut errors {
        Some(all) => all.combine(error),
        None => errors = Some(error),
    };
    for trait_item in &item.items {
        match trait_item {
            TraitItem::Fn(method) => {
                if let Err(error) = check_method(method) {
                    push(error);
                }
            }
            TraitItem::Type(ty) => push(syn::Error::new_spanned(
                &ty.ident,
                "a registry's trait cannot have an associated type: a trait object has to name it; make it a generic parameter of the trait",
            )),
            TraitItem::Const(constant) => push(syn::Error::new_spanned(
                &constant.ident,
                "a registry's trait cannot have an associated constant: a trait object cannot read it; make it a method",
            )),
            _ => {}
        }
    }
    errors.map_or(Ok(()), Err)
}

/// A method's first parameter that is not a lifetime: what no trait object can call.
pub(crate) fn type_parameter(sig: &syn::Signature) -> Option<&GenericParam> {
    sig.generics
        .params
        .iter()
        .find(|p| !matches!(p, GenericParam::Lifetime(_)))
}

fn check_method(method: &TraitItemFn) -> syn::Result<()> {
    let sig = &method.sig;
    if let Some(param) = type_parameter(sig) {
        return Err(syn::Error::new_spanned(
            param,
            format!(
                "`{}` is generic: a trait object cannot call a generic method; take a `&dyn Trait` or a concrete type instead",
                sig.ident
            ),
        ));
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver)) if lends(receiver) => Ok(()),
        Some(FnArg::Receiver(receiver)) => Err(syn::Error::new_spanned(
            receiver,
            format!(
                "`{}` takes `self` by value: a trait object can only lend itself; take `&self` or `&mut self`",
                sig.ident
            ),
        )),
        _ => Err(syn::Error::new_spanned(
            &sig.ident,
            format!(
                "`{}` has no `self`: a trait object cannot call it; take `&self`, or move it out of the trait",
                sig.ident
            ),
        )),
    }
}

/// Whether the receiver is `&self`, `&mut self` or `self: &Self`-like.
fn lends(receiver: &syn::Receiver) -> bool {
    match &receiver.kind {
        syn::ReceiverKind::Reference(..) => true,
        syn::ReceiverKind::Typed(_, ty) => matches!(**ty, Type::Reference(_)),
        _ => false,
    }
}

/// `async fn f(..) -> T` as `fn f(..) -> impl Future<Output = T> + Send`, a default body
/// becoming an `async move` block.
fn make_native(method: &mut TraitItemFn) {
    let sig = &mut method.sig;
    sig.asyncness = None;
    let output = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    sig.output = syn::parse_quote! {
        -> impl ::core::future::Future<Output = #output> + ::core::marker::Send
    };
    if let Some(body) = &mut method.default {
        let stmts = &body.stmts;
        *body = syn::parse_quote!({ async move { #(#stmts)* } });
    }
}

/// The method as the object trait declares it, and its forwarding to the trait.
fn object_method(item: &ItemTrait, method: &TraitItemFn) -> (TokenStream, TokenStream) {
    let ident = &item.ident;
    let (_, type_generics, _) = item.generics.split_for_impl();
    let mut sig = method.sig.clone();
    let name = &sig.ident;
    // Arguments by name, whatever pattern the trait wrote.
    let mut args = Vec::new();
    for (i, input) in sig.inputs.iter_mut().enumerate() {
        if let FnArg::Typed(typed) = input {
            let arg = format_ident!("__arg{}", i);
            *typed.pat = Pat::Ident(syn::PatIdent {
                attrs: Vec::new(),
                by_ref: None,
                mutability: None,
                ident: arg.clone(),
                subpat: None,
            });
            args.push(arg);
        }
    }
    let attrs: Vec<_> = method
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();
    let call = quote!(<__ModregX as #ident #type_generics>::#name(self #(, #args)*));
    if sig.asyncness.is_none() {
        return (quote!(#(#attrs)* #sig;), quote!(#[inline] #sig { #call }));
    }
    // The boxed future lives as long as every borrow the call takes: one lifetime for all.
    sig.asyncness = None;
    let life = Lifetime::new("'__modreg_call", Span::call_site());
    let explicit: Vec<Lifetime> = sig
        .generics
        .lifetimes()
        .map(|l| l.lifetime.clone())
        .collect();
    ElidedToNamed(&life).visit_signature_mut(&mut sig);
    let output = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    sig.generics.params.insert(0, syn::parse_quote!(#life));
    let where_clause = sig.generics.make_where_clause();
    for lifetime in explicit {
        where_clause
            .predicates
            .push(syn::parse_quote!(#lifetime: #life));
    }
    sig.output = syn::parse_quote! {
        -> ::core::pin::Pin<::std::boxed::Box<dyn ::core::future::Future<Output = #output> + ::core::marker::Send + #life>>
    };
    let at = sig.ident.span();
    let boxed = quote::quote_spanned!(at=> ::std::boxed::Box::pin(#call));
    (quote!(#(#attrs)* #sig;), quote!(#[inline] #sig { #boxed }))
}

/// Names every elided lifetime (`&T`, `'_`) of a signature's arguments and result.
struct ElidedToNamed<'a>(&'a Lifetime);

impl VisitMut for ElidedToNamed<'_> {
    fn visit_receiver_kind_mut(&mut self, kind: &mut syn::ReceiverKind) {
        if let syn::ReceiverKind::Reference(_, lifetime @ None, _) = kind {
            *lifetime = Some(self.0.clone());
        }
        syn::visit_mut::visit_receiver_kind_mut(self, kind);
    }

    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        if reference.lifetime.is_none() {
            reference.lifetime = Some(self.0.clone());
        }
        syn::visit_mut::visit_type_reference_mut(self, reference);
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut Lifetime) {
        if lifetime.ident == "_" {
            *lifetime = self.0.clone();
        }
    }

    // A `fn` pointer or a `dyn Fn` in an argument has lifetimes of its own.
    fn visit_type_fn_ptr_mut(&mut self, _: &mut syn::TypeFnPtr) {}

    fn visit_trait_bound_mut(&mut self, _: &mut syn::TraitBound) {}

    fn visit_generics_mut(&mut self, _: &mut syn::Generics) {}

    fn visit_block_mut(&mut self, _: &mut syn::Block) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_async_method_becomes_a_future_and_a_boxed_one() {
        let item: ItemTrait = syn::parse_quote! {
            pub trait Fetcher: Send + Sync {
                async fn fetch(&self, key: &str, tags: &[&str]) -> Result<Vec<u8>, String>;
                fn label(&self) -> &str;
            }
        };
        let out = expand(&item).unwrap().to_string();
        assert!(out.contains("fn fetch (& self , key : & str , tags : & [& str]) -> impl :: core :: future :: Future < Output = Result < Vec < u8 > , String > > + :: core :: marker :: Send"), "{out}");
        assert!(out.contains("pub trait DynFetcher : Send + Sync"), "{out}");
        assert!(out.contains("fn fetch < '__modreg_call > (& '__modreg_call self , __arg1 : & '__modreg_call str , __arg2 : & '__modreg_call [& '__modreg_call str])"), "{out}");
        assert!(out.contains("fn label (& self) -> & str ;"), "{out}");
    }

    #[test]
    fn what_a_trait_object_cannot_call_is_an_error_at_it() {
        let item: ItemTrait = syn::parse_quote! {
            pub trait Bad {
                async fn generic<T>(&self, value: T);
                fn new() -> Self;
                async fn consume(self);
                type Output;
            }
        };
        let errors: Vec<String> = expand(&item)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].contains("generic"), "{errors:?}");
        assert!(errors[1].contains("has no `self`"), "{errors:?}");
        assert!(errors[2].contains("by value"), "{errors:?}");
        assert!(errors[3].contains("associated type"), "{errors:?}");
    }
}
