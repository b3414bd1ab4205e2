//! A guest's state, and how an instance is put back into it: a fresh guest per call
//! ([`GuestState::FreshPerCall`](crate::GuestState::FreshPerCall)) need not be a new
//! instance, in either engine.
//!
//! An instance of a module holds, by the WebAssembly specification, its memories, its tables,
//! its mutable globals, and which passive segments it dropped; nothing else of it changes
//! between calls. Where a module has no passive segment and imports none of those, an instance
//! whose memories, tables and mutable globals are copied back to what they held is in the
//! state it was copied from. Making an instance costs the interpreter an entity for each of the
//! module's functions, a zeroed memory and the data copied in (8-9 us of a 10 us fresh 64 B
//! call through the codecs guest), and the compiling engine its pool slot's memory protection;
//! copying an instance's state back costs a write of each byte of its memory.
//!
//! An engine's host reaches only what a module exports, and a Rust guest's stack pointer is a
//! mutable global it does not export. So the module an engine compiles is the module with one
//! more export for each memory, table and mutable global, named `modreg-state:...`
//! ([`with_state_exports`]): the guest's code and everything it exports are as they were. The
//! compiling engine leaves out a table no function writes (`writes_tables`): it holds what
//! instantiation put there, and copying it back was a tenth of a fresh small call.
//!
//! What an instance is put back into ([`Image`] for a memory) is taken after the host's first
//! `modreg_alloc(1)`: a Rust guest's allocator grows memory on its first allocation, and a
//! memory cannot shrink, so an image taken before it would fit no instance after a call. The
//! call allocates nothing of a caller's, so the state is still the module's initial one.

use std::ops::Range;

/// The prefix of the exports [`with_state_exports`] adds. A module that already exports a name
/// with it is not reset (its guests are new instances).
const PREFIX: &str = "modreg-state:";

/// A memory's, table's or global's added export name.
fn export_name(kind: &str, index: u32) -> String {
    format!("{PREFIX}{kind}:{index}")
}

/// What of a module's state each instance holds, read with the rest of its shape
/// (`ModuleShape::of`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StateShape {
    /// The index of each mutable global the module defines.
    pub(crate) mutable_globals: Vec<u32>,
    /// Tables and memories the module defines.
    pub(crate) tables: u32,
    pub(crate) memories: u32,
    /// A state a copy cannot put back: a table, memory or global imported (another's state),
    /// a passive segment (which a call may drop), a mutable global of a reference or vector
    /// type, or an export already named like an added one.
    pub(crate) unresettable: Option<&'static str>,
    /// Where the export section is (its id and size too), and how many exports it has.
    pub(crate) export_section: Option<Range<usize>>,
    pub(crate) exports: u32,
}

impl StateShape {
    /// Marks the module as one whose instances cannot be reset, for `reason` (the first kept).
    pub(crate) fn refuse(&mut self, reason: &'static str) {
        self.unresettable.get_or_insert(reason);
    }

    /// Notes an export's name: one like an added export's makes the module unresettable.
    pub(crate) fn export_named(&mut self, name: &str) {
        if name.starts_with(PREFIX) {
            self.refuse("an export is named like the sandbox's own");
        }
    }
}

/// What putting an instance back into its first state came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reset {
    /// It is in the state it was kept in.
    Done,
    /// Nothing was kept: the instance was not made to be reset.
    NothingKept,
    /// It cannot be put back (a memory or a table grew: neither shrinks; or the store
    /// refused a copy), and is to be dropped.
    Failed,
}

