//! WebAssembly guests written as text (with the `wat` crate): the smallest modules that keep
//! the call contract, for tests that need a module of a given shape (a version, an answer, a
//! declared permission). Included with `#[path]`.

/// A module in text form whose plugin `greeter` answers `answer`.
pub fn guest_answering(answer: &str, version: &str) -> Vec<u8> {
    guest_named("greeter", answer, version)
}

/// A module in text form whose plugin `name` answers `answer` whatever its input.
pub fn guest_named(name: &str, answer: &str, version: &str) -> Vec<u8> {
    guest_typed(name, answer, version, "data-processor")
}

/// [`guest_named`] with a plugin type of its own.
pub fn guest_typed(name: &str, answer: &str, version: &str, plugin_type: &str) -> Vec<u8> {
    let len = answer.len();
    let module = wat::parse_str(format!(
        r#"(module
            (memory (export "memory") 1)
            (data (i32.const 32) "{answer}")
            (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
            ;; The answer record at 0: status 0, the answer at 32, its length.
            (func (export "modreg_process") (param i32 i32 i32) (result i32)
                (i32.store (i32.const 0) (i32.const 0))
                (i32.store (i32.const 4) (i32.const 32))
                (i32.store (i32.const 8) (i32.const {len}))
                (i32.const 0)))"#
    ))
    .unwrap();
    with_section(module, name, version, plugin_type, &[], &[])
}

/// A module that answers its input (at most 63 KiB: it is written at 1024 of one page).
pub const ECHO: &str = r#"(module
    (memory (export "memory") 1)
    (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
    ;; The answer record at 0: status 0, the input itself (at 1024) as the answer.
    (func (export "modreg_process") (param i32 i32 i32) (result i32)
        (i32.store (i32.const 0) (i32.const 0))
        (i32.store (i32.const 4) (i32.const 1024))
        (i32.store (i32.const 8) (local.get 2))
        (i32.const 0)))"#;

/// A module in text form whose plugin `name` answers its input, declaring `permissions` and
/// `depends_on`.
pub fn echo_guest(
    name: &str,
    version: &str,
    plugin_type: &str,
    permissions: &[&str],
    depends_on: &[&str],
) -> Vec<u8> {
    let module = wat::parse_str(ECHO).unwrap();
    with_section(module, name, version, plugin_type, permissions, depends_on)
}

/// A module whose plugin `name` counts its calls twice, in a mutable global and in a byte of
/// its memory, and answers both counts as digits before adding one: a guest that keeps state.
pub fn counting_guest(name: &str) -> Vec<u8> {
    let module = wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            (global $calls (mut i32) (i32.const 0))
            (func (export "modreg_alloc") (param i32) (result i32) (i32.const 1024))
            (func (export "modreg_process") (param i32 i32 i32) (result i32)
                (i32.store8 (i32.const 32) (i32.add (i32.const 48) (global.get $calls)))
                (i32.store8 (i32.const 33) (i32.add (i32.const 48) (i32.load8_u (i32.const 100))))
                (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
                (i32.store8 (i32.const 100) (i32.add (i32.load8_u (i32.const 100)) (i32.const 1)))
                (i32.store (i32.const 0) (i32.const 0))
                (i32.store (i32.const 4) (i32.const 32))
                (i32.store (i32.const 8) (i32.const 2))
                (i32.const 0)))"#,
    )
    .unwrap();
    with_section(module, name, "1.0.0", "data-processor", &[], &[])
}

/// A module whose plugin `name` keeps state in every place an instance holds it, and answers
/// what it finds before changing each: its calls in a mutable global it does not export, a
/// byte of its memory, the function a table's first element names (the guest then puts the
/// second's there), and its memory's size in pages, as four digits: `0001` in a guest no call
/// used. `extra` is added to the module (a passive segment), `at_end` run at the end of each
/// call, and `alloc` is `modreg_alloc`'s body (`(i32.const 1024)`: where the input goes).
pub fn stateful_guest(name: &str, extra: &str, at_end: &str, alloc: &str) -> Vec<u8> {
    let module = wat::parse_str(format!(
        r#"(module
            (memory (export "memory") 1)
            (global $calls (mut i32) (i32.const 0))
            (type $digit (func (result i32)))
            (table $table 2 funcref)
            (elem (i32.const 0) func $zero $one)
            (func $zero (result i32) (i32.const 0))
            (func $one (result i32) (i32.const 1))
            {extra}
            (func (export "modreg_alloc") (param i32) (result i32) {alloc})
            (func (export "modreg_process") (param i32 i32 i32) (result i32)
                (i32.store8 (i32.const 32) (i32.add (i32.const 48) (global.get $calls)))
                (i32.store8 (i32.const 33) (i32.add (i32.const 48) (i32.load8_u (i32.const 100))))
                (i32.store8 (i32.const 34)
                    (i32.add (i32.const 48) (call_indirect (type $digit) (i32.const 0))))
                (i32.store8 (i32.const 35) (i32.add (i32.const 48) (memory.size)))
                (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
                (i32.store8 (i32.const 100) (i32.add (i32.load8_u (i32.const 100)) (i32.const 1)))
                (table.set $table (i32.const 0) (table.get $table (i32.const 1)))
                {at_end}
                ;; The answer record at 0: status 0, the four digits at 32.
                (i32.store (i32.const 0) (i32.const 0))
                (i32.store (i32.const 4) (i32.const 32))
                (i32.store (i32.const 8) (i32.const 4))
                (i32.const 0)))"#
    ))
    .unwrap();
    with_section(module, name, "1.0.0", "data-processor", &[], &[])
}

