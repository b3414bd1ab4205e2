//! `ModuleShape`: how many functions, globals, segments, element items and exports a module
//! declares, and the plugins it lists, read from its section headers before it is compiled.
//!
//! Every instance of a module gets an entity for each of them, and the interpreter copies
//! every element segment's items and every export's name into each instance. A fresh guest
//! took, in the interpreter, 46 ms for a module of 900,000 empty functions (3.6 MB), 17 ms
//! for one passive element segment of four million items (4 MB), 3 ms for 8,000 exports of
//! 1 KB names (8 MB): outside any call's time budget, in host memory no memory cap counts.
//! The counts are capped at load (`WasmConfig::with_max_module_functions`, and fixed caps for
//! the rest, which no compiler makes many of), so a fresh guest's cost is bounded before a
//! compiler sees the module. So is the largest function body (its length only): the compiling
//! engine's time and memory grow faster than a body's size (Cranelift took 3.9 s and 430 MB
//! for one 3.6 MB function, in a test build).
//!
//! The plugin listing (the `modreg.plugins` custom section) is read in the same pass: the
//! loader asks the registry's layers about each plugin before the module is compiled
//! (`Change::Declare`), and the compiling engine picks its metering from it.

use wasmparser::{Chunk, DataKind, ElementItems, ElementKind, Parser, Payload, TypeRef, ValType};

use crate::config::WasmConfig;
use crate::state::StateShape;
use modreg_core::wasm_abi::SECTION;

/// The most globals a module may declare (a Rust or C guest has a handful).
pub(crate) const MAX_MODULE_GLOBALS: u32 = 10_000;
/// The most data segments, and the most element segments, a module may declare (a Rust or C
/// guest has a few).
pub(crate) const MAX_MODULE_SEGMENTS: u32 = 10_000;
/// The most exports a module may have (the contract needs three).
pub(crate) const MAX_MODULE_EXPORTS: u32 = 1_000;
/// The most bytes a module's export names may take together: the interpreter copies every
/// name into each instance.
pub(crate) const MAX_MODULE_EXPORT_NAME_BYTES: u32 = 64 << 10;
/// The most items a module's element segments may hold together (a table has at most
/// 100,000 elements; a Rust guest's one segment fills its table, a few hundred).
pub(crate) const MAX_MODULE_ELEMENT_ITEMS: u32 = 100_000;

/// What a module declares that each of its instances makes, and the plugins it lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ModuleShape {
    /// Every custom section named `modreg.plugins`, in order, joined (the plugins the module
    /// lists).
    pub(crate) plugin_section: Vec<u8>,
    /// Functions, imported and defined.
    pub(crate) functions: u32,
    /// Globals, imported and defined.
    pub(crate) globals: u32,
    /// Data segments.
    pub(crate) data_segments: u32,
    /// Element segments.
    pub(crate) element_segments: u32,
    /// The items of every element segment together.
    pub(crate) element_items: u32,
    /// Exports.
    pub(crate) exports: u32,
    /// The bytes of every export's name together.
    pub(crate) export_name_bytes: u32,
    /// The bytes of the largest function body.
    pub(crate) largest_function_bytes: u32,
    /// What of the module's state each instance holds, and where its exports are: how an
    /// interpreted instance is reset (`state`).
    pub(crate) state: StateShape,
}