/// An engine's store as a reset reads and writes it: the interpreter's and the compiling
/// engine's handles do the same things under two crates' names, and [`StateHandles`] and
/// [`KeptState`] are written once over them.
pub(crate) trait StateStore {
    type Instance: Copy;
    type Memory: Copy;
    type Table: Copy;
    type Global: Copy;
    type Value;
    fn memory_named(&mut self, instance: Self::Instance, name: &str) -> Option<Self::Memory>;
    fn table_named(&mut self, instance: Self::Instance, name: &str) -> Option<Self::Table>;
    fn global_named(&mut self, instance: Self::Instance, name: &str) -> Option<Self::Global>;
    fn memory(&self, memory: Self::Memory) -> &[u8];
    fn memory_mut(&mut self, memory: Self::Memory) -> &mut [u8];
    fn table_size(&self, table: Self::Table) -> u64;
    /// A new table in this store of `table`'s type and size holding its elements (a table's
    /// functions are its instance's own); `None` where one cannot be made.
    fn table_copy(&mut self, table: Self::Table) -> Option<Self::Table>;
    /// Copies `size` elements of `from` over `to`; `false` where the store refused.
    fn copy_table(&mut self, to: Self::Table, from: Self::Table, size: u64) -> bool;
    fn get(&mut self, global: Self::Global) -> Self::Value;
    /// `false` where the store refused.
    fn set(&mut self, global: Self::Global, value: &Self::Value) -> bool;
}

/// An instance's memories, tables and mutable globals, found by the names
/// [`with_state_exports`] gave them.
pub(crate) struct StateHandles<S: StateStore> {
    memories: Vec<S::Memory>,
    tables: Vec<S::Table>,
    globals: Vec<S::Global>,
}

impl<S: StateStore> StateHandles<S> {
    /// The handles of `instance` named `names`; `None` where one is missing.
    pub(crate) fn find(store: &mut S, instance: S::Instance, names: &StateExports) -> Option<Self> {
        Some(StateHandles {
            memories: (names.memories.iter())
                .map(|n| store.memory_named(instance, n))
                .collect::<Option<_>>()?,
            tables: (names.tables.iter())
                .map(|n| store.table_named(instance, n))
                .collect::<Option<_>>()?,
            globals: (names.globals.iter())
                .map(|n| store.global_named(instance, n))
                .collect::<Option<_>>()?,
        })
    }

    /// The instance's state as it is now, for [`KeptState::reset`]; `None` where a table
    /// cannot be copied.
    pub(crate) fn keep(&self, store: &mut S) -> Option<KeptState<S>> {
        let memories = (self.memories.iter())
            .map(|&memory| (memory, Image::of(store.memory(memory))))
            .collect();
        let tables = (self.tables.iter())
            .map(|&table| Some((table, store.table_copy(table)?, store.table_size(table))))
            .collect::<Option<_>>()?;
        let globals = (self.globals.iter())
            .map(|&global| (global, store.get(global)))
            .collect();
        Some(KeptState {
            memories,
            tables,
            globals,
        })
    }
}

/// What an instance's state was: each memory's image, a copy of each table with its size,
/// each mutable global's value.
pub(crate) struct KeptState<S: StateStore> {
    memories: Vec<(S::Memory, Image)>,
    tables: Vec<(S::Table, S::Table, u64)>,
    globals: Vec<(S::Global, S::Value)>,
}

impl<S: StateStore> KeptState<S> {
    /// Puts the instance back into this state: every byte of its memories, every element of
    /// its tables, every mutable global; [`Reset::Failed`] where a memory or a table grew
    /// (neither shrinks) or the store refused a copy.
    pub(crate) fn reset(&self, store: &mut S) -> Reset {
        let same_size = (self.memories.iter())
            .all(|&(memory, ref image)| store.memory(memory).len() == image.len())
            && (self.tables.iter()).all(|&(table, _, size)| store.table_size(table) == size);
        if !same_size {
            return Reset::Failed;
        }
        for (memory, image) in &self.memories {
            image.restore(store.memory_mut(*memory));
        }
        let tables =
            (self.tables.iter()).all(|&(table, copy, size)| store.copy_table(table, copy, size));
        let globals = (self.globals.iter()).all(|(global, value)| store.set(*global, value));
        if tables && globals {
            Reset::Done
        } else {
            Reset::Failed
        }
    }
}

