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

/// One plugin of a random order table: its priority, the plugins it runs `before` and `after`
/// (by number; a number past the table is a name it does not have).
type OrderRow = (i32, Vec<usize>, Vec<usize>);

/// `o0`, `o1`, ...: names that sort as their numbers do below ten.
fn order_name(n: usize) -> &'static str {
    Box::leak(format!("o{n}").into_boxed_str())
}

fn order_table(rows: &[OrderRow]) -> Vec<&'static PluginDescriptor> {
    let names = |numbers: &[usize]| -> &'static [&'static str] {
        Box::leak(
            numbers
                .iter()
                .map(|&n| order_name(n))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        )
    };
    rows.iter()
        .enumerate()
        .map(|(i, (priority, before, after))| {
            leak(
                PluginDescriptor::new(
                    order_name(i),
                    "1.0.0",
                    PluginType::DataProcessor,
                    never,
                    HERE,
                )
                .with_priority(*priority)
                .with_order(names(before), names(after)),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The run order, checked against its definition rather than another implementation: each
    /// plugin runs after every plugin it is `after` and every plugin `before` it; of those free
    /// to run, the highest priority, then the first name, goes next. A circle is reported as
    /// a circle that is really there (each runs before the next, told from its first name), a
    /// name not in the table as that name; the order lists every plugin once either way.
    #[test]
    fn the_run_order_is_the_one_its_rules_define(
        rows in (1usize..10).prop_flat_map(|n| proptest::collection::vec(
            (
                -2i32..3,
                proptest::collection::vec(0..n, 0..3),
                proptest::collection::vec(0..n, 0..2),
            ),
            n,
        )),
        // Most tables keep every edge pointing forward (no circle can form); the others are
        // left as drawn, which makes circles common.
        forward in prop::bool::weighted(0.6),
        // Now and then a plugin names one that is not in the table (number `n`).
        stranger in proptest::option::weighted(0.2, (any::<prop::sample::Index>(), any::<bool>())),
    ) {
        let n = rows.len();
        let mut rows = rows;
        if forward {
            for (i, (_, before, after)) in rows.iter_mut().enumerate() {
                before.retain(|&j| j > i);
                after.retain(|&j| j < i);
            }
        }
        if let Some((plugin, before)) = stranger {
            let (_, befores, afters) = &mut rows[plugin.index(n)];
            if before { befores } else { afters }.push(n);
        }
        let table = order_table(&rows);
        let index = PluginIndex::build(table.iter().copied(), []);
        // `first` runs before `then`, by either plugin's attribute (names past the table aside).
        let mut edges = std::collections::BTreeSet::new();
        for (i, (_, before, after)) in rows.iter().enumerate() {
            edges.extend(before.iter().filter(|&&j| j < n).map(|&j| (i, j)));
            edges.extend(after.iter().filter(|&&j| j < n).map(|&j| (j, i)));
        }
        let order: Vec<usize> = index
            .in_order()
            .map(|d| d.name()[1..].parse().unwrap())
            .collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        prop_assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "every plugin once");
        // Placed as the rules place them, as far as they can be.
        let rank = |q: usize| (std::cmp::Reverse(rows[q].0), q);
        let mut placed = vec![false; n];
        let mut stuck = None;
        for (at, &p) in order.iter().enumerate() {
            let free: Vec<usize> = (0..n)
                .filter(|&q| !placed[q] && edges.iter().all(|&(a, b)| b != q || placed[a]))
                .collect();
            match free.iter().copied().min_by_key(|&q| rank(q)) {
                Some(next) if stuck.is_none() => prop_assert_eq!(p, next, "order {:?}", order),
                _ => {
                    stuck.get_or_insert(at);
                }
            }
            placed[p] = true;
        }
        // Nothing free: the rest is on or behind a circle, and follows by priority, then name.
        if let Some(at) = stuck {
            let rest = &order[at..];
            prop_assert!(rest.windows(2).all(|w| rank(w[0]) < rank(w[1])), "rest {:?}", rest);
        }
        let stuck = stuck.is_some();
        let unknown = rows.iter().enumerate().find_map(|(i, (_, before, after))| {
            before.iter().map(|&j| ("before", j)).chain(after.iter().map(|&j| ("after", j)))
                .find(|&(_, j)| j >= n)
                .map(|(relation, j)| (i, relation, j))
        });
        match index.order_check().map_err(PluginError::into_kind) {
            Ok(()) => prop_assert!(!stuck && unknown.is_none()),
            Err(PluginErrorKind::OrderCycle { cycle }) => {
                prop_assert!(stuck, "a circle reported where none is: {:?}", cycle);
                let numbers: Vec<usize> = cycle.iter().map(|c| c[1..].parse().unwrap()).collect();
                prop_assert!(numbers.len() >= 2 && numbers.first() == numbers.last());
                for pair in numbers.windows(2) {
                    prop_assert!(edges.contains(&(pair[0], pair[1])), "{:?} is no circle", cycle);
                }
                prop_assert_eq!(numbers.iter().min(), numbers.first(), "told from its first name");
            }
            Err(PluginErrorKind::UnknownInOrder { plugin, relation, other }) => {
                prop_assert!(!stuck);
                let (i, expected_relation, j) = unknown.expect("a name not in the table");
                prop_assert_eq!(
                    (plugin.as_str(), relation, other.as_str()),
                    (order_name(i), expected_relation, order_name(j))
                );
            }
            Err(other) => prop_assert!(false, "{:?}", other),
        }
    }
}
