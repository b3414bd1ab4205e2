//! How `modreg` prints plugins: an aligned table, or JSON.

use std::fmt::Write as _;
use std::io::Write;

use modreg::{PluginInfo, PluginOrigin};

use crate::error::{CliError, STDOUT};
use serde::Serialize;

use crate::crate_of;

#[derive(Serialize)]
struct Row<'a> {
    name: &'a str,
    version: &'a str,
    #[serde(rename = "type")]
    plugin_type: String,
    capabilities: Vec<&'a str>,
    #[serde(rename = "crate")]
    crate_name: String,
    description: &'a str,
}

impl<'a> Row<'a> {
    fn new(info: &'a PluginInfo) -> Self {
        Row {
            name: info.name(),
            version: info.version(),
            plugin_type: info.plugin_type().to_string(),
            capabilities: info.capabilities(),
            crate_name: crate_of(info),
            description: info.description(),
        }
    }
}

fn write_error(e: std::io::Error) -> CliError {
    CliError::io(STDOUT)(e)
}

/// Prints `plugins` as a table or as a JSON array.
pub fn plugins(out: &mut impl Write, plugins: &[PluginInfo], json: bool) -> Result<(), CliError> {
    let rows: Vec<Row> = plugins.iter().map(Row::new).collect();
    if json {
        let text = serde_json::to_string_pretty(&rows).expect("rows serialize");
        return writeln!(out, "{text}").map_err(write_error);
    }
    let header = ["NAME", "VERSION", "TYPE", "CAPABILITIES", "CRATE"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            // Names come from modules and files too: shown escaped, a cell is one line and
            // drives no terminal.
            [
                r.name.to_owned(),
                r.version.to_owned(),
                r.plugin_type.clone(),
                r.capabilities.join(","),
                r.crate_name.clone(),
            ]
            .map(|cell| crate::escape_controls(&cell))
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ");
            }
        }
        text
    };
    let mut text = line(header);
    text.push('\n');
    for row in &cells {
        text.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
        text.push('\n');
    }
    out.write_all(text.as_bytes()).map_err(write_error)
}

#[derive(Serialize)]
struct Detail<'a> {
    #[serde(flatten)]
    row: Row<'a>,
    depends_on: Vec<&'a str>,
    permissions: Vec<&'a str>,
    /// The settings its config type accepts; absent when it takes none.
    settings: Option<Vec<Setting>>,
    defined_at: DefinedAt,
}

/// One setting, as `show` prints it.
#[derive(Serialize)]
struct Setting {
    name: &'static str,
    required: bool,
    /// The value used when the setting is absent, typed as a configuration file writes it;
    /// `null` when required, absent by default, or not shown by the config type.
    default: Option<serde_json::Value>,
}

/// Where a plugin comes from: a source location, or a module or registration at run time.
#[derive(Serialize)]
#[serde(untagged)]
enum DefinedAt {
    Source {
        file: &'static str,
        line: u32,
        module: &'static str,
    },
    Module {
        module: String,
        sha256: Option<String>,
        /// The version of its plugins record (`docs/wasm-abi.md`).
        #[serde(skip_serializing_if = "Option::is_none")]
        abi: Option<String>,
        /// The limits its record asks for (version 2), `name=value` separated by commas.
        #[serde(skip_serializing_if = "Option::is_none")]
        limits: Option<String>,
    },
    Runtime {
        registered_at_run_time: bool,
    },
}

impl std::fmt::Display for DefinedAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DefinedAt::Source { file, line, module } => write!(f, "{file}:{line} ({module})"),
            DefinedAt::Module {
                module,
                sha256,
                abi,
                limits,
            } => {
                write!(f, "loaded from {module} (WebAssembly")?;
                if let Some(abi) = abi {
                    write!(f, ", record version {abi}")?;
                }
                if let Some(limits) = limits {
                    write!(f, ", asks {limits}")?;
                }
                write!(f, ", sha256 {})", sha256.as_deref().unwrap_or("?"))
            }
            DefinedAt::Runtime { .. } => f.write_str("registered at run time"),
        }
    }
}

