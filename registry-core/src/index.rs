//! The index over a table of descriptors, built once on first use.
//!
//! # How it is laid out
//!
//! - `entries`: the descriptors sorted by name, so that a prefix is a contiguous range;
//! - `by_name`: name → position and entry in a [`NameTable`] keyed by the hash each descriptor carries
//!   (computed at compile time), so building it hashes nothing and a lookup is one probe;
//! - `by_type`: positions sorted by type then name, with one range per type;
//! - capabilities are interned to small ids, each with a bitset over positions, so a query
//!   for several required capabilities is a word-wise AND.
//!
//! Two descriptors with the same name are both left out of the index and remembered as a
//! conflict; asking for that name returns [`PluginErrorKind::DuplicatePlugin`] naming both
//! definitions.
//!
//! Whether each entry's `depends_on` is met by the table is decided here, once: the table
//! cannot change, so creating a plugin reads one bit instead of parsing requirements. So is
//! the run order (`before`/`after`, priority, name; see `order.rs`).

use std::collections::HashMap;
use std::ops::Range;

use foldhash::fast::FixedState;

use crate::error::{PluginError, PluginErrorKind};
use crate::factory_descriptor::FactoryDescriptor;
use crate::location::SourceLocation;
use crate::name_table::NameTable;
use crate::order::{RunOrder, run_order};
use crate::plugin::Plugin;
use crate::plugin::PluginDescriptor;
use crate::plugin_type::PluginType;
use crate::validate::check_dependency;

type FastMap<K, V> = HashMap<K, V, FixedState>;

/// Two compiled-in definitions of one name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Conflict {
    /// The name both use.
    pub name: &'static str,
    /// The first definition found.
    pub first: SourceLocation,
    /// The second definition found.
    pub second: SourceLocation,
}

impl Conflict {
    /// The error that asking for this name returns.
    pub fn to_error(&self) -> PluginError {
        PluginError::from(PluginErrorKind::DuplicatePlugin {
            name: self.name.to_owned(),
            first: Box::new(self.first),
            second: Box::new(self.second),
        })
    }
}

/// A set of positions in the index, one bit each.
#[derive(Clone, Debug, Default)]
struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    fn with_len(len: usize) -> Self {
        BitSet {
            words: vec![0; len.div_ceil(64)],
        }
    }

    fn insert(&mut self, position: usize) {
        self.words[position / 64] |= 1 << (position % 64);
    }

    fn contains(&self, position: usize) -> bool {
        self.words[position / 64] & (1 << (position % 64)) != 0
    }
}

/// The sorted, hashed and interned view of a descriptor table.
#[derive(Debug)]
pub struct PluginIndex<T: ?Sized + 'static = dyn Plugin> {
    entries: Vec<&'static PluginDescriptor<T>>,
    by_name: NameTable<(u32, &'static PluginDescriptor<T>)>,
    by_type: Vec<u32>,
    type_ranges: Vec<(PluginType, Range<usize>)>,
    capability_ids: FastMap<&'static str, u32>,
    capability_sets: Vec<BitSet>,
    conflicts: Vec<Conflict>,
    factories: Vec<&'static FactoryDescriptor>,
    factory_conflicts: Vec<Conflict>,
    mocks: FastMap<&'static str, u32>,
    /// Entries with a `depends_on` the table does not meet.
    unmet: BitSet,
    order: RunOrder,
}