/// `module` with a `modreg.plugins` section describing one plugin appended (a version-1
/// record).
fn with_section(
    module: Vec<u8>,
    name: &str,
    version: &str,
    plugin_type: &str,
    permissions: &[&str],
    depends_on: &[&str],
) -> Vec<u8> {
    with_record(
        module,
        name,
        version,
        plugin_type,
        permissions,
        depends_on,
        None,
    )
}

/// [`text_guest`] with a version-2 record asking for `limits` (`name=value`).
pub fn text_guest_limited(text: &str, name: &str, limits: &[&str]) -> Vec<u8> {
    with_record(
        wat::parse_str(text).unwrap(),
        name,
        "1.0.0",
        "data-processor",
        &[],
        &[],
        Some(limits),
    )
}

/// A module of two plugins, `name-encode` (capabilities `encoding`, `hex`) and `name-decode`
/// (`decoding`, `hex`), both answering their input unchanged: a hex codec in name only, which
/// the conformance kit must fail.
pub fn fake_hex_codec(name: &str) -> Vec<u8> {
    let module = wat::parse_str(ECHO).unwrap();
    let encode = record(
        &format!("{name}-encode"),
        "1.0.0",
        "encoding",
        &["encoding", "hex"],
        &[],
        &[],
        None,
    );
    let decode = record(
        &format!("{name}-decode"),
        "1.0.0",
        "encoding",
        &["decoding", "hex"],
        &[],
        &[],
        None,
    );
    append_section(module, &[encode, decode].concat())
}

/// `module` (a module that keeps the call contract) with one more plugin in its listing: `name`,
/// a `data-processor` at 1.0.0.
pub fn with_plugin(module: Vec<u8>, name: &str) -> Vec<u8> {
    with_record(module, name, "1.0.0", "data-processor", &[], &[], None)
}

/// `module` with a section of one record: version 1, or version 2 with `limits`.
fn with_record(
    module: Vec<u8>,
    name: &str,
    version: &str,
    plugin_type: &str,
    permissions: &[&str],
    depends_on: &[&str],
    limits: Option<&[&str]>,
) -> Vec<u8> {
    let record = record(
        name,
        version,
        plugin_type,
        &[],
        permissions,
        depends_on,
        limits,
    );
    append_section(module, &record)
}

/// One record of the plugins section: version 1, or version 2 with `limits`.
fn record(
    name: &str,
    version: &str,
    plugin_type: &str,
    capabilities: &[&str],
    permissions: &[&str],
    depends_on: &[&str],
    limits: Option<&[&str]>,
) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&u32::try_from(s.len()).unwrap().to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    fn list(out: &mut Vec<u8>, items: &[&str]) {
        out.extend_from_slice(&u32::try_from(items.len()).unwrap().to_le_bytes());
        for item in items {
            string(out, item);
        }
    }
    let mut out = vec![if limits.is_some() { 2 } else { 1 }];
    for field in [name, version, plugin_type, "a test guest"] {
        string(&mut out, field);
    }
    list(&mut out, capabilities);
    list(&mut out, permissions);
    list(&mut out, depends_on);
    if let Some(limits) = limits {
        list(&mut out, limits);
    }
    out
}

/// `module` with a `modreg.plugins` custom section holding `records` appended.
fn append_section(mut module: Vec<u8>, records: &[u8]) -> Vec<u8> {
    let section_name = b"modreg.plugins";
    // The section's name, its length as one LEB128 byte; then the records.
    let mut payload = vec![u8::try_from(section_name.len()).unwrap()];
    payload.extend_from_slice(section_name);
    payload.extend_from_slice(records);
    module.push(0); // a custom section
    let mut size = payload.len();
    loop {
        let byte = u8::try_from(size & 0x7f).unwrap();
        size >>= 7;
        if size == 0 {
            module.push(byte);
            break;
        }
        module.push(byte | 0x80);
    }
    module.extend_from_slice(&payload);
    module
}

/// `text` (a whole module, which keeps or breaks the call contract as a test needs) with a
/// `modreg.plugins` section for one plugin `name` at `version`.
pub fn text_guest(text: &str, name: &str, version: &str) -> Vec<u8> {
    with_section(
        wat::parse_str(text).unwrap(),
        name,
        version,
        "data-processor",
        &[],
        &[],
    )
}

/// [`text_guest`] whose plugin declares `permissions`.
pub fn text_guest_declaring(text: &str, name: &str, permissions: &[&str]) -> Vec<u8> {
    with_section(
        wat::parse_str(text).unwrap(),
        name,
        "1.0.0",
        "data-processor",
        permissions,
        &[],
    )
}
