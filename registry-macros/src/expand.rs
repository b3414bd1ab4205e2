//! Quoting only: the table entry and the `Plugin` implementation of a validated attribute,
//! and the declaration of a registry.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::Runtime;
use crate::validate::{FactoryAttr, PluginAttr, PluginTypeSpec, RegistryAttr};

/// The path of the runtime crate's `__private` module, as the user's crate names it.
fn private_path(krate: Option<&syn::Path>, runtime: Runtime) -> TokenStream {
    match (krate, runtime) {
        (Some(path), _) => quote!(#path::__private),
        (None, Runtime::Core) => quote!(::modreg_core::__private),
        (None, Runtime::Facade) => quote!(::modreg::__private),
    }
}

/// The hidden items `registry!` writes beside the registry static `NAME`:
/// `__modreg_NAME_Object` (the trait object type), `__modreg_NAME_table` (the table) and
/// `__modreg_NAME_Entry` (an entry, on the `inventory` backend).
fn hidden_ident(ident: &syn::Ident, what: &str) -> syn::Ident {
    format_ident!("__modreg_{}_{}", ident, what)
}

/// `(Object) (table) (Entry)`: the paths generated code names a registry's table by.
fn registry_paths(p: &TokenStream, registry: Option<&syn::Path>) -> TokenStream {
    let Some(path) = registry else {
        return quote! {
            (#p::default_registry::Object) (#p::default_registry::table) (#p::default_registry::Entry)
        };
    };
    let (object, table, entry) = (
        hidden_path(path, "Object"),
        hidden_path(path, "table"),
        hidden_path(path, "Entry"),
    );
    quote!((#object) (#table) (#entry))
}

/// `path::NAME` with its last segment made `__modreg_NAME_{what}`.
fn hidden_path(path: &syn::Path, what: &str) -> TokenStream {
    let mut path = path.clone();
    let last = path.segments.last_mut().expect("a path has a segment");
    last.ident = hidden_ident(&last.ident, what);
    quote!(#path)
}

fn plugin_type(p: &TokenStream, spec: &PluginTypeSpec) -> TokenStream {
    match spec {
        PluginTypeSpec::BuiltIn(ident) => quote!(#p::PluginType::#ident),
        PluginTypeSpec::Custom(name) => quote!(#p::PluginType::Custom(#name)),
    }
}

fn location(p: &TokenStream) -> TokenStream {
    quote! {
        #p::SourceLocation {
            crate_name: ::core::env!("CARGO_PKG_NAME"),
            module_path: ::core::module_path!(),
            file: ::core::file!(),
            line: ::core::line!(),
        }
    }
}

pub fn plugin(attr: &PluginAttr, runtime: Runtime) -> TokenStream {
    let p = private_path(attr.krate.as_ref(), runtime);
    let paths = registry_paths(&p, attr.registry.as_ref());
    let object = attr.registry.as_ref().map_or_else(
        || quote!(#p::default_registry::Object),
        |path| hidden_path(path, "Object"),
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
    // The coercion to the registry's trait object is spanned at the struct, so that a struct
    // that does not implement the registry's trait is reported there.
    // Located at the struct for the error, resolved at the call site like the `let value` it
    // names, so that a `#[plugin]` written inside a `macro_rules!` still finds it.
    let boxed = quote_spanned!(Span::call_site().located_at(ident.span())=> #p::Box::new(value));
    // With no `config`, `make` goes through the infallible constructor, so the coercion is
    // written (and a missing trait reported) once.
    let (new_body, make_body, infallible) = match &attr.config {
        None => (
            quote! {
                let _ = settings;
                #p::Result::Ok(<#ident as ::core::default::Default>::default())
            },
            quote! {
                let _ = settings;
                #p::Result::Ok(make_default())
            },
            Some(quote! {
                fn make_default() -> #p::Box<#object> {
                    let value = <#ident as ::core::default::Default>::default();
                    #boxed
                }
            }),
        ),
        Some(config) => {
            let at_config = Span::call_site().located_at(config.span());
            let call = quote_spanned!(at_config=> <#ident>::from_config(config));
            (
                quote! {
                    let config: #config = #p::read_config(#name, settings)?;
                    #call
                },
                quote! {
                    let value = new(settings)?;
                    #p::Result::Ok(#boxed)
                },
                None,
            )
        }
    };
    let (settings_schema, with_settings) = settings_schema(&p, attr.config.as_ref());
    let with_infallible = infallible
        .is_some()
        .then(|| quote!(.with_infallible_constructor(make_default)));
    let plugin_impl = attr
        .registry
        .is_none()
        .then(|| default_plugin_impl(&p, ident));
    let with_generated_impl = plugin_impl
        .is_some()
        .then(|| quote!(.with_generated_plugin_impl()));
    let has_descriptor = has_descriptor(&p, ident, &object);

    quote! {
        #item

        const _: () = {
            fn new(settings: &#p::PluginSettings) -> #p::Result<#ident, #p::PluginError> {
                #new_body
            }

            fn make(settings: &#p::PluginSettings) -> #p::Result<#p::Box<#object>, #p::PluginError> {
                #make_body
            }

            #infallible

            #settings_schema

            fn make_any(settings: &#p::PluginSettings) -> #p::Result<#p::Box<dyn #p::Any>, #p::PluginError> {
                #p::Result::Ok(#p::Box::new(new(settings)?))
            }

            const ENTRY: #p::PluginDescriptor<#object> = #p::PluginDescriptor::<#object>::new(#name, #version, #ty, make, #location)
                    .with_concrete_type(make_any, #p::type_id_of::<#ident>)
                    .with_capabilities(&[#(#capabilities),*])
                    .with_dependencies(&[#(#depends_on),*])
                    .with_permissions(&[#(#permissions),*])
                    #description
                    #mock_of
                    #with_infallible
                    #with_settings
                    #with_generated_impl;

            #p::submit_plugin! {
                #paths DESCRIPTOR = ENTRY
            }

            #has_descriptor

            #plugin_impl
        };
    }
}

/// The table entry as a constant of the type (`ENTRY` of the expansion), for code that needs
/// it at compile time: a WebAssembly guest's `export!`.
fn has_descriptor(p: &TokenStream, ident: &syn::Ident, object: &TokenStream) -> TokenStream {
    quote! {
        impl #p::HasDescriptor<#object> for #ident {
            const DESCRIPTOR: &'static #p::PluginDescriptor<#object> = &ENTRY;
        }
    }
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

/// The specification's `Plugin` for a struct of the default registry, from its table entry
/// and its `PluginBehavior`.
fn default_plugin_impl(p: &TokenStream, ident: &syn::Ident) -> TokenStream {
    quote! {
        impl #p::Plugin for #ident {
            fn name(&self) -> &str {
                DESCRIPTOR.name()
            }

            fn version(&self) -> &str {
                DESCRIPTOR.version()
            }

            fn plugin_type(&self) -> #p::PluginType {
                DESCRIPTOR.plugin_type()
            }

            fn capabilities(&self) -> &[#p::String] {
                #p::capabilities_of(&DESCRIPTOR)
            }

            fn initialize(&mut self) -> #p::Result<(), #p::PluginError> {
                <Self as #p::PluginBehavior>::initialize(self)
            }

            fn cleanup(&mut self) -> #p::Result<(), #p::PluginError> {
                <Self as #p::PluginBehavior>::cleanup(self)
            }

            fn process(&self, data: &[u8]) -> #p::Result<#p::Vec<u8>, #p::PluginError> {
                <Self as #p::PluginBehavior>::process(self, data)
            }

            fn descriptor(&self) -> #p::Option<&'static #p::PluginDescriptor> {
                #p::Option::Some(&DESCRIPTOR)
            }

            fn health(&self) -> #p::HealthStatus {
                <Self as #p::PluginBehavior>::health(self)
            }
        }
    }
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
    let object_alias = hidden_ident(ident, "Object");
    let table_alias = hidden_ident(ident, "table");
    let entry = hidden_ident(ident, "Entry");
    let collect = hidden_ident(ident, "collect");
    // The link-time table's name must be unique in the binary: the defining crate's name
    // keeps two crates' registries of the same name apart.
    let krate = std::env::var("CARGO_CRATE_NAME").unwrap_or_default();
    let table = format_ident!("MODREG_{}_{}", krate.to_uppercase(), ident);
    let object = &attr.object;
    let attrs = &attr.attrs;
    quote! {
        #p::declare_registry! {
            (#(#attrs)*) (#vis) #ident #table #object_alias #table_alias #entry #collect (#object)
        }
    }
}