/// The export names of a module's state, as [`with_state_exports`] added them.
#[derive(Clone, Debug, Default)]
pub(crate) struct StateExports {
    pub(crate) memories: Vec<String>,
    pub(crate) tables: Vec<String>,
    pub(crate) globals: Vec<String>,
}

impl StateExports {
    /// The names [`with_state_exports`] adds for `shape`.
    fn of(shape: &StateShape) -> Self {
        StateExports {
            memories: (0..shape.memories)
                .map(|i| export_name("memory", i))
                .collect(),
            tables: (0..shape.tables).map(|i| export_name("table", i)).collect(),
            globals: shape
                .mutable_globals
                .iter()
                .map(|&i| export_name("global", i))
                .collect(),
        }
    }

    /// The names a module compiled earlier (with [`with_state_exports`], or without where its
    /// state cannot be put back) exports for `shape`, asked of `exports`; `None` where it
    /// exports none (it was compiled without them).
    #[cfg(feature = "jit")]
    pub(crate) fn compiled(shape: &StateShape, exports: impl Fn(&str) -> bool) -> Option<Self> {
        if shape.unresettable.is_some() {
            return None;
        }
        let mut names = Self::of(shape);
        for list in [&mut names.memories, &mut names.tables, &mut names.globals] {
            list.retain(|name| exports(name));
        }
        (!names.memories.is_empty()).then_some(names)
    }
}

/// Whether a function of `bytes` may write a table (`table.set`, `.fill`, `.copy`, `.init`,
/// `.grow`); `true` too where the code cannot be read. Where none may, an instance's tables
/// hold what instantiation put there, and a reset need not copy them back (in the compiling
/// engine, a tenth of a fresh small call: BENCHMARKS.md). Reading every function costs about
/// what parsing the module does: worth it where a module is compiled to machine code, not
/// where the interpreter loads it in tens of microseconds.
#[cfg(feature = "jit")]
pub(crate) fn writes_tables(bytes: &[u8]) -> bool {
    use wasmparser::{Operator, Parser, Payload};
    let writes = |payload: wasmparser::Result<Payload<'_>>| -> wasmparser::Result<bool> {
        let Payload::CodeSectionEntry(body) = payload? else {
            return Ok(false);
        };
        let mut operators = body.get_operators_reader()?;
        while !operators.eof() {
            if let Operator::TableSet { .. }
            | Operator::TableFill { .. }
            | Operator::TableCopy { .. }
            | Operator::TableInit { .. }
            | Operator::TableGrow { .. } = operators.read()?
            {
                return Ok(true);
            }
        }
        Ok(false)
    };
    Parser::new(0)
        .parse_all(bytes)
        .any(|payload| writes(payload).unwrap_or(true))
}

/// `bytes` with an export for each memory, table and mutable global `shape` lists, and their
/// names; `None` where an instance's state cannot be put back by copying (`shape`'s reason).
///
/// The export section is written here rather than with an encoder crate: it is a count and a
/// list of (name, kind, index), all LEB128 numbers, and the default build takes no new
/// dependency for it.
pub(crate) fn with_state_exports(
    bytes: &[u8],
    shape: &StateShape,
) -> Option<(Vec<u8>, StateExports)> {
    let exported = shape
        .unresettable
        .is_none()
        .then(|| rewrite(bytes, shape))
        .flatten();
    if exported.is_none() {
        // An operator asking why a module's fresh guests are new instances, not reset ones,
        // reads it here.
        tracing::debug!(
            reason = shape
                .unresettable
                .unwrap_or("its export section could not be rewritten"),
            "a module's instances cannot be reset: a fresh guest per call is a new instance"
        );
    }
    exported
}