/// A setting's value as JSON.
fn json_value(value: &modreg::SettingValue) -> serde_json::Value {
    use modreg::SettingValue as V;
    match value {
        V::Bool(b) => (*b).into(),
        V::Integer(n) => (*n).into(),
        V::Float(x) => (*x).into(),
        V::String(s) => s.as_str().into(),
        V::Array(items) => items.iter().map(json_value).collect(),
        V::Table(table) => table
            .iter()
            .map(|(k, v)| (k.clone(), json_value(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

/// Prints one plugin with every field.
pub fn detail(out: &mut impl Write, info: &PluginInfo, json: bool) -> Result<(), CliError> {
    let defined_at = match info.origin() {
        PluginOrigin::Compiled(location) => DefinedAt::Source {
            file: location.file,
            line: location.line,
            module: location.module_path,
        },
        PluginOrigin::Runtime => match info.metadata().get("wasm.module") {
            Some(module) => DefinedAt::Module {
                module: (*module).to_owned(),
                sha256: info.metadata().get("wasm.sha256").map(|s| (*s).to_owned()),
                abi: info.metadata().get("wasm.abi").map(|s| (*s).to_owned()),
                limits: info.metadata().get("wasm.limits").map(|s| (*s).to_owned()),
            },
            None => DefinedAt::Runtime {
                registered_at_run_time: true,
            },
        },
    };
    let detail = Detail {
        row: Row::new(info),
        depends_on: info.depends_on(),
        permissions: info.permissions(),
        settings: info.settings().map(|settings| {
            settings
                .into_iter()
                .map(|s| Setting {
                    name: s.name,
                    required: s.required,
                    default: s.default.as_ref().map(json_value),
                })
                .collect()
        }),
        defined_at,
    };
    let text = if json {
        serde_json::to_string_pretty(&detail).expect("detail serializes")
    } else {
        let r = &detail.row;
        let settings = match info.settings() {
            None if info.origin() == PluginOrigin::Runtime => {
                "(not listed: registered at run time)".to_owned()
            }
            None => "(takes no settings)".to_owned(),
            Some(settings) if settings.is_empty() => "(none listed)".to_owned(),
            Some(settings) => settings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        };
        // A list that is empty is left out: a blank line says nothing a reader can use.
        let fields = [
            ("name", r.name.to_owned()),
            ("version", r.version.to_owned()),
            ("type", r.plugin_type.clone()),
            ("capabilities", r.capabilities.join(", ")),
            ("description", r.description.to_owned()),
            ("depends on", detail.depends_on.join(", ")),
            ("permissions", detail.permissions.join(", ")),
            ("settings", settings),
            ("crate", r.crate_name.clone()),
            ("defined at", detail.defined_at.to_string()),
        ];
        let fields = fields.iter().filter(|(label, value)| {
            !(value.is_empty() && matches!(*label, "depends on" | "permissions" | "capabilities"))
        });
        // Each value escaped: a module's description or file name is one line and drives no
        // terminal.
        fields
            .map(|(label, value)| {
                format!(
                    "{:<14}{}",
                    format!("{label}:"),
                    crate::escape_controls(value)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    writeln!(out, "{text}").map_err(write_error)
}

/// A conformance report as JSON: the module, its codec's plugins, whether it conforms, and
/// every case with `ok`, its error (if any) and its time in milliseconds.
pub fn conformance_json(
    out: &mut impl Write,
    report: &modreg::conformance::ConformanceReport,
) -> Result<(), CliError> {
    let cases: Vec<serde_json::Value> = report
        .cases
        .iter()
        .map(|case| {
            serde_json::json!({
                "name": case.name,
                "ok": case.result.is_ok(),
                "error": case.result.as_ref().err(),
                "ms": case.took.as_secs_f64() * 1e3,
            })
        })
        .collect();
    let value = serde_json::json!({
        "module": report.module,
        "encoder": report.plugins.as_ref().map(|(encode, _)| encode),
        "decoder": report.plugins.as_ref().map(|(_, decode)| decode),
        "conforms": report.conforms(),
        "passed": report.passed(),
        "cases": cases,
    });
    let text = serde_json::to_string_pretty(&value).expect("a report serializes");
    writeln!(out, "{text}").map_err(write_error)
}
