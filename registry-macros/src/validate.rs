//! Every rule of the attributes, each error spanned at the token at fault.
//!
//! The output is a typed description of the plugin; `expand` never reads raw syntax again.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprArray, ExprLit, Ident, Item, ItemFn, ItemStruct, Lit, LitStr, Path, Type};

use crate::parse::{Arg, Args, Value};

/// The plugin types `type = ...` accepts, besides `Custom("name")`.
pub const PLUGIN_TYPES: &[&str] = &[
    "DataProcessor",
    "Analyzer",
    "Storage",
    "Security",
    "Compression",
    "Hashing",
    "Encoding",
    "Encryption",
    "Monitoring",
];

const PLUGIN_KEYS: &[&str] = &[
    "type",
    "capabilities",
    "name",
    "version",
    "description",
    "depends_on",
    "permissions",
    "config",
    "mock_of",
    "registry",
    "meta",
    "priority",
    "before",
    "after",
    "wrapper",
    "crate",
];

const REGISTRY_KEYS: &[&str] = &["meta", "crate"];

const FACTORY_KEYS: &[&str] = &["name", "type", "variants", "interface", "crate"];

/// A validated `type = ...`.
pub enum PluginTypeSpec {
    BuiltIn(Ident),
    Custom(LitStr),
    /// None given for a plugin of a user's registry: the registry's own type name, as
    /// declared (so that an import under another name changes nothing).
    OfRegistry(Path),
}

/// A validated `registry!`.
pub struct RegistryAttr {
    pub attrs: Vec<syn::Attribute>,
    pub vis: syn::Visibility,
    pub ident: Ident,
    pub object: Type,
    /// `meta = Type`: the metadata every plugin of the registry gives.
    pub meta: Option<Type>,
    /// The plugin type of the registry's plugins: its name in kebab-case.
    pub plugin_type: LitStr,
    pub krate: Option<Path>,
}

/// A validated `#[plugin]`.
pub struct PluginAttr {
    pub item: ItemStruct,
    pub name: String,
    pub plugin_type: PluginTypeSpec,
    pub capabilities: Vec<LitStr>,
    pub version: Option<LitStr>,
    pub description: Option<LitStr>,
    pub depends_on: Vec<LitStr>,
    pub permissions: Vec<LitStr>,
    pub config: Option<Type>,
    pub mock_of: Option<LitStr>,
    /// The registry the plugin goes into; `None` is the default registry of `dyn Plugin`.
    pub registry: Option<Path>,
    /// `meta = expr`: the plugin's metadata, of the registry's `meta` type.
    pub meta: Option<Expr>,
    /// `priority = N`: higher runs earlier among plugins `before`/`after` do not order.
    pub priority: Option<syn::LitInt>,
    pub before: Vec<LitStr>,
    pub after: Vec<LitStr>,
    /// `wrapper`: runs around the registry's other plugins in `FanOut::call_around`.
    pub wrapper: bool,
    pub krate: Option<Path>,
}

/// A validated `#[plugin_factory]`.
pub struct FactoryAttr {
    pub item: ItemFn,
    pub name: LitStr,
    pub plugin_type: PluginTypeSpec,
    pub variants: Vec<LitStr>,
    pub interface: Option<LitStr>,
    pub krate: Option<Path>,
}

/// Collects errors so that every mistake in one attribute is reported at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Keeps the first value of each key and reports a repeated key at its second use.
fn set_once<T>(slot: &mut Option<T>, key: &Ident, value: T, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(syn::Error::new(
            key.span(),
            format!("duplicate `{key}` key"),
        ));
    } else {
        *slot = Some(value);
    }
}

/// The item under `#[plugin]`: a struct with no generics.
fn plugin_struct(item: Item) -> syn::Result<ItemStruct> {
    let item = match item {
        Item::Struct(item) => item,
        other => {
            return Err(syn::Error::new(
                item_keyword_span(&other),
                "#[plugin] can only be applied to a struct",
            ));
        }
    };
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &item.generics,
            "#[plugin] does not support generic structs; register a concrete type (a type alias or a wrapper struct)",
        ));
    }
    Ok(item)
}

