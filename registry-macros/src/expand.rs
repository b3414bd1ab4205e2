//! Quoting only: the table entry and the `Plugin` implementation of a validated attribute.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::validate::{FactoryAttr, PluginAttr, PluginTypeSpec};

/// The path of the runtime crate's `__private` module, as the user's crate names it.
fn private_path(krate: Option<&syn::Path>) -> TokenStream {
    use proc_macro_crate::{FoundCrate, crate_name};
    if let Some(path) = krate {
        return quote!(#path::__private);
    }
    for package in ["module-registry", "module-registry-core"] {
        if let Ok(found) = crate_name(package) {
            let ident = match found {
                FoundCrate::Itself => format_ident!("{}", package.replace('-', "_")),
                FoundCrate::Name(name) => format_ident!("{}", name),
            };
            return quote!(::#ident::__private);
        }
    }
    quote!(::module_registry::__private)
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

pub fn plugin(attr: &PluginAttr) -> TokenStream {
    let p = private_path(attr.krate.as_ref());
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
    let infallible = attr
        .config
        .is_none()
        .then(|| quote!(.with_infallible_constructor(#p::make_default::<#ident>)));
    let constructor = match &attr.config {
        None => quote!(#p::construct_default::<#ident>),
        Some(config) => {
            let call = quote_spanned!(config.span()=> <#ident>::from_config(config)?);
            quote! {{
                fn construct(settings: &#p::PluginSettings) -> #p::Result<#p::Box<dyn #p::Plugin>, #p::PluginError> {
                    let config: #config = #p::read_config(#name, settings)?;
                    let plugin: #ident = #call;
                    #p::Result::Ok(#p::Box::new(plugin))
                }
                construct
            }}
        }
    };

    quote! {
        #item

        const _: () = {
            #p::submit_plugin! {
                DESCRIPTOR = #p::PluginDescriptor::new(#name, #version, #ty, #constructor, #location)
                    .with_capabilities(&[#(#capabilities),*])
                    .with_dependencies(&[#(#depends_on),*])
                    .with_permissions(&[#(#permissions),*])
                    #description
                    #mock_of
                    #infallible
            }

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
        };
    }
}

pub fn factory(attr: &FactoryAttr) -> TokenStream {
    let p = private_path(attr.krate.as_ref());
    let item = &attr.item;
    let function = &item.sig.ident;
    let method = function.to_string();
    let name = &attr.name;
    let ty = plugin_type(&p, &attr.plugin_type);
    let variants = &attr.variants;
    let location = location(&p);
    quote! {
        #item

        const _: () = {
            #p::submit_factory! {
                FACTORY = #p::FactoryDescriptor::new(#name, #method, #ty, #function, #location)
                    .with_variants(&[#(#variants),*])
            }
        };
    }
}