impl ModuleShape {
    /// The shape of `bytes`, or why they are not a module: what does not parse is refused
    /// here, with wasmparser's reason (the parser both engines validate with). Of function
    /// bodies only the lengths are read: the compiler validates them.
    pub(crate) fn of(bytes: &[u8]) -> Result<Self, String> {
        let mut shape = ModuleShape::default();
        let mut parser = Parser::new(0);
        let mut rest = bytes;
        loop {
            let offset = bytes.len() - rest.len();
            let (consumed, payload) = match parser.parse(rest, true) {
                Ok(Chunk::Parsed { consumed, payload }) => (consumed, payload),
                // Only before the end of input; all of it was given.
                Ok(Chunk::NeedMoreData(_)) => {
                    return Err("not a valid module: it ends early".to_owned());
                }
                Err(e) => return Err(format!("not a valid module: {e}")),
            };
            rest = &rest[consumed..];
            match payload {
                Payload::ImportSection(imports) => {
                    for import in imports.into_iter().flatten() {
                        match import.ty {
                            TypeRef::Func(_) => shape.functions = shape.functions.saturating_add(1),
                            TypeRef::Global(_) => {
                                shape.globals = shape.globals.saturating_add(1);
                                shape.state.refuse("it imports a global");
                            }
                            TypeRef::Table(_) | TypeRef::Memory(_) => {
                                shape.state.refuse("it imports a table or a memory");
                            }
                            TypeRef::Tag(_) => {}
                        }
                    }
                }
                Payload::FunctionSection(functions) => {
                    shape.functions = shape.functions.saturating_add(functions.count());
                }
                Payload::GlobalSection(globals) => {
                    let first = shape.globals;
                    shape.globals = shape.globals.saturating_add(globals.count());
                    for (index, global) in (first..).zip(globals.into_iter().flatten()) {
                        match global.ty.content_type {
                            _ if !global.ty.mutable => {}
                            ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64 => {
                                shape.state.mutable_globals.push(index);
                            }
                            ValType::V128 | ValType::Ref(_) => {
                                shape
                                    .state
                                    .refuse("a mutable global is a vector or a reference");
                            }
                        }
                    }
                }
                Payload::TableSection(tables) => shape.state.tables = tables.count(),
                Payload::MemorySection(memories) => shape.state.memories = memories.count(),
                Payload::DataSection(data) => {
                    shape.data_segments = data.count();
                    for segment in data.into_iter().flatten() {
                        if matches!(segment.kind, DataKind::Passive) {
                            shape.state.refuse("it has a passive data segment");
                        }
                    }
                }
                Payload::ExportSection(exports) => {
                    shape.exports = exports.count();
                    shape.state.exports = exports.count();
                    shape.state.export_section = Some(offset..offset + consumed);
                    for export in exports.into_iter().flatten() {
                        let len = u32::try_from(export.name.len()).unwrap_or(u32::MAX);
                        shape.export_name_bytes = shape.export_name_bytes.saturating_add(len);
                        shape.state.export_named(export.name);
                    }
                }
                Payload::ElementSection(elements) => {
                    shape.element_segments = elements.count();
                    for element in elements.into_iter().flatten() {
                        if matches!(element.kind, ElementKind::Passive) {
                            shape.state.refuse("it has a passive element segment");
                        }
                        let items = match element.items {
                            ElementItems::Functions(items) => items.count(),
                            ElementItems::Expressions(_, items) => items.count(),
                        };
                        shape.element_items = shape.element_items.saturating_add(items);
                    }
                }
                // Each body's length, from its header; no instruction is read.
                Payload::CodeSectionEntry(body) => {
                    let len = u32::try_from(body.range().len()).unwrap_or(u32::MAX);
                    shape.largest_function_bytes = shape.largest_function_bytes.max(len);
                }
                Payload::CustomSection(section) if section.name() == SECTION => {
                    shape.plugin_section.extend_from_slice(section.data());
                }
                Payload::End(_) => return Ok(shape),
                _ => {}
            }
        }
    }

    /// Refuses a shape over `config`'s caps, naming what is over and the cap.
    pub(crate) fn check(&self, config: &WasmConfig) -> Result<(), String> {
        let caps = [
            (
                "functions",
                self.functions,
                config.max_module_functions(),
                " (WasmConfig::with_max_module_functions)",
            ),
            ("globals", self.globals, MAX_MODULE_GLOBALS, ""),
            ("data segments", self.data_segments, MAX_MODULE_SEGMENTS, ""),
            (
                "element segments",
                self.element_segments,
                MAX_MODULE_SEGMENTS,
                "",
            ),
            (
                "element items",
                self.element_items,
                MAX_MODULE_ELEMENT_ITEMS,
                "",
            ),
            ("exports", self.exports, MAX_MODULE_EXPORTS, ""),
            (
                "bytes of export names",
                self.export_name_bytes,
                MAX_MODULE_EXPORT_NAME_BYTES,
                "",
            ),
        ];
        if let Some((what, count, cap, how)) =
            caps.into_iter().find(|(_, count, cap, _)| count > cap)
        {
            return Err(format!(
                "declares {count} {what}, over the limit of {cap}{how}: each instance makes every one"
            ));
        }
        let cap = config.max_function_bytes();
        if self.largest_function_bytes as usize > cap {
            return Err(format!(
                "has a function body of {} bytes, over the limit of {cap} (WasmConfig::with_max_function_bytes): compiling it costs more than its size",
                self.largest_function_bytes
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shape_counts_items_measures_bodies_and_joins_the_plugin_listing() {
        let bytes = wat::parse_str(
            r#"(module
                (import "modreg" "panic_message" (func (param i32 i32)))
                (import "env" "g" (global i32))
                (memory 1)
                (table 1 funcref)
                (global i32 (i32.const 1))
                (global i32 (i32.const 2))
                (func (export "one")) (func (export "two")) (func (drop (i32.const 7)))
                (elem (i32.const 0) func 1)
                (elem func 0 1 2)
                (data (i32.const 0) "a")
                (data (i32.const 8) "b")
                (@custom "modreg.plugins" (before first) "ab")
                (@custom "other" "x")
                (@custom "modreg.plugins" (after data) "cd"))"#,
        )
        .unwrap();
        assert_eq!(
            ModuleShape::of(&bytes).unwrap(),
            ModuleShape {
                plugin_section: b"abcd".to_vec(),
                functions: 4,
                globals: 3,
                data_segments: 2,
                element_segments: 2,
                element_items: 4,
                exports: 2,
                export_name_bytes: 6,
                // `i32.const 7; drop; end`, after one byte of local declarations.
                largest_function_bytes: 5,
                state: ModuleShape::of(&bytes).unwrap().state,
            }
        );
        // What does not parse is refused with the parser's reason.
        for cut in [b"\0asm\x01".as_slice(), &bytes[..bytes.len() - 3]] {
            let reason = ModuleShape::of(cut).unwrap_err();
            assert!(reason.starts_with("not a valid module: "), "{reason}");
        }
    }
}