pub fn plugin(args: Args, item: Item) -> syn::Result<PluginAttr> {
    let item = plugin_struct(item)?;

    let mut errors = Errors::default();
    let mut plugin_type = None;
    let mut capabilities = None;
    let mut name = None;
    let mut version = None;
    let mut description = None;
    let mut depends_on = None;
    let mut permissions = None;
    let mut config = None;
    let mut mock_of = None;
    let mut registry = None;
    let mut placement = Placement::default();
    let mut krate = None;

    let mut type_given = false;
    for Arg { key, value } in args.entries {
        // A misspelt `type` is reported as unknown, not a second time as missing.
        type_given |= strsim::damerau_levenshtein(&key.unraw_string(), "type") <= 1;
        // A registry's plugins need no `type`; one whose `registry` is wrong is reported there.
        type_given |= key == "registry";
        let result = match key.to_string().as_str() {
            "type" => type_spec(&value).map(|v| set_once(&mut plugin_type, &key, v, &mut errors)),
            "capabilities" => identifier_list(&value, "capability")
                .map(|v| set_once(&mut capabilities, &key, v, &mut errors)),
            "permissions" => identifier_list(&value, "permission")
                .map(|v| set_once(&mut permissions, &key, v, &mut errors)),
            "name" => {
                identifier(&value, "plugin name").map(|v| set_once(&mut name, &key, v, &mut errors))
            }
            "mock_of" => identifier(&value, "plugin name")
                .map(|v| set_once(&mut mock_of, &key, v, &mut errors)),
            "version" => {
                semver_version(&value).map(|v| set_once(&mut version, &key, v, &mut errors))
            }
            "description" => {
                string(&value).map(|v| set_once(&mut description, &key, v, &mut errors))
            }
            "depends_on" => {
                dependency_list(&value).map(|v| set_once(&mut depends_on, &key, v, &mut errors))
            }
            "config" => config_type(value).map(|v| set_once(&mut config, &key, v, &mut errors)),
            "registry" => {
                registry_path(&value).map(|v| set_once(&mut registry, &key, v, &mut errors))
            }
            "crate" => crate_path(&value).map(|v| set_once(&mut krate, &key, v, &mut errors)),
            _ => placement
                .read(&key, &value, &mut errors)
                .unwrap_or_else(|| Err(unknown_key(&key, PLUGIN_KEYS, "#[plugin]"))),
        };
        if let Err(error) = result {
            errors.push(error);
        }
    }

    // A plugin of a registry of the user's own trait has the registry's name as its type
    // unless it says otherwise; the default registry (the specification's) requires a type.
    if !type_given {
        errors.push(syn::Error::new(
            Span::call_site(),
            format!(
                "#[plugin] requires `type = ...`; add one of {}, or Custom(\"name\")",
                PLUGIN_TYPES.join(", ")
            ),
        ));
    }
    placement.check_meta(registry.as_ref(), &mut errors);
    errors.finish()?;
    let plugin_type = resolve_type(plugin_type, registry.as_ref());

    let name = if let Some(lit) = name {
        lit.value()
    } else {
        let derived = kebab_case(&item.ident.unraw_string());
        let span = item.ident.span();
        check_identifier(&LitStr::new(&derived, span), "derived plugin name").map_err(|e| {
            syn::Error::new(span, format!("{e}; give the plugin a `name = \"...\"`"))
        })?;
        derived
    };
    let before = placement.before.take().unwrap_or_default();
    let after = placement.after.take().unwrap_or_default();
    check_order(&name, &before, &after)?;
    Ok(PluginAttr {
        item,
        name,
        plugin_type,
        capabilities: capabilities.unwrap_or_default(),
        version,
        description,
        depends_on: depends_on.unwrap_or_default(),
        permissions: permissions.unwrap_or_default(),
        config,
        mock_of,
        registry,
        meta: placement.meta.map(|(_, expr)| expr),
        priority: placement.priority,
        before,
        after,
        wrapper: placement.wrapper.unwrap_or(false),
        krate,
    })
}

/// Where a plugin stands in its registry: its metadata and its order keys.
#[derive(Default)]
struct Placement {
    meta: Option<(Ident, Expr)>,
    priority: Option<syn::LitInt>,
    before: Option<Vec<LitStr>>,
    after: Option<Vec<LitStr>>,
    wrapper: Option<bool>,
}

