//! Every query of the index returns exactly what a naive filter over the same descriptors
//! returns, for random tables of up to 10,000 descriptors (duplicated names included).

use std::collections::BTreeMap;

use modreg::{
    ModuleRegistry, Plugin, PluginCapabilityQuery, PluginDescriptor, PluginError, PluginErrorKind,
    PluginIndex, PluginInfo, PluginSettings, PluginType, SourceLocation,
};
use proptest::prelude::*;

const TYPES: [PluginType; 5] = [
    PluginType::DataProcessor,
    PluginType::Analyzer,
    PluginType::Storage,
    PluginType::Security,
    PluginType::Custom("custom"),
];
const CAPABILITIES: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];
const HERE: SourceLocation = SourceLocation::new("t", "t", "t.rs", 1);

fn never(_: &PluginSettings) -> Result<Box<dyn Plugin>, PluginError> {
    Err(PluginError::from(PluginErrorKind::NoImplementation {
        name: String::new(),
    }))
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// (name number, type index, capability bits) → a leaked descriptor.
fn table(rows: &[(u16, usize, u8)]) -> Vec<&'static PluginDescriptor> {
    rows.iter()
        .map(|&(name, ty, caps)| {
            let caps: Vec<&'static str> = CAPABILITIES
                .iter()
                .enumerate()
                .filter(|(i, _)| caps & (1 << i) != 0)
                .map(|(_, c)| *c)
                .collect();
            let caps: &'static [&'static str] = Box::leak(caps.into_boxed_slice());
            let name: &'static str = Box::leak(format!("p{name}").into_boxed_str());
            leak(
                PluginDescriptor::new(name, "1.0.0", TYPES[ty], never, HERE)
                    .with_capabilities(caps),
            )
        })
        .collect()
}

/// The descriptors whose name occurs once, sorted by name: what the index should hold.
fn unique(table: &[&'static PluginDescriptor]) -> Vec<&'static PluginDescriptor> {
    let mut by_name: BTreeMap<&str, Vec<&'static PluginDescriptor>> = BTreeMap::new();
    for d in table {
        by_name.entry(d.name()).or_default().push(d);
    }
    by_name
        .into_values()
        .filter(|v| v.len() == 1)
        .map(|v| v[0])
        .collect()
}

fn names<'a>(it: impl IntoIterator<Item = &'a PluginDescriptor>) -> Vec<&'a str> {
    it.into_iter().map(PluginDescriptor::name).collect()
}

fn rows(max: usize) -> impl Strategy<Value = Vec<(u16, usize, u8)>> {
    proptest::collection::vec((0u16..20_000, 0..TYPES.len(), any::<u8>()), 0..max)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_query_matches_a_naive_filter(
        rows in prop_oneof![rows(50), rows(10_000)],
        probes in proptest::collection::vec(0u16..20_000, 20),
        // Up to 11 required (repeats allowed): past the 8 that `matching` holds in place.
        required in proptest::collection::vec(0..CAPABILITIES.len(), 0..12),
        optional in proptest::collection::vec(0..CAPABILITIES.len(), 0..3),
        prefix in "p[0-9]{0,3}",
    ) {
        let table = table(&rows);
        let index = PluginIndex::build(table.iter().copied(), []);
        let expected = unique(&table);

        prop_assert_eq!(names(index.entries().iter().copied()), names(expected.iter().copied()));
        for probe in probes {
            let name = format!("p{probe}");
            let naive = expected.iter().find(|d| d.name() == name).map(|d| d.name());
            prop_assert_eq!(index.get(&name).map(PluginDescriptor::name), naive);
            let claimed = table.iter().filter(|d| d.name() == name).count();
            prop_assert_eq!(index.conflict(&name).is_some(), claimed > 1);
        }
        for ty in TYPES {
            let naive: Vec<&str> = names(expected.iter().copied().filter(|d| d.plugin_type() == ty));
            prop_assert_eq!(names(index.of_type(ty)), naive);
        }
        let required: Vec<&str> = required.iter().map(|&i| CAPABILITIES[i]).collect();
        let naive: Vec<&str> = names(
            expected
                .iter()
                .copied()
                .filter(|d| required.iter().all(|r| d.capabilities().contains(r))),
        );
        prop_assert_eq!(names(index.with_capabilities(&required)), naive.clone());
        // Internal iteration (`fold`) yields the same, also after a few `next` calls.
        for skip in [0, 1, 3] {
            let mut matching = index.matching(&required);
            let mut seen: Vec<&str> = matching.by_ref().take(skip).map(PluginDescriptor::name).collect();
            matching.for_each(|d| seen.push(d.name()));
            prop_assert_eq!(&seen, &naive);
        }
        // Through the registry: optional capabilities rank the required set, ties by name.
        let optional: Vec<&str> = optional.iter().map(|&i| CAPABILITIES[i]).collect();
        let mut ranked = naive.clone();
        let score = |n: &str| {
            let d = expected.iter().find(|d| d.name() == n).unwrap();
            optional.iter().filter(|o| d.capabilities().contains(o)).count()
        };
        ranked.sort_by_key(|n| std::cmp::Reverse(score(n)));
        let registry = ModuleRegistry::with_index(index);
        let found = registry
            .discover_plugins_by_capabilities(
                PluginCapabilityQuery::new()
                    .with_required_capabilities(required.clone())
                    .with_optional_capabilities(optional.clone()),
            )
            .unwrap();
        prop_assert_eq!(found.iter().map(PluginInfo::name).collect::<Vec<_>>(), ranked);
        let index = registry.index();
        let naive_prefix: Vec<&str> = names(expected.iter().copied().filter(|d| d.name().starts_with(&prefix)));
        prop_assert_eq!(names(index.with_prefix(&prefix).iter().copied()), naive_prefix);
    }
}