impl<T: ?Sized> PluginIndex<T> {
    /// Builds the index over `plugins` and `factories`.
    ///
    /// ```
    /// use modreg_core::PluginIndex;
    /// let empty = <PluginIndex>::build([], []);
    /// assert!(empty.is_empty());
    /// ```
    pub fn build(
        plugins: impl IntoIterator<Item = &'static PluginDescriptor<T>>,
        factories: impl IntoIterator<Item = &'static FactoryDescriptor>,
    ) -> Self {
        let (entries, conflicts) =
            dedup_by_name(plugins.into_iter().collect(), |d| (d.name(), d.location()));
        let (factories, factory_conflicts) = dedup_by_name(factories.into_iter().collect(), |f| {
            (f.name(), f.location())
        });

        let by_name = NameTable::build(
            entries
                .iter()
                .enumerate()
                .map(|(position, &d)| (d.name_hash(), d.name(), (to_u32(position), d))),
        );

        let mut by_type: Vec<u32> = (0..to_u32(entries.len())).collect();
        by_type.sort_by_key(|&p| entries[p as usize].plugin_type());
        let mut type_ranges: Vec<(PluginType, Range<usize>)> = Vec::new();
        for (i, &p) in by_type.iter().enumerate() {
            let ty = entries[p as usize].plugin_type();
            match type_ranges.last_mut() {
                Some((last, range)) if *last == ty => range.end = i + 1,
                _ => type_ranges.push((ty, i..i + 1)),
            }
        }

        let mut capability_ids = FastMap::default();
        let mut capability_sets: Vec<BitSet> = Vec::new();
        for (position, d) in entries.iter().enumerate() {
            for &cap in d.capabilities() {
                let next = to_u32(capability_sets.len());
                let id = *capability_ids.entry(cap).or_insert(next);
                if id == next {
                    capability_sets.push(BitSet::with_len(entries.len()));
                }
                capability_sets[id as usize].insert(position);
            }
        }

        let mut mocks = FastMap::default();
        for (position, d) in entries.iter().enumerate() {
            if let Some(real) = d.mock_of() {
                mocks.insert(real, to_u32(position));
            }
        }

        let mut unmet = BitSet::with_len(entries.len());
        for (position, d) in entries.iter().enumerate() {
            let met = d.depends_on().iter().all(|spec| {
                check_dependency(d.name(), spec, |name| {
                    by_name.find(name).map(|(_, d)| d.version().to_owned())
                })
                .is_ok()
            });
            if !met {
                unmet.insert(position);
            }
        }

        let order = run_order(&entries, |name| by_name.find(name).map(|(p, _)| p));

        PluginIndex {
            entries,
            by_name,
            by_type,
            type_ranges,
            capability_ids,
            capability_sets,
            conflicts,
            factories,
            factory_conflicts,
            mocks,
            unmet,
            order,
        }
    }

    /// How many plugins are indexed (conflicting names excluded).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no plugin is indexed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every indexed plugin, sorted by name.
    pub fn entries(&self) -> &[&'static PluginDescriptor<T>] {
        &self.entries
    }