impl Placement {
    /// Reads `key` if it is one of these; `None` for any other key.
    fn read(&mut self, key: &Ident, value: &Value, errors: &mut Errors) -> Option<syn::Result<()>> {
        Some(match key.to_string().as_str() {
            "meta" => {
                expr(value).map(|v| set_once(&mut self.meta, key, (key.clone(), v.clone()), errors))
            }
            "priority" => {
                priority_value(value).map(|v| set_once(&mut self.priority, key, v, errors))
            }
            "before" => plugin_names(value).map(|v| set_once(&mut self.before, key, v, errors)),
            "after" => plugin_names(value).map(|v| set_once(&mut self.after, key, v, errors)),
            "wrapper" => flag(value).map(|v| set_once(&mut self.wrapper, key, v, errors)),
            _ => return None,
        })
    }

    /// `meta` needs a registry of the user's: the default registry has no metadata type.
    fn check_meta(&self, registry: Option<&Path>, errors: &mut Errors) {
        if let (Some((key, _)), None) = (&self.meta, registry) {
            errors.push(syn::Error::new(
                key.span(),
                "`meta` belongs to a registry declared with `registry!(..., meta = Type)`; add `registry = NAME`",
            ));
        }
    }
}

/// A plugin is not ordered against itself, nor both before and after one plugin.
fn check_order(name: &str, before: &[LitStr], after: &[LitStr]) -> syn::Result<()> {
    let mut errors = Errors::default();
    for lit in before.iter().chain(after) {
        if lit.value() == name {
            errors.push(syn::Error::new(
                lit.span(),
                format!("plugin `{name}` cannot be ordered against itself"),
            ));
        }
    }
    for lit in after {
        if before.iter().any(|b| b.value() == lit.value()) {
            errors.push(syn::Error::new(
                lit.span(),
                format!(
                    "plugin `{name}` is ordered both before and after `{}`",
                    lit.value()
                ),
            ));
        }
    }
    errors.finish()
}

/// `key` alone or `key = true|false`.
fn flag(value: &Value) -> syn::Result<bool> {
    match expr(value)? {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.value),
        other => Err(syn::Error::new_spanned(
            other,
            "expected `true` or `false` (or the key alone, for `true`)",
        )),
    }
}

/// `priority = N`: an `i32`, negative allowed.
fn priority_value(value: &Value) -> syn::Result<syn::LitInt> {
    const EXPECTED: &str =
        "expected a whole number: `priority = 10` (higher runs first; the default is 0)";
    let e = expr(value)?;
    let (negative, lit) = match e {
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => (false, lit),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit {
                lit: Lit::Int(lit), ..
            }) => (true, lit),
            _ => return Err(syn::Error::new_spanned(e, EXPECTED)),
        },
        _ => return Err(syn::Error::new_spanned(e, EXPECTED)),
    };
    if !lit.suffix().is_empty() && lit.suffix() != "i32" {
        return Err(syn::Error::new_spanned(lit, "a priority is an `i32`"));
    }
    let text = format!("{}{}", if negative { "-" } else { "" }, lit.base10_digits());
    text.parse::<i32>()
        .map_err(|_| syn::Error::new_spanned(e, "a priority is an `i32`: out of range"))?;
    Ok(syn::LitInt::new(&text, e.span()))
}

/// `"name"` or `["a", "b"]`: plugin names, each checked.
fn plugin_names(value: &Value) -> syn::Result<Vec<LitStr>> {
    match expr(value)? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => {
            check_identifier(lit, "plugin name")?;
            Ok(vec![lit.clone()])
        }
        _ => identifier_list(value, "plugin name"),
    }
}

/// The type given, or for a plugin of a user's registry the registry's own.
fn resolve_type(given: Option<PluginTypeSpec>, registry: Option<&Path>) -> PluginTypeSpec {
    match (given, registry) {
        (Some(ty), _) => ty,
        (None, Some(path)) => PluginTypeSpec::OfRegistry(path.clone()),
        (None, None) => unreachable!("a missing type or a bad registry was reported above"),
    }
}