/// [`with_state_exports`] of a module whose state a copy can put back.
fn rewrite(bytes: &[u8], shape: &StateShape) -> Option<(Vec<u8>, StateExports)> {
    // Every plugin module exports its memory and two functions; one with no export section
    // is refused at load anyway.
    let section = shape.export_section.clone()?;
    let names = StateExports::of(shape);
    let added = [
        (
            &names.memories,
            2u8,
            (0..shape.memories).collect::<Vec<_>>(),
        ),
        (&names.tables, 1u8, (0..shape.tables).collect()),
        (&names.globals, 3u8, shape.mutable_globals.clone()),
    ];
    let count = shape.exports
        + u32::try_from(names.memories.len() + names.tables.len() + names.globals.len()).ok()?;
    // The old section's entries follow its id, its size and its count.
    let mut reader = &bytes[section.start + 1..section.end];
    read_leb(&mut reader)?;
    read_leb(&mut reader)?;
    let mut contents = Vec::with_capacity(reader.len() + 64);
    write_leb(&mut contents, count);
    contents.extend_from_slice(reader);
    for (names, kind, indices) in added {
        for (name, index) in names.iter().zip(indices) {
            write_leb(&mut contents, u32::try_from(name.len()).ok()?);
            contents.extend_from_slice(name.as_bytes());
            contents.push(kind);
            write_leb(&mut contents, index);
        }
    }
    let mut out = Vec::with_capacity(bytes.len() + contents.len() - reader.len() + 8);
    out.extend_from_slice(&bytes[..section.start]);
    out.push(7);
    write_leb(&mut out, u32::try_from(contents.len()).ok()?);
    out.extend_from_slice(&contents);
    out.extend_from_slice(&bytes[section.end..]);
    Some((out, names))
}