    /// The plugin called `name`.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&'static PluginDescriptor<T>> {
        self.by_name.find(name).map(|(_, d)| d)
    }

    /// Every indexed plugin in run order: `before`/`after`, then priority (higher first), then
    /// name. Total even when [`order_check`](Self::order_check) fails: the plugins it cannot
    /// place follow the others.
    pub fn in_order(&self) -> impl ExactSizeIterator<Item = &'static PluginDescriptor<T>> + '_ {
        self.order
            .positions
            .iter()
            .map(|&p| self.entries[p as usize])
    }

    /// Whether the `before`/`after` of the plugins form an order: the first name that is not
    /// in the table, or a circle, is the error.
    pub fn order_check(&self) -> Result<(), PluginError> {
        self.order.check()
    }

    /// Where the plugin called `name` is in [`entries`](Self::entries), and its entry: both
    /// from the name table's slot.
    #[doc(hidden)] // Used by the host's creation path.
    #[inline]
    pub fn find(&self, name: &str) -> Option<(u32, &'static PluginDescriptor<T>)> {
        self.by_name.find(name)
    }

    /// Where the plugin called `name` is in [`entries`](Self::entries).
    #[inline]
    pub(crate) fn position(&self, name: &str) -> Option<u32> {
        self.by_name.find(name).map(|(position, _)| position)
    }

    /// The plugin called `name` and whether the table meets its `depends_on`: one hash and
    /// one bit, decided when the index was built.
    #[inline]
    pub fn get_checked(&self, name: &str) -> Option<(&'static PluginDescriptor<T>, bool)> {
        self.by_name
            .find(name)
            .map(|(position, d)| (d, self.met(position)))
    }

    /// Whether the table meets the `depends_on` of the plugin at `position`.
    #[doc(hidden)] // Used by the host's creation path.
    #[inline]
    pub fn met(&self, position: u32) -> bool {
        !self.unmet.contains(position as usize)
    }

    /// Why the table does not meet the `depends_on` of `descriptor` (`Ok` when it does).
    pub fn check_dependencies(&self, descriptor: &PluginDescriptor<T>) -> Result<(), PluginError> {
        for spec in descriptor.depends_on() {
            check_dependency(descriptor.name(), spec, |name| {
                self.get(name).map(|d| d.version().to_owned())
            })?;
        }
        Ok(())
    }

    /// The compiled-in plugin marked as the mock of `name`.
    pub fn mock_for(&self, name: &str) -> Option<&'static PluginDescriptor<T>> {
        self.mocks.get(name).map(|&p| self.entries[p as usize])
    }

    /// The conflict on `name`, if two definitions claimed it.
    pub fn conflict(&self, name: &str) -> Option<&Conflict> {
        self.conflicts.iter().find(|c| c.name == name)
    }

    /// Every name claimed twice.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// The plugins of type `ty`, sorted by name.
    pub fn of_type(
        &self,
        ty: PluginType,
    ) -> impl ExactSizeIterator<Item = &'static PluginDescriptor<T>> + '_ {
        let range = self
            .type_ranges
            .iter()
            .find(|(t, _)| *t == ty)
            .map_or(0..0, |(_, r)| r.clone());
        self.by_type[range]
            .iter()
            .map(|&p| self.entries[p as usize])
    }

    /// The plugins whose name starts with `prefix`, sorted by name.
    pub fn with_prefix(&self, prefix: &str) -> &[&'static PluginDescriptor<T>] {
        let start = self.entries.partition_point(|d| d.name() < prefix);
        let len = self.entries[start..].partition_point(|d| d.name().starts_with(prefix));
        &self.entries[start..start + len]
    }

    /// The plugins that have every capability in `required`, sorted by name.
    ///
    /// An empty `required` matches every plugin. A capability no plugin has matches none.
    pub fn with_capabilities(&self, required: &[&str]) -> Vec<&'static PluginDescriptor<T>> {
        let mut found = Vec::new();
        self.matching(required).for_each(|d| found.push(d));
        found
    }

    /// The plugins that have every capability in `required`, sorted by name, as an iterator
    /// over the index's own bitsets: no allocation for up to 8 required capabilities.
    ///
    /// ```
    /// use modreg_core::PluginIndex;
    /// let empty = <PluginIndex>::build([], []);
    /// assert_eq!(empty.matching(&["compression"]).count(), 0);
    /// ```
    pub fn matching<'a, S: AsRef<str>>(&'a self, required: &[S]) -> Matching<'a, T> {
        let done = Matching {
            index: self,
            state: MatchState::Done,
        };
        let mut sets = Sets::with_len(required.len());
        for (slot, cap) in sets.as_mut_slice().iter_mut().zip(required) {
            match self.capability_ids.get(cap.as_ref()) {
                Some(&id) => *slot = &self.capability_sets[id as usize].words,
                None => return done,
            }
        }
        let state = if required.is_empty() {
            MatchState::All(0)
        } else {
            MatchState::Bits {
                sets,
                word: 0,
                bits: 0,
            }
        };
        Matching { index: self, state }
    }

    /// Whether the plugin at `name` has capability `cap`: one hash and one bit test.
    pub fn has_capability(&self, name: &str, cap: &str) -> bool {
        match (self.position(name), self.capability_ids.get(cap)) {
            (Some(p), Some(&c)) => self.capability_sets[c as usize].contains(p as usize),
            _ => false,
        }
    }

    /// Every distinct capability, in no particular order.
    pub fn capabilities(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.capability_ids.keys().copied()
    }

    /// The factory called `name`.
    pub fn factory(&self, name: &str) -> Option<&'static FactoryDescriptor> {
        self.factories
            .binary_search_by(|f| f.name().cmp(name))
            .ok()
            .map(|i| self.factories[i])
    }

    /// Every compiled-in factory, sorted by name.
    pub fn factories(&self) -> &[&'static FactoryDescriptor] {
        &self.factories
    }

    /// Every factory name claimed twice.
    pub fn factory_conflicts(&self) -> &[Conflict] {
        &self.factory_conflicts
    }
}

/// Sorts by name, removing every name that occurs more than once and reporting it.
fn dedup_by_name<T>(
    mut items: Vec<&'static T>,
    key: impl Fn(&T) -> (&'static str, SourceLocation),
) -> (Vec<&'static T>, Vec<Conflict>) {
    items.sort_by(|a, b| key(a).0.cmp(key(b).0));
    let mut kept = Vec::with_capacity(items.len());
    let mut conflicts = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let (name, first) = key(items[i]);
        let mut j = i + 1;
        while j < items.len() && key(items[j]).0 == name {
            conflicts.push(Conflict {
                name,
                first,
                second: key(items[j]).1,
            });
            j += 1;
        }
        if j == i + 1 {
            kept.push(items[i]);
        }
        i = j;
    }
    (kept, conflicts)
}

/// How many required capabilities [`PluginIndex::matching`] resolves without allocating.
const MATCHING_INLINE: usize = 8;