pub fn registry(decl: crate::parse::RegistryDecl) -> syn::Result<RegistryAttr> {
    if !matches!(decl.object, Type::TraitObject(_)) {
        return Err(syn::Error::new_spanned(
            &decl.object,
            "registry! holds trait objects: write `registry!(pub NAME: dyn YourTrait)`",
        ));
    }
    let mut errors = Errors::default();
    let mut krate = None;
    let mut meta = None;
    for Arg { key, value } in decl.args {
        let result = match key.to_string().as_str() {
            "crate" => crate_path(&value).map(|v| set_once(&mut krate, &key, v, &mut errors)),
            "meta" => config_type(value).map(|v| set_once(&mut meta, &key, v, &mut errors)),
            _ => Err(unknown_key(&key, REGISTRY_KEYS, "registry!")),
        };
        if let Err(error) = result {
            errors.push(error);
        }
    }
    errors.finish()?;
    // The registry's plugins have its name in kebab-case as their type.
    let derived = kebab_case(&decl.ident.unraw_string()).to_lowercase();
    let plugin_type = LitStr::new(&derived, decl.ident.span());
    check_identifier(&plugin_type, "registry name as a plugin type")?;
    Ok(RegistryAttr {
        attrs: decl.attrs,
        vis: decl.vis,
        ident: decl.ident,
        object: decl.object,
        meta,
        plugin_type,
        krate,
    })
}

pub fn factory(args: Args, item: Item) -> syn::Result<FactoryAttr> {
    let item = match item {
        Item::Fn(item) => item,
        other => {
            return Err(syn::Error::new(
                item_keyword_span(&other),
                "#[plugin_factory] can only be applied to a function `fn(&str) -> Result<Box<dyn Plugin>, PluginError>`",
            ));
        }
    };
    if !item.sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &item.sig.generics,
            "#[plugin_factory] does not support generic functions",
        ));
    }
    if let Some(asyncness) = &item.sig.asyncness {
        return Err(syn::Error::new_spanned(
            asyncness,
            "#[plugin_factory] does not support async functions",
        ));
    }
    check_factory_signature(&item.sig)?;

    let mut errors = Errors::default();
    let mut name = None;
    let mut plugin_type = None;
    let mut variants = None;
    let mut interface = None;
    let mut krate = None;
    let mut type_given = false;
    for Arg { key, value } in args.entries {
        // A misspelt `type` is reported as unknown, not a second time as missing.
        type_given |= strsim::damerau_levenshtein(&key.unraw_string(), "type") <= 1;
        let result = match key.to_string().as_str() {
            "name" => identifier(&value, "factory name")
                .map(|v| set_once(&mut name, &key, v, &mut errors)),
            "type" => type_spec(&value).map(|v| set_once(&mut plugin_type, &key, v, &mut errors)),
            "variants" => identifier_list(&value, "variant")
                .map(|v| set_once(&mut variants, &key, v, &mut errors)),
            "interface" => {
                interface_name(&value).map(|v| set_once(&mut interface, &key, v, &mut errors))
            }
            "crate" => crate_path(&value).map(|v| set_once(&mut krate, &key, v, &mut errors)),
            _ => Err(unknown_key(&key, FACTORY_KEYS, "#[plugin_factory]")),
        };
        if let Err(error) = result {
            errors.push(error);
        }
    }
    if name.is_none() {
        errors.push(syn::Error::new(
            Span::call_site(),
            "#[plugin_factory] requires `name = \"...\"`",
        ));
    }
    if !type_given {
        errors.push(syn::Error::new(
            Span::call_site(),
            format!(
                "#[plugin_factory] requires `type = ...`; add one of {}",
                PLUGIN_TYPES.join(", ")
            ),
        ));
    }
    errors.finish()?;
    Ok(FactoryAttr {
        item,
        name: name.expect("checked above"),
        plugin_type: plugin_type.expect("checked above"),
        variants: variants.unwrap_or_default(),
        interface,
        krate,
    })
}

