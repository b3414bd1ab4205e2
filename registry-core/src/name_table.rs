//! The name index: names to table positions in one probe.
//!
//! Every descriptor carries the hash of its name, computed by [`name_hash`] at compile time
//! (it is a `const fn`, called in the descriptor's `const` constructor), so building the table
//! hashes nothing. The table is open-addressed with linear probing, a power of two at most
//! half full; a slot holds the name's full hash and the entry's position, so a lookup is one
//! hash of the query, usually one slot, and one string compare on a hash match.
//!
//! The hash is not keyed: the names in the table come from the binary, not from its input, so
//! a hostile query cannot lengthen a probe sequence; the worst it can do is miss, which stops at
//! the first empty slot.

/// Marks an empty slot.
const EMPTY: u32 = u32::MAX;

/// Multipliers of the folded multiply (the fractional parts of pi and e).
const K0: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0xb7e1_5162_8aed_2a6b;

/// The 128-bit product of `a` and `b`, folded to 64 bits: each input bit reaches every
/// output bit.
#[inline]
#[allow(clippy::cast_possible_truncation)] // the two halves of the product, on purpose
const fn fold(a: u64, b: u64) -> u64 {
    let full = (a as u128).wrapping_mul(b as u128);
    (full as u64) ^ ((full >> 64) as u64)
}

/// Up to 8 bytes of `bytes` from `start` as a little-endian word, zero-padded.
#[inline]
const fn word(bytes: &[u8], start: usize) -> u64 {
    let mut value = 0u64;
    let mut i = 0;
    while i < 8 && start + i < bytes.len() {
        value |= (bytes[start + i] as u64) << (8 * i);
        i += 1;
    }
    value
}

/// The hash of a plugin name, the same at compile time and at run time.
#[inline]
pub const fn name_hash(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut hash = fold(bytes.len() as u64 ^ K0, K1);
    let mut start = 0;
    while start + 16 <= bytes.len() {
        hash = fold(hash ^ word(bytes, start), K1 ^ word(bytes, start + 8));
        start += 16;
    }
    if start < bytes.len() {
        hash = fold(hash ^ word(bytes, start), K1 ^ word(bytes, start + 8));
    }
    fold(hash, K0)
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    hash: u64,
    position: u32,
}

/// Names to positions, for names whose hashes are known.
#[derive(Debug)]
pub(crate) struct NameTable {
    slots: Box<[Slot]>,
    mask: usize,
}

impl NameTable {
    /// A table of `names`, each `(hash, position)`; positions are distinct, names too.
    pub(crate) fn build(names: impl ExactSizeIterator<Item = (u64, u32)>) -> Self {
        let capacity = (names.len() * 2).next_power_of_two().max(2);
        let mut slots = vec![
            Slot {
                hash: 0,
                position: EMPTY,
            };
            capacity
        ]
        .into_boxed_slice();
        let mask = capacity - 1;
        for (hash, position) in names {
            // The mask keeps the hash's low bits; the cast keeps at least as many.
            #[allow(clippy::cast_possible_truncation)] // masked to the table size
            let mut i = hash as usize & mask;
            while slots[i].position != EMPTY {
                i = (i + 1) & mask;
            }
            slots[i] = Slot { hash, position };
        }
        NameTable { slots, mask }
    }

    /// The position of the name `is_name` accepts among those with hash `hash`.
    #[inline]
    pub(crate) fn find(&self, hash: u64, is_name: impl Fn(u32) -> bool) -> Option<u32> {
        #[allow(clippy::cast_possible_truncation)] // masked to the table size
        let mut i = hash as usize & self.mask;
        loop {
            let slot = self.slots[i];
            if slot.position == EMPTY {
                return None;
            }
            if slot.hash == hash && is_name(slot.position) {
                return Some(slot.position);
            }
            i = (i + 1) & self.mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_name_and_misses_others() {
        let names: Vec<String> = (0..1000).map(|i| format!("plugin-{i}")).collect();
        let table = NameTable::build(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (name_hash(n), u32::try_from(i).unwrap())),
        );
        for (i, name) in names.iter().enumerate() {
            let found = table.find(name_hash(name), |p| names[p as usize] == *name);
            assert_eq!(found, Some(u32::try_from(i).unwrap()));
        }
        for miss in ["", "plugin-1000", "plugin-", "x"] {
            assert_eq!(
                table.find(name_hash(miss), |p| names[p as usize] == miss),
                None
            );
        }
    }

    #[test]
    fn the_hash_sees_every_byte_and_the_length() {
        const AT_COMPILE_TIME: u64 = name_hash("gzip-compress");
        let a = name_hash("gzip-compress");
        assert_ne!(a, name_hash("gzip-compresS"));
        assert_ne!(a, name_hash("gzip-compres"));
        assert_ne!(name_hash("a"), name_hash("a\0"));
        assert_ne!(name_hash(""), name_hash("\0"));
        // 17 bytes: the tail word counts too.
        assert_ne!(
            name_hash("abcdefghijklmnopq"),
            name_hash("abcdefghijklmnopr")
        );
        assert_eq!(AT_COMPILE_TIME, a);
    }

    #[test]
    fn an_empty_table_misses() {
        let table = NameTable::build(std::iter::empty());
        assert_eq!(table.find(name_hash("x"), |_| true), None);
    }
}
