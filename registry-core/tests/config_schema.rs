//! The settings a plugin accepts, read from its `config` type: every field, which are
//! required, and the defaults of the others when the type can show them.

// The config types exist to be read, not used.
#![allow(dead_code, clippy::unnecessary_wraps)]

use std::collections::BTreeMap;

use modreg_core::{PluginError, PluginSettings, SettingInfo, SettingValue, plugin, registry};
use serde::{Deserialize, Serialize};

pub trait Job: Send + Sync {
    fn run(&self) -> String;
}

registry!(JOBS: dyn Job);

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    Fast,
    Careful,
}

#[derive(Deserialize, Serialize)]
struct Retry {
    attempts: u32,
}

fn five() -> u8 {
    5
}

fn careful() -> Mode {
    Mode::Careful
}

/// Every kind of field: required scalars and structs, serde defaults, options, an enum,
/// a list, a renamed key.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Full {
    endpoint: String,
    #[serde(default)]
    verbose: bool,
    #[serde(default = "five")]
    workers: u8,
    timeout_ms: Option<u64>,
    retry: Retry,
    #[serde(default = "careful")]
    mode: Mode,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(rename = "label", default)]
    name: String,
}

#[plugin(registry = JOBS, config = Full)]
struct FullJob;

impl FullJob {
    fn from_config(_: Full) -> Result<Self, PluginError> {
        Ok(FullJob)
    }
}

impl Job for FullJob {
    fn run(&self) -> String {
        "full".into()
    }
}

/// No `Serialize`: names and requiredness only.
#[derive(Deserialize)]
struct Bare {
    path: String,
    #[serde(default)]
    depth: u32,
}

#[plugin(registry = JOBS, config = Bare)]
struct BareJob;

impl BareJob {
    fn from_config(_: Bare) -> Result<Self, PluginError> {
        Ok(BareJob)
    }
}

impl Job for BareJob {
    fn run(&self) -> String {
        "bare".into()
    }
}

#[plugin(registry = JOBS)]
#[derive(Default)]
struct PlainJob;

impl Job for PlainJob {
    fn run(&self) -> String {
        "plain".into()
    }
}

type Setting = (&'static str, bool, Option<String>);

fn setting(name: &'static str, required: bool, default: Option<&str>) -> Setting {
    (name, required, default.map(str::to_owned))
}

/// `SettingInfo` may grow (`#[non_exhaustive]`): compared by the fields it has.
fn fields(settings: &[SettingInfo]) -> Vec<Setting> {
    settings
        .iter()
        .map(|s| {
            (
                s.name,
                s.required,
                s.default.as_ref().map(ToString::to_string),
            )
        })
        .collect()
}

#[test]
fn every_field_with_requiredness_and_defaults() {
    let settings = JOBS.get("full-job").unwrap().settings_schema().unwrap();
    assert_eq!(
        fields(&settings),
        [
            setting("endpoint", true, None),
            setting("verbose", false, Some("false")),
            setting("workers", false, Some("5")),
            // An `Option` absent by default: no value, not a word standing for one.
            setting("timeout_ms", false, None),
            setting("retry", true, None),
            setting("mode", false, Some("\"careful\"")),
            // Not a scalar: its default is not shown.
            setting("tags", false, None),
            setting("label", false, Some("\"\"")),
        ]
    );
    let shown: Vec<String> = settings.iter().map(ToString::to_string).collect();
    assert_eq!(shown[0], "endpoint (required)");
    assert_eq!(shown[2], "workers = 5");
    assert_eq!(shown[6], "tags (optional)");
    assert_eq!(shown[3], "timeout_ms (optional)");
    // The defaults are typed values, as a configuration file would hold them.
    assert_eq!(settings[2].default, Some(SettingValue::Integer(5)));
    assert_eq!(settings[1].default, Some(SettingValue::Bool(false)));
    assert_eq!(
        settings[5].default,
        Some(SettingValue::String("careful".into()))
    );
}

#[test]
fn without_serialize_names_and_requiredness_only() {
    assert_eq!(
        fields(&JOBS.get("bare-job").unwrap().settings_schema().unwrap()),
        [setting("path", true, None), setting("depth", false, None)]
    );
}

#[test]
fn a_plugin_without_config_takes_no_settings() {
    assert_eq!(JOBS.get("plain-job").unwrap().settings_schema(), None);
}

#[test]
fn the_schema_matches_what_creation_accepts() {
    // Exactly the required keys are enough to create it.
    let endpoint = ("endpoint".to_owned(), SettingValue::String("x".into()));
    let retry = (
        "retry".to_owned(),
        SettingValue::Table(BTreeMap::from([(
            "attempts".to_owned(),
            SettingValue::Integer(1),
        )])),
    );
    let enough = PluginSettings::from_values(BTreeMap::from([endpoint.clone(), retry]));
    assert_eq!(JOBS.create_with("full-job", &enough).unwrap().run(), "full");
    let missing = PluginSettings::from_values(BTreeMap::from([endpoint]));
    assert!(JOBS.create_with("full-job", &missing).is_err());
}