/// A factory takes the variant as its one `&str` argument and returns something; the type
/// checker reports a wrong return type against `FactoryFn`.
fn check_factory_signature(sig: &syn::Signature) -> syn::Result<()> {
    const SHAPE: &str = "fn(variant: &str) -> Result<Box<dyn Plugin>, PluginError>";
    let takes_str = match sig.inputs.iter().collect::<Vec<_>>().as_slice() {
        [syn::FnArg::Typed(arg)] => matches!(
            &*arg.ty,
            Type::Reference(r) if r.mutability.is_none()
                && matches!(&*r.elem, Type::Path(p) if p.path.is_ident("str"))
        ),
        _ => false,
    };
    if !takes_str {
        let span = if sig.inputs.is_empty() {
            sig.paren_token.span.join()
        } else {
            sig.inputs.span()
        };
        return Err(syn::Error::new(
            span,
            format!("#[plugin_factory] functions take the variant as one `&str`: {SHAPE}"),
        ));
    }
    if matches!(sig.output, syn::ReturnType::Default) {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            format!("#[plugin_factory] functions return the plugin: {SHAPE}"),
        ));
    }
    Ok(())
}

fn item_keyword_span(item: &Item) -> Span {
    match item {
        Item::Enum(i) => i.enum_token.span,
        Item::Union(i) => i.union_token.span,
        Item::Fn(i) => i.sig.fn_token.span,
        Item::Trait(i) => i.trait_token.span,
        Item::Impl(i) => i.impl_token.span,
        Item::Struct(i) => i.struct_token.span,
        other => other.span(),
    }
}

fn unknown_key(key: &Ident, known: &[&str], attr: &str) -> syn::Error {
    let text = key.unraw_string();
    let close = known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&text, k), k))
        .filter(|(d, _)| *d <= 2)
        .min();
    let hint = match close {
        Some((_, k)) => format!("; did you mean `{k}`?"),
        None => format!("; expected one of {}", known.join(", ")),
    };
    syn::Error::new(key.span(), format!("unknown {attr} key `{text}`{hint}"))
}

fn type_spec(value: &Value) -> syn::Result<PluginTypeSpec> {
    let expr = expr(value)?;
    match expr {
        Expr::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last().expect("a path has a segment");
            if PLUGIN_TYPES.contains(&last.ident.to_string().as_str()) && last.arguments.is_none() {
                return Ok(PluginTypeSpec::BuiltIn(last.ident.clone()));
            }
            let text = last.ident.to_string();
            let hint = match PLUGIN_TYPES
                .iter()
                .find(|t| strsim::damerau_levenshtein(&text, t) <= 2)
            {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "expected one of {}, or Custom(\"name\")",
                    PLUGIN_TYPES.join(", ")
                ),
            };
            Err(syn::Error::new_spanned(
                &last.ident,
                format!("unknown plugin type `{text}`; {hint}"),
            ))
        }
        Expr::Call(call) if matches!(&*call.func, Expr::Path(p) if p.path.is_ident("Custom")) => {
            match call.args.iter().collect::<Vec<_>>().as_slice() {
                [arg] => identifier(&Value::Expr((*arg).clone()), "plugin type")
                    .map(PluginTypeSpec::Custom),
                _ => Err(syn::Error::new_spanned(
                    &call.args,
                    "Custom takes one string: Custom(\"name\")",
                )),
            }
        }
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "expected a plugin type: one of {}, or Custom(\"name\")",
                PLUGIN_TYPES.join(", ")
            ),
        )),
    }
}

fn expr(value: &Value) -> syn::Result<&Expr> {
    match value {
        Value::Expr(expr) => Ok(expr),
        Value::Type(ty) => Err(syn::Error::new_spanned(ty, "expected an expression")),
    }
}

fn string(value: &Value) -> syn::Result<LitStr> {
    match expr(value)? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        other => Err(syn::Error::new_spanned(other, "expected a string literal")),
    }
}

fn identifier(value: &Value, what: &str) -> syn::Result<LitStr> {
    let lit = string(value)?;
    check_identifier(&lit, what)?;
    Ok(lit)
}

/// Names and capabilities are `[a-z0-9][a-z0-9._-]*`, as the runtime checks them.
fn check_identifier(lit: &LitStr, what: &str) -> syn::Result<()> {
    let text = lit.value();
    let mut chars = text.chars();
    let ok = match chars.next() {
        None => {
            return Err(syn::Error::new_spanned(
                lit,
                format!("{what} must not be empty"),
            ));
        }
        Some(first) => {
            (first.is_ascii_lowercase() || first.is_ascii_digit())
                && chars.all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
        }
    };
    if ok {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            lit,
            format!(
                "{what} `{text}` must match [a-z0-9][a-z0-9._-]* (lowercase, digits, `.`, `_`, `-`)"
            ),
        ))
    }
}