/// Reads an unsigned LEB128 number of at most 32 bits off the front of `bytes`.
fn read_leb(bytes: &mut &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for (i, &byte) in bytes.iter().enumerate().take(5) {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

/// Appends `value` as unsigned LEB128.
fn write_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A memory's bytes as they were: the stretches that were not all zero, at their offsets;
/// every other byte zero. A guest's initial memory is mostly zero (its stack, its heap's
/// free part): putting it back writes zeros there rather than copying them.
#[derive(Debug)]
pub(crate) struct Image {
    len: usize,
    runs: Vec<(usize, Box<[u8]>)>,
}

/// The stretch an image compares at a time.
const CHUNK: usize = 256;

impl Image {
    /// The image of `memory`.
    pub(crate) fn of(memory: &[u8]) -> Self {
        let mut runs: Vec<(usize, Range<usize>)> = Vec::new();
        for (i, chunk) in memory.chunks(CHUNK).enumerate() {
            if chunk.iter().all(|&b| b == 0) {
                continue;
            }
            let at = i * CHUNK;
            match runs.last_mut() {
                Some((_, run)) if run.end == at => run.end = at + chunk.len(),
                _ => runs.push((at, at..at + chunk.len())),
            }
        }
        Image {
            len: memory.len(),
            runs: runs
                .into_iter()
                .map(|(at, run)| (at, memory[run].into()))
                .collect(),
        }
    }

    /// The memory's length when the image was taken.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Puts `memory` (as long as the image's) back into the image's bytes.
    pub(crate) fn restore(&self, memory: &mut [u8]) {
        debug_assert_eq!(memory.len(), self.len);
        let mut at = 0;
        for (offset, bytes) in &self.runs {
            memory[at..*offset].fill(0);
            memory[*offset..*offset + bytes.len()].copy_from_slice(bytes);
            at = offset + bytes.len();
        }
        memory[at..].fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::ExternalKind::{Func, Global, Memory, Table};

    #[test]
    fn an_image_puts_back_every_byte() {
        let mut memory = vec![0u8; 4 * CHUNK + 17];
        memory[3] = 1;
        memory[CHUNK * 2 + 5] = 2;
        memory[CHUNK * 3] = 3;
        memory[4 * CHUNK + 16] = 4;
        let image = Image::of(&memory);
        // Two runs: the first chunk, then chunks 2 and 3 and the short last one together.
        assert_eq!(image.runs.len(), 2);
        let mut changed: Vec<u8> = (0..memory.len())
            .map(|i| u8::try_from(i % 251).unwrap() + 1)
            .collect();
        image.restore(&mut changed);
        assert_eq!(changed, memory);
        let zeros = vec![0u8; 1000];
        let mut changed = vec![9u8; 1000];
        Image::of(&zeros).restore(&mut changed);
        assert_eq!(changed, zeros);
    }

    #[test]
    #[cfg(feature = "jit")]
    fn a_module_writes_tables_where_a_function_may() {
        let module = |body: &str| {
            wat::parse_str(format!(
                r#"(module
                    (table $t 2 funcref)
                    (elem (i32.const 0) func $f)
                    (elem $e func $f)
                    (type $v (func))
                    (func $f)
                    (func (export "g") (param i32) {body}))"#
            ))
            .unwrap()
        };
        let reads = "(call_indirect (type $v) (local.get 0)) (drop (table.get $t (i32.const 0)))";
        assert!(!writes_tables(&module(reads)));
        for write in [
            "(table.set $t (i32.const 1) (ref.null func))",
            "(table.fill $t (i32.const 0) (ref.null func) (i32.const 1))",
            "(table.copy $t $t (i32.const 0) (i32.const 1) (i32.const 1))",
            "(table.init $t $e (i32.const 0) (i32.const 0) (i32.const 1))",
            "(drop (table.grow $t (ref.null func) (i32.const 1)))",
        ] {
            assert!(
                writes_tables(&module(&format!("{reads} {write}"))),
                "{write}"
            );
        }
        // Code that cannot be read may write anything.
        let mut cut = module(reads);
        cut.truncate(cut.len() - 3);
        assert!(writes_tables(&cut));
    }

    #[test]
    fn the_state_exports_are_added_to_the_module_and_nothing_else_changes() {
        let bytes = wat::parse_str(
            r#"(module
                (memory (export "memory") 1)
                (table 2 funcref)
                (global (mut i32) (i32.const 1))
                (global i32 (i32.const 2))
                (global (mut i64) (i64.const 3))
                (func (export "f") (result i32) (global.get 0)))"#,
        )
        .unwrap();
        let shape = crate::shape::ModuleShape::of(&bytes).unwrap().state;
        assert_eq!(shape.mutable_globals, [0, 2]);
        assert_eq!((shape.tables, shape.memories, shape.exports), (1, 1, 2));
        let (rewritten, names) = with_state_exports(&bytes, &shape).unwrap();
        let exports: Vec<(String, wasmparser::ExternalKind, u32)> = wasmparser::Parser::new(0)
            .parse_all(&rewritten)
            .filter_map(|payload| match payload.unwrap() {
                wasmparser::Payload::ExportSection(reader) => Some(reader),
                _ => None,
            })
            .flat_map(|reader| reader.into_iter().map(Result::unwrap))
            .map(|e| (e.name.to_owned(), e.kind, e.index))
            .collect();
        assert_eq!(
            exports,
            [
                ("memory".to_owned(), Memory, 0),
                ("f".to_owned(), Func, 0),
                ("modreg-state:memory:0".to_owned(), Memory, 0),
                ("modreg-state:table:0".to_owned(), Table, 0),
                ("modreg-state:global:0".to_owned(), Global, 0),
                ("modreg-state:global:2".to_owned(), Global, 2),
            ]
        );
        assert_eq!(
            names.globals,
            ["modreg-state:global:0", "modreg-state:global:2"]
        );
        wasmparser::Validator::new()
            .validate_all(&rewritten)
            .unwrap();

        // Not resettable: a passive segment, an imported global, a name like an added one.
        for module in [
            r#"(module (memory 1) (data "x"))"#,
            r#"(module (import "env" "g" (global (mut i32))))"#,
            r#"(module (memory (export "modreg-state:memory:0") 1))"#,
        ] {
            let shape = crate::shape::ModuleShape::of(&wat::parse_str(module).unwrap())
                .unwrap()
                .state;
            assert!(shape.unresettable.is_some(), "{module}");
            assert!(with_state_exports(&[], &shape).is_none());
        }
    }
}
