//! Quoting only: the table entry and the constructors of a validated attribute,
//! and the declaration of a registry.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::Runtime;
use crate::validate::{FactoryAttr, PluginAttr, PluginTypeSpec, RegistryAttr};

/// The path of the runtime crate's `__private_<version>` module (`modreg_core`'s lib.rs says
/// why it carries the version), as the user's crate names it.
fn private_path(krate: Option<&syn::Path>, runtime: Runtime) -> TokenStream {
    match (krate, runtime) {
        (Some(path), _) => quote!(#path::__private_0_1_0),
        (None, Runtime::Core) => quote!(::modreg_core::__private_0_1_0),
        (None, Runtime::Facade) => quote!(::modreg::__private_0_1_0),
    }
}

/// `(Object) (table) (Entry)`: the paths generated code names a registry's table by. A
/// registry's hidden module has its static's name, so any path to the static (imported,
/// re-exported) names the module too.
fn registry_paths(p: &TokenStream, registry: Option<&syn::Path>) -> TokenStream {
    let Some(path) = registry else {
        return quote! {
            (#p::default_registry::Object) (#p::default_registry::table) (#p::default_registry::Entry)
        };
    };
    quote!((#path::Object) (#path::table) (#path::Entry))
}

fn plugin_type(p: &TokenStream, spec: &PluginTypeSpec) -> TokenStream {
    match spec {
        PluginTypeSpec::BuiltIn(ident) => quote!(#p::PluginType::#ident),
        PluginTypeSpec::Custom(name) => quote!(#p::PluginType::Custom(#name)),
        PluginTypeSpec::OfRegistry(path) => quote!(#p::PluginType::Custom(#path::PLUGIN_TYPE)),
    }
}

fn location(p: &TokenStream) -> TokenStream {
    quote! {
        #p::SourceLocation::new(
            ::core::env!("CARGO_PKG_NAME"),
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
        )
    }
}

pub fn plugin(attr: &PluginAttr, runtime: Runtime) -> TokenStream {
    // Inside the expansion the runtime's `__private` is one short name: fewer tokens for the
    // compiler to read per plugin (the build-cost measure).
    let private = private_path(attr.krate.as_ref(), runtime);
    let p = quote!(__modreg);
    let paths = registry_paths(&p, attr.registry.as_ref());
    let object = attr.registry.as_ref().map_or_else(
        || quote!(#p::default_registry::Object),
        |path| quote!(#path::Object),
    );
    let item = &attr.item;
    let ident = &item.ident;
    let name = &attr.name;
    let ty = plugin_type(&p, &attr.plugin_type);
    let version = attr.version.as_ref().map_or_else(
        || quote!(::core::env!("CARGO_PKG_VERSION")),
        |lit| quote!(#lit),
    );
    let capabilities = &attr.capabilities;
    let depends_on = &attr.depends_on;
    let permissions = &attr.permissions;
    let location = location(&p);
    let description = attr
        .description
        .as_ref()
        .map(|d| quote!(.with_description(#d)));
    let mock_of = attr.mock_of.as_ref().map(|m| quote!(.with_mock_of(#m)));
    let constructors = constructors(&p, attr, &object);
    let (make_any, with_infallible) = match &attr.config {
        None => (
            quote!(#p::make_any_default::<#ident>),
            Some(quote!(.with_infallible_constructor(make_default))),
        ),
        Some(_) => (quote!(make_any), None),
    };
    let (settings_schema, with_settings) = settings_schema(&p, attr.config.as_ref());
    // Empty lists are the descriptor's defaults: not written.
    let with_capabilities =
        (!capabilities.is_empty()).then(|| quote!(.with_capabilities(&[#(#capabilities),*])));
    let with_dependencies =
        (!depends_on.is_empty()).then(|| quote!(.with_dependencies(&[#(#depends_on),*])));
    let with_permissions =
        (!permissions.is_empty()).then(|| quote!(.with_permissions(&[#(#permissions),*])));
    // The default registry's `Plugin` implementation is the runtime crate's, for every type
    // with a `PluginBehavior` and a table entry (`HasDescriptor`).
    let with_generated_impl = attr
        .registry
        .is_none()
        .then(|| quote!(.with_generated_plugin_impl()));
    let (meta_static, placement) = placement(&p, attr);

    let entry = quote! {
        const _: () = {
            use #private as __modreg;

            #constructors

            #settings_schema

            #meta_static

            #p::submit_plugin! {
                #paths DESCRIPTOR = #p::PluginDescriptor::<#object>::new(#name, #version, #ty, make, #location)
                    .with_concrete_type(#make_any, #p::type_id_of::<#ident>)
                    #with_capabilities
                    #with_dependencies
                    #with_permissions
                    #description
                    #mock_of
                    #with_infallible
                    #with_settings
                    #with_generated_impl
                    #placement
            }

            impl #p::HasDescriptor<#object> for #ident {
                const DESCRIPTOR: &'static #p::PluginDescriptor<#object> = &DESCRIPTOR;
            }
        };
    };
    // A registry's entry is written through its hidden module's `expand!`: a path that is not
    // a registry fails once, there, and nothing inside is resolved.
    let entry = match &attr.registry {
        Some(path) => quote!(#path::expand! { #entry }),
        None => entry,
    };
    quote! {
        #item

        #entry
    }
}

/// The plugin's constructors: `make` (and `make_default` without `config`, `new` and
/// `make_any` with one).
fn constructors(p: &TokenStream, attr: &PluginAttr, object: &TokenStream) -> TokenStream {
    let ident = &attr.item.ident;
    let name = &attr.name;
    // The coercion to the registry's trait object is spanned at the struct, so that a struct
    // that does not implement the registry's trait is reported there.
    // Located at the struct for the error, resolved at the call site like the `let value` it
    // names, so that a `#[plugin]` written inside a `macro_rules!` still finds it.
    // In the default registry the box is made by a function that asks for `PluginBehavior`,
    // so that a struct without one is told exactly that.
    let at_struct = Span::call_site().located_at(ident.span());
    let boxed = if attr.registry.is_none() {
        quote_spanned!(at_struct=> #p::boxed_plugin(value))
    } else {
        quote_spanned!(at_struct=> #p::Box::new(value))
    };
    // With no `config`, `make` goes through the infallible constructor, so the coercion is
    // written (and a missing trait reported) once, and the concrete constructor is a generic
    // function of the runtime crate: nothing more per plugin.
    match &attr.config {
        None => quote! {
            fn make_default() -> #p::Box<#object> {
                let value = <#ident as ::core::default::Default>::default();
                #boxed
            }

            fn make(settings: &#p::PluginSettings) -> #p::Result<#p::Box<#object>, #p::PluginError> {
                let _ = settings;
                #p::Result::Ok(make_default())
            }
        },
        Some(config) => {
            let at_config = Span::call_site().located_at(config.span());
            let call = quote_spanned!(at_config=> <#ident>::from_config(config));
            quote! {
                fn new(settings: &#p::PluginSettings) -> #p::Result<#ident, #p::PluginError> {
                    let config: #config = #p::read_config(#name, settings)?;
                    #call
                }

                fn make(settings: &#p::PluginSettings) -> #p::Result<#p::Box<#object>, #p::PluginError> {
                    let value = new(settings)?;
                    #p::Result::Ok(#boxed)
                }

                fn make_any(settings: &#p::PluginSettings) -> #p::Result<#p::Box<dyn #p::Any>, #p::PluginError> {
                    #p::Result::Ok(#p::Box::new(new(settings)?))
                }
            }
        }
    }
}

/// The plugin's place in its registry: its metadata `static` and the builder calls for its
/// order and metadata.
fn placement(p: &TokenStream, attr: &PluginAttr) -> (Option<TokenStream>, TokenStream) {
    let as_wrapper = attr.wrapper.then(|| quote!(.as_wrapper()));
    let with_priority = attr.priority.as_ref().map(|n| quote!(.with_priority(#n)));
    let with_priority = quote!(#with_priority #as_wrapper);
    let (before, after) = (&attr.before, &attr.after);
    let with_order = (!before.is_empty() || !after.is_empty())
        .then(|| quote!(.with_order(&[#(#before),*], &[#(#after),*])));
    // A plugin of a user's registry carries a value of the registry's `meta` type: the one
    // given, or, where none is, `NoMeta`'s, which only a registry without `meta` takes (a
    // registry with one reports the missing value at the struct).
    let Some(path) = &attr.registry else {
        return (None, quote!(#with_priority #with_order));
    };
    let value = attr.meta.as_ref().map_or_else(
        || {
            let at = Span::call_site().located_at(attr.item.ident.span());
            quote_spanned!(at=> <#path::Meta as #p::MetaRequired>::NONE)
        },
        |expr| quote!(#expr),
    );
    (
        Some(quote!(static META: #path::Meta = #value;)),
        quote!(#with_priority #with_order .with_meta(&META)),
    )
}

/// What a `config` type accepts, read from it when a host asks (`modreg show`): the function
/// and the descriptor builder call that records it.
fn settings_schema(
    p: &TokenStream,
    config: Option<&syn::Type>,
) -> (Option<TokenStream>, Option<TokenStream>) {
    let Some(config) = config else {
        return (None, None);
    };
    (
        Some(quote! {
            fn settings_schema() -> #p::Vec<#p::SettingInfo> {
                #[allow(unused_imports)]
                use #p::{NamesOnly as _, WithDefaults as _};
                (&&#p::Schema::<#config>::new()).describe()
            }
        }),
        Some(quote!(.with_settings_schema(settings_schema))),
    )
}

pub fn factory(attr: &FactoryAttr, runtime: Runtime) -> TokenStream {
    let p = private_path(attr.krate.as_ref(), runtime);
    let item = &attr.item;
    let function = &item.sig.ident;
    let method = function.to_string();
    let name = &attr.name;
    let ty = plugin_type(&p, &attr.plugin_type);
    let variants = &attr.variants;
    let interface = attr.interface.as_ref().map(|i| quote!(.with_interface(#i)));
    let location = location(&p);
    quote! {
        #item

        const _: () = {
            #p::submit_factory! {
                FACTORY = #p::FactoryDescriptor::new(#name, #method, #ty, #function, #location)
                    .with_variants(&[#(#variants),*])
                    #interface
            }
        };
    }
}

pub fn registry(attr: &RegistryAttr, runtime: Runtime) -> TokenStream {
    let p = private_path(attr.krate.as_ref(), runtime);
    let vis = &attr.vis;
    let ident = &attr.ident;
    let object_alias = format_ident!("__modreg_{}_Object", ident);
    // The link-time table's name must be unique in the binary: the defining crate's name
    // keeps two crates' registries of the same name apart.
    let krate = std::env::var("CARGO_CRATE_NAME").unwrap_or_default();
    let table = format_ident!("MODREG_{}_{}", krate.to_uppercase(), ident);
    let object = &attr.object;
    let attrs = &attr.attrs;
    let plugin_type = &attr.plugin_type;
    let meta_alias = format_ident!("__modreg_{}_Meta", ident);
    let meta = attr
        .meta
        .as_ref()
        .map_or_else(|| quote!(#p::NoMeta), |ty| quote!(#ty));
    let kind = if attr.meta.is_some() {
        quote!(with_meta)
    } else {
        quote!(plain)
    };
    quote! {
        #p::declare_registry! {
            #kind (#(#attrs)*) (#vis) #ident #table #object_alias #meta_alias #plugin_type (#object) (#meta)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_code_names_the_private_module_of_this_version() {
        let name = format!(
            "::__private_{})",
            env!("CARGO_PKG_VERSION").replace(['.', '-'], "_")
        );
        assert_eq!(
            include_str!("expand.rs").matches(&name).count(),
            3,
            "rename it `{name}`"
        );
    }
}
