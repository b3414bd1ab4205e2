//! Syntax only: `key = value, ...` as written, every token kept for its span.

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::visit_mut::VisitMut;
use syn::{Expr, Ident, Token, Type};

/// The arguments of `#[plugin(...)]` or `#[plugin_factory(...)]`.
pub struct Args {
    pub entries: Punctuated<Arg, Token![,]>,
}

/// One `key = value`.
pub struct Arg {
    pub key: Ident,
    pub value: Value,
}

/// A value: a type after `config =`, an expression otherwise.
pub enum Value {
    Expr(Expr),
    Type(Type),
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Ok(Args {
            entries: Punctuated::parse_terminated(input)?,
        })
    }
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key = input.call(Ident::parse_any)?;
        // A key alone is a flag: `wrapper` reads as `wrapper = true`.
        if input.is_empty() || input.peek(Token![,]) {
            let value = syn::LitBool::new(true, key.span());
            return Ok(Arg {
                key,
                value: Value::Expr(syn::parse_quote!(#value)),
            });
        }
        input.parse::<Token![=]>()?;
        let value = if key == "config" {
            Value::Type(input.parse()?)
        } else {
            Value::Expr(ungrouped(input.parse()?))
        };
        Ok(Arg { key, value })
    }
}

/// `expr` without the invisible groups `macro_rules!` wraps a `$x:literal` or `$x:expr` in,
/// so that `name = $name` reads as the literal it is, however deep (`capabilities = [$c]`).
fn ungrouped(mut expr: Expr) -> Expr {
    struct Ungroup;
    impl VisitMut for Ungroup {
        fn visit_expr_mut(&mut self, expr: &mut Expr) {
            while let Expr::Group(group) = expr {
                *expr = (*group.expr).clone();
            }
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    Ungroup.visit_expr_mut(&mut expr);
    expr
}

/// One `key = value` of `registry!`: a type after `meta =`, an expression otherwise.
fn registry_arg(input: ParseStream) -> syn::Result<Arg> {
    let key = input.call(Ident::parse_any)?;
    input.parse::<Token![=]>()?;
    let value = if key == "meta" {
        Value::Type(input.parse()?)
    } else {
        Value::Expr(ungrouped(input.parse()?))
    };
    Ok(Arg { key, value })
}

/// The input of `registry!`: `pub NAME: dyn Trait` and optional `, key = value` pairs.
pub struct RegistryDecl {
    pub attrs: Vec<syn::Attribute>,
    pub vis: syn::Visibility,
    pub ident: Ident,
    pub object: Type,
    pub args: Punctuated<Arg, Token![,]>,
}

impl Parse for RegistryDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(syn::Attribute::parse_outer)?;
        let vis = input.parse()?;
        let ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let object = input.parse()?;
        let args = if input.is_empty() {
            Punctuated::new()
        } else {
            input.parse::<Token![,]>()?;
            Punctuated::parse_terminated_with(input, registry_arg)?
        };
        Ok(RegistryDecl {
            attrs,
            vis,
            ident,
            object,
            args,
        })
    }
}