/// The bitsets of the required capabilities: in place up to [`MATCHING_INLINE`], else on the
/// heap.
#[derive(Debug)]
enum Sets<'a> {
    Inline([&'a [u64]; MATCHING_INLINE], usize),
    Heap(Vec<&'a [u64]>),
}

impl<'a> Sets<'a> {
    fn with_len(len: usize) -> Self {
        if len <= MATCHING_INLINE {
            Sets::Inline([&[]; MATCHING_INLINE], len)
        } else {
            Sets::Heap(vec![&[]; len])
        }
    }

    fn as_slice(&self) -> &[&'a [u64]] {
        match self {
            Sets::Inline(sets, len) => &sets[..*len],
            Sets::Heap(sets) => sets,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [&'a [u64]] {
        match self {
            Sets::Inline(sets, len) => &mut sets[..*len],
            Sets::Heap(sets) => sets,
        }
    }
}

/// The plugins with every required capability, in name order: see [`PluginIndex::matching`].
#[derive(Debug)]
pub struct Matching<'a, T: ?Sized + 'static = dyn Plugin> {
    index: &'a PluginIndex<T>,
    state: MatchState<'a>,
}

#[derive(Debug)]
enum MatchState<'a> {
    /// No plugin matches.
    Done,
    /// Every plugin matches; the next position.
    All(usize),
    /// The bitsets to AND, the next word and the bits of the current one still to yield.
    Bits {
        sets: Sets<'a>,
        word: usize,
        bits: u64,
    },
}

impl<T: ?Sized> Iterator for Matching<'_, T> {
    type Item = &'static PluginDescriptor<T>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let entries = &self.index.entries;
        match &mut self.state {
            MatchState::Done => None,
            MatchState::All(next) => {
                let found = entries.get(*next).copied();
                *next += 1;
                found
            }
            MatchState::Bits { sets, word, bits } => loop {
                if *bits != 0 {
                    let bit = bits.trailing_zeros() as usize;
                    *bits &= *bits - 1;
                    return Some(entries[(*word - 1) * 64 + bit]);
                }
                let (first, rest) = sets.as_slice().split_first()?;
                if *word >= first.len() {
                    return None;
                }
                *bits = rest.iter().fold(first[*word], |acc, set| acc & set[*word]);
                *word += 1;
            },
        }
    }

    /// Internal iteration (`for_each`, `count`, `sum`, ...): one loop over the words, with no
    /// state to save between matches.
    fn fold<B, F: FnMut(B, Self::Item) -> B>(self, init: B, mut f: F) -> B {
        let entries = &self.index.entries;
        match self.state {
            MatchState::Done => init,
            MatchState::All(next) => entries[next.min(entries.len())..]
                .iter()
                .fold(init, |acc, d| f(acc, d)),
            MatchState::Bits { sets, word, bits } => {
                let mut acc = drain_bits(entries, word.saturating_sub(1), bits, init, &mut f);
                let Some((first, rest)) = sets.as_slice().split_first() else {
                    return acc;
                };
                if let [second] = rest {
                    // Two capabilities, the common query: a plain loop over two slices.
                    // Equal lengths, shown to the compiler: no bounds checks in the loop.
                    let len = first.len().min(second.len());
                    let (first, second) = (&first[..len], &second[..len]);
                    for w in word..first.len() {
                        acc = drain_bits(entries, w, first[w] & second[w], acc, &mut f);
                    }
                    return acc;
                }
                for (w, &head) in first.iter().enumerate().skip(word) {
                    let bits = rest.iter().fold(head, |acc, set| acc & set[w]);
                    acc = drain_bits(entries, w, bits, acc, &mut f);
                }
                acc
            }
        }
    }
}

/// Folds the entries whose bits are set in word `word`.
#[allow(clippy::inline_always)] // called once per word of the bitset, in the loop's body
#[inline(always)]
fn drain_bits<T: ?Sized, B>(
    entries: &[&'static PluginDescriptor<T>],
    word: usize,
    mut bits: u64,
    mut acc: B,
    f: &mut impl FnMut(B, &'static PluginDescriptor<T>) -> B,
) -> B {
    while bits != 0 {
        let bit = bits.trailing_zeros() as usize;
        bits &= bits - 1;
        acc = f(acc, entries[word * 64 + bit]);
    }
    acc
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("more than u32::MAX plugins")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::PluginSettings;

    fn never(_: &PluginSettings) -> Result<Box<dyn Plugin>, PluginError> {
        Err(PluginError::from(PluginErrorKind::NoImplementation {
            name: String::new(),
        }))
    }

    const fn at(line: u32) -> SourceLocation {
        SourceLocation {
            crate_name: "t",
            module_path: "t",
            file: "t.rs",
            line,
        }
    }

    static TABLE: [PluginDescriptor; 5] = [
        PluginDescriptor::new("b", "1.0.0", PluginType::Storage, never, at(1))
            .with_capabilities(&["x", "y"]),
        PluginDescriptor::new("a", "1.0.0", PluginType::Analyzer, never, at(2))
            .with_capabilities(&["x"]),
        PluginDescriptor::new("ab", "1.0.0", PluginType::Storage, never, at(3)),
        PluginDescriptor::new("dup", "1.0.0", PluginType::Storage, never, at(4)),
        PluginDescriptor::new("dup", "2.0.0", PluginType::Storage, never, at(5)),
    ];

    fn index() -> PluginIndex {
        PluginIndex::build(&TABLE, [])
    }

    fn names<'a>(it: impl IntoIterator<Item = &'a PluginDescriptor>) -> Vec<&'a str> {
        it.into_iter().map(PluginDescriptor::name).collect()
    }

    #[test]
    fn sorts_and_finds_by_name() {
        let idx = index();
        assert_eq!(names(idx.entries().iter().copied()), ["a", "ab", "b"]);
        assert_eq!(idx.get("ab").unwrap().location().line, 3);
        assert!(idx.get("zz").is_none());
    }

    #[test]
    fn duplicate_names_are_conflicts_not_overwrites() {
        let idx = index();
        assert!(idx.get("dup").is_none());
        let conflict = idx.conflict("dup").unwrap();
        assert_eq!((conflict.first.line, conflict.second.line), (4, 5));
        let msg = conflict.to_error().to_string();
        assert!(msg.contains("t.rs:4") && msg.contains("t.rs:5"), "{msg}");
    }

    #[test]
    fn type_ranges_prefix_and_capabilities() {
        let idx = index();
        assert_eq!(names(idx.of_type(PluginType::Storage)), ["ab", "b"]);
        assert_eq!(names(idx.of_type(PluginType::Security)), Vec::<&str>::new());
        assert_eq!(names(idx.with_prefix("a").iter().copied()), ["a", "ab"]);
        assert_eq!(names(idx.with_capabilities(&["x"])), ["a", "b"]);
        assert_eq!(names(idx.with_capabilities(&["x", "y"])), ["b"]);
        assert_eq!(
            names(idx.with_capabilities(&["x", "nope"])),
            Vec::<&str>::new()
        );
        assert_eq!(idx.with_capabilities(&[]).len(), 3);
        assert!(idx.has_capability("b", "y"));
        assert!(!idx.has_capability("a", "y"));
    }

    #[test]
    fn dependencies_are_decided_once() {
        static DEPS: [PluginDescriptor; 3] = [
            PluginDescriptor::new("base", "1.2.0", PluginType::Storage, never, at(1)),
            PluginDescriptor::new("ok", "1.0.0", PluginType::Storage, never, at(2))
                .with_dependencies(&["base >= 1.0"]),
            PluginDescriptor::new("bad", "1.0.0", PluginType::Storage, never, at(3))
                .with_dependencies(&["base >= 2.0"]),
        ];
        let idx = PluginIndex::build(&DEPS, []);
        assert!(idx.get_checked("ok").unwrap().1);
        let (bad, met) = idx.get_checked("bad").unwrap();
        assert!(!met);
        assert!(matches!(
            idx.check_dependencies(bad)
                .as_ref()
                .map_err(PluginError::kind),
            Err(PluginErrorKind::IncompatibleDependency { .. })
        ));
    }

    #[test]
    fn capability_sets_cross_word_boundaries() {
        let table: Vec<&'static PluginDescriptor> = (0..200u32)
            .map(|i| {
                let name: &'static str = Box::leak(format!("p{i:03}").into_boxed_str());
                let caps: &'static [&'static str] = match i {
                    0 | 63 | 64 | 199 => &["x", "y"],
                    130 => &["x", "y", "z"],
                    _ => &["x"],
                };
                &*Box::leak(Box::new(
                    PluginDescriptor::new(name, "1.0.0", PluginType::Storage, never, at(i))
                        .with_capabilities(caps),
                ))
            })
            .collect();
        let idx = PluginIndex::build(table, []);
        assert_eq!(
            names(idx.with_capabilities(&["y", "x"])),
            ["p000", "p063", "p064", "p130", "p199"]
        );
        assert_eq!(idx.with_capabilities(&["x"]).len(), 200);
    }
}