fn string_list(value: &Value) -> syn::Result<Vec<LitStr>> {
    match expr(value)? {
        Expr::Array(ExprArray { elems, .. }) => elems
            .iter()
            .map(|e| string(&Value::Expr(e.clone())))
            .collect(),
        other => Err(syn::Error::new_spanned(
            other,
            "expected a list of strings: [\"a\", \"b\"]",
        )),
    }
}

fn identifier_list(value: &Value, what: &str) -> syn::Result<Vec<LitStr>> {
    let list = string_list(value)?;
    for (i, lit) in list.iter().enumerate() {
        check_identifier(lit, what)?;
        if list[..i]
            .iter()
            .any(|earlier| earlier.value() == lit.value())
        {
            return Err(syn::Error::new_spanned(
                lit,
                format!("duplicate {what} `{}`", lit.value()),
            ));
        }
    }
    Ok(list)
}

fn semver_version(value: &Value) -> syn::Result<LitStr> {
    let lit = string(value)?;
    semver::Version::parse(&lit.value()).map_err(|e| {
        syn::Error::new_spanned(
            &lit,
            format!("version `{}` is not semver: {e}", lit.value()),
        )
    })?;
    Ok(lit)
}

fn dependency_list(value: &Value) -> syn::Result<Vec<LitStr>> {
    let list = string_list(value)?;
    for lit in &list {
        let text = lit.value();
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| {
                !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
            })
            .unwrap_or(trimmed.len());
        let (name, requirement) = trimmed.split_at(split);
        if name.is_empty() {
            return Err(syn::Error::new_spanned(
                lit,
                format!(
                    "dependency `{text}` must start with a plugin name, as \"base-plugin >= 1.0\""
                ),
            ));
        }
        let requirement = requirement.trim();
        if !requirement.is_empty() {
            semver::VersionReq::parse(requirement).map_err(|e| {
                syn::Error::new_spanned(
                    lit,
                    format!("dependency `{text}` has requirement `{requirement}`, which is not semver: {e}"),
                )
            })?;
        }
    }
    Ok(list)
}

fn config_type(value: Value) -> syn::Result<Type> {
    match value {
        Value::Type(ty) => Ok(ty),
        Value::Expr(expr) => Err(syn::Error::new_spanned(expr, "expected a type")),
    }
}

/// A factory's interface is a type name: `[A-Z][A-Za-z0-9]*`.
fn interface_name(value: &Value) -> syn::Result<LitStr> {
    let lit = string(value)?;
    let text = lit.value();
    let mut chars = text.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(lit)
    } else {
        Err(syn::Error::new_spanned(
            &lit,
            format!(
                "interface `{text}` must be a type name: [A-Z][A-Za-z0-9]*, as \"DataProcessorFactory\""
            ),
        ))
    }
}

fn registry_path(value: &Value) -> syn::Result<Path> {
    match expr(value)? {
        Expr::Path(path) if path.qself.is_none() => Ok(path.path.clone()),
        other => Err(syn::Error::new_spanned(
            other,
            "expected the path of a registry declared with `registry!`: registry = CODECS",
        )),
    }
}

fn crate_path(value: &Value) -> syn::Result<Path> {
    match expr(value)? {
        Expr::Path(path) if path.qself.is_none() => Ok(path.path.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit.parse(),
        other => Err(syn::Error::new_spanned(
            other,
            "expected a path: crate = ::modreg",
        )),
    }
}

/// `DataProcessorPlugin` → `data-processor-plugin`, `HTTPServer` → `http-server`.
pub fn kebab_case(ident: &str) -> String {
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            out.push('-');
            continue;
        }
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push('-');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for Ident {
    fn unraw_string(&self) -> String {
        let s = self.to_string();
        s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
    }
}

#[cfg(test)]
mod tests {
    use super::kebab_case;

    #[test]
    fn kebab() {
        assert_eq!(kebab_case("DataProcessorPlugin"), "data-processor-plugin");
        assert_eq!(kebab_case("HTTPServer"), "http-server");
        assert_eq!(kebab_case("Sha256"), "sha256");
        assert_eq!(kebab_case("Base64Encode"), "base64-encode");
        assert_eq!(kebab_case("my_plugin"), "my-plugin");
    }
}
