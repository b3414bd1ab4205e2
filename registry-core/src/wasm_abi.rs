//! The contract between a WebAssembly plugin module and the host that loads it: the names it
//! exports and imports, and the custom section that describes its plugins.
//!
//! Both sides use this module: the guest crate (`modreg-guest`) writes the section at compile
//! time with [`metadata`], the host reads it with [`read_metadata`] before running any of the
//! module.
//!
//! # The section
//!
//! A custom section named [`SECTION`] holds one record per plugin, in the order of the guest's
//! `export!` list (a plugin's position is its number in calls):
//!
//! ```text
//! record := 0x01 name version type description list(capability) list(permission)
//!           list(dependency)
//!         | 0x02 name version type description list(capability) list(permission)
//!           list(dependency) list(limit)
//!         | 0x03 name version type description list(capability) list(permission)
//!           list(dependency) list(limit) trait fingerprint
//! list   := count string*
//! string := u32-le length, UTF-8 bytes
//! count  := u32-le
//! limit  := "time_budget_ms=N" | "memory_bytes=N" | "output_bytes=N" | "fuel=N"
//! ```
//!
//! A host reads both record versions, side by side in one section and across modules
//! ([`FORMAT_VERSIONS`]); [`metadata`] writes version 1. A version-2 record carries the limits
//! its plugin asks to run under: a host applies the tighter of its own and the plugin's, so a
//! module can narrow its limits, never widen them. A version-3 record is a plugin of a user's
//! own `#[sandboxed]` trait (see [`crate::typed_sandbox`]): the trait's name and fingerprint
//! follow its limits, and its calls are typed (below).
//!
//! # The calls
//!
//! The host copies the input into a buffer from [`EXPORT_ALLOC`] and calls [`EXPORT_PROCESS`]
//! with the plugin's number, the buffer and its length. That answers the address of an
//! answer record, three little-endian `u32`s: the status ([`STATUS_OK`] or [`STATUS_ERROR`]),
//! where the answer starts and how long it is (output, or an error message). The host checks
//! the length against its limit before it copies anything. The guest imports only
//! what [`IMPORT_MODULE`] offers: reading a file or an environment variable it was granted,
//! and reporting a panic's message before it traps.
//!
//! A typed plugin (a version-3 record) is called through the same export: its input is the
//! method's number (a little-endian `u32`, the method's position in the trait) followed by
//! the method's arguments as one encoded tuple, and an `OK` answer is the method's encoded
//! return value, its own `Err` included.

use crate::descriptor::Descriptor;

/// The custom section that lists a module's plugins.
pub const SECTION: &str = "modreg.plugins";
/// The version of the record format [`metadata`] writes, the first byte of each record.
pub const FORMAT_VERSION: u8 = 1;
/// The record format versions a host reads: 1; 2 (version 1 with the plugin's own limits);
/// 3 (version 2 with the trait of a typed plugin and its fingerprint).
pub const FORMAT_VERSIONS: [u8; 3] = [1, 2, 3];
/// The record version of a typed plugin, one of a `#[sandboxed]` trait.
pub const TYPED_FORMAT_VERSION: u8 = 3;
/// `(len: u32) -> u32`: a buffer of `len` bytes the guest then owns.
pub const EXPORT_ALLOC: &str = "modreg_alloc";
/// `(plugin: u32, ptr: u32, len: u32) -> u32`: processes the input; answers the address of
/// the answer record (status, answer's address, answer's length), valid until the next call.
pub const EXPORT_PROCESS: &str = "modreg_process";
/// The length of the answer record, in bytes.
pub const ANSWER_RECORD: usize = 12;
/// The only import module a guest may use.
pub const IMPORT_MODULE: &str = "modreg";
/// `(path_ptr, path_len, out_ptr, out_cap: u32) -> i64`: reads a file under a granted
/// directory; the file's length (copied only when it fits in `out_cap`) or a negative code.
pub const IMPORT_READ_FILE: &str = "read_file";
/// `(name_ptr, name_len, out_ptr, out_cap: u32) -> i64`: reads a granted environment
/// variable, answering like [`IMPORT_READ_FILE`].
pub const IMPORT_ENV_VAR: &str = "env_var";
/// `(ptr, len: u32)`: the message of a panic, reported before the guest traps.
pub const IMPORT_PANIC: &str = "panic_message";
/// `(name_ptr, name_len, in_ptr, in_len, out_ptr, out_cap: u32) -> i64`: calls the host
/// function `name` with the input; answers the answer's length (copied only when it fits in
/// `out_cap`; kept for [`IMPORT_HOST_ANSWER`] either way) or a negative code. A failure's
/// message is kept the same way and answered as `FAILED`.
pub const IMPORT_HOST_CALL: &str = "host_call";
/// `(out_ptr, out_cap: u32) -> i64`: copies the last host function's answer (or failure
/// message) if it fits; its length either way, `NOT_FOUND` if there is none.
pub const IMPORT_HOST_ANSWER: &str = "host_answer";
/// The call returned output.
pub const STATUS_OK: u32 = 0;
/// The plugin returned an error; the answer is its message.
pub const STATUS_ERROR: u32 = 1;
/// A typed plugin's method returned `Err`; the answer is its encoded return value (a failed
/// call that still answers the method's own error value).
pub const STATUS_METHOD_ERROR: u32 = 2;
/// A capability call was refused: the plugin does not hold the grant (or does not declare
/// the host function's permission).
pub const DENIED: i64 = -1;
/// A capability call found nothing (no such file, variable or host function).
pub const NOT_FOUND: i64 = -2;
/// A capability call failed on the host (an I/O error, a value over the size limit, a host
/// function's failure).
pub const FAILED: i64 = -3;

/// The most plugins one module may describe.
pub const MAX_PLUGINS: usize = 256;
/// The most bytes one string of the section may have.
pub const MAX_STRING: usize = 4096;

const fn string_len(s: &str) -> usize {
    4 + s.len()
}

const fn list_len(list: &[&str]) -> usize {
    let mut len = 4;
    let mut i = 0;
    while i < list.len() {
        len += string_len(list[i]);
        i += 1;
    }
    len
}

const fn record_len<T: ?Sized>(entry: &Descriptor<T>) -> usize {
    1 + string_len(entry.name())
        + string_len(entry.version())
        + string_len(entry.plugin_type().as_str())
        + string_len(entry.description())
        + list_len(entry.capabilities())
        + list_len(entry.permissions())
        + list_len(entry.depends_on())
}

const fn put_bytes<const N: usize>(out: &mut [u8; N], at: usize, bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() {
        out[at + i] = bytes[i];
        i += 1;
    }
    at + bytes.len()
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "a compile-time string is far below 4 GiB"
)]
const fn put_string<const N: usize>(out: &mut [u8; N], at: usize, s: &str) -> usize {
    let at = put_bytes(out, at, &(s.len() as u32).to_le_bytes());
    put_bytes(out, at, s.as_bytes())
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "a compile-time list is far below 4 G entries"
)]
const fn put_list<const N: usize>(out: &mut [u8; N], at: usize, list: &[&str]) -> usize {
    let mut at = put_bytes(out, at, &(list.len() as u32).to_le_bytes());
    let mut i = 0;
    while i < list.len() {
        at = put_string(out, at, list[i]);
        i += 1;
    }
    at
}

/// The limits `limits` gives entry `i` (none past its end).
const fn limits_of<'a>(limits: &[&'a [&'a str]], i: usize) -> &'a [&'a str] {
    if i < limits.len() { limits[i] } else { &[] }
}

/// The length of the section that describes `entries`, entry `i` asking for `limits[i]`
/// (a version-2 record; version 1 for an entry with none).
pub const fn metadata_len_limited<T: ?Sized>(
    entries: &[&Descriptor<T>],
    limits: &[&[&str]],
) -> usize {
    metadata_len_of(entries, limits, None)
}

/// The length of the section that describes `entries`, plugins of the trait
/// `typed = (name, fingerprint)` when it is given (version-3 records).
const fn metadata_len_of<T: ?Sized>(
    entries: &[&Descriptor<T>],
    limits: &[&[&str]],
    typed: Option<(&str, &str)>,
) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < entries.len() {
        len += record_len(entries[i]);
        let asked = limits_of(limits, i);
        if let Some((name, fingerprint)) = typed {
            len += list_len(asked) + string_len(name) + string_len(fingerprint);
        } else if !asked.is_empty() {
            len += list_len(asked);
        }
        i += 1;
    }
    len
}

/// The length of the section that describes `entries`, plugins of the `#[sandboxed]` trait
/// `trait_name` whose fingerprint is `fingerprint` (version-3 records).
pub const fn metadata_len_typed<T: ?Sized>(
    entries: &[&Descriptor<T>],
    limits: &[&[&str]],
    trait_name: &str,
    fingerprint: &str,
) -> usize {
    metadata_len_of(entries, limits, Some((trait_name, fingerprint)))
}

/// The section that describes `entries`, plugins of the `#[sandboxed]` trait `trait_name`,
/// `N` bytes long ([`metadata_len_typed`] with the same arguments).
pub const fn metadata_typed<T: ?Sized, const N: usize>(
    entries: &[&Descriptor<T>],
    limits: &[&[&str]],
    trait_name: &str,
    fingerprint: &str,
) -> [u8; N] {
    metadata_of(entries, limits, Some((trait_name, fingerprint)))
}

/// The section that describes `entries`, `N` bytes long
/// ([`metadata_len_limited`]`(entries, limits)`), entry `i` asking for `limits[i]`.
pub const fn metadata_limited<T: ?Sized, const N: usize>(
    entries: &[&Descriptor<T>],
    limits: &[&[&str]],
) -> [u8; N] {
    metadata_of(entries, limits, None)
}

const fn metadata_of<T: ?Sized, const N: usize>(
    entries: &[&Descriptor<T>],
    limits: &[&[&str]],
    typed: Option<(&str, &str)>,
) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    let mut i = 0;
    while i < entries.len() {
        let entry = entries[i];
        let asked = limits_of(limits, i);
        out[at] = if typed.is_some() {
            TYPED_FORMAT_VERSION
        } else if asked.is_empty() {
            FORMAT_VERSION
        } else {
            2
        };
        at = put_string(&mut out, at + 1, entry.name());
        at = put_string(&mut out, at, entry.version());
        at = put_string(&mut out, at, entry.plugin_type().as_str());
        at = put_string(&mut out, at, entry.description());
        at = put_list(&mut out, at, entry.capabilities());
        at = put_list(&mut out, at, entry.permissions());
        at = put_list(&mut out, at, entry.depends_on());
        if let Some((name, fingerprint)) = typed {
            at = put_list(&mut out, at, asked);
            at = put_string(&mut out, at, name);
            at = put_string(&mut out, at, fingerprint);
        } else if !asked.is_empty() {
            at = put_list(&mut out, at, asked);
        }
        i += 1;
    }
    assert!(
        at == N,
        "metadata length does not match its length function"
    );
    out
}

const fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `limit` split at its `=`: the name, and the value after it.
const fn split_limit(limit: &str) -> Option<(&[u8], &[u8])> {
    let bytes = limit.as_bytes();
    let mut eq = 0;
    while eq < bytes.len() && bytes[eq] != b'=' {
        eq += 1;
    }
    if eq == bytes.len() {
        return None;
    }
    let (name, rest) = bytes.split_at(eq);
    Some((name, rest.split_at(1).1))
}

/// Whether `limit`'s value (after its `=`) is a positive whole number.
pub const fn has_positive_value(limit: &str) -> bool {
    let Some((_, value)) = split_limit(limit) else {
        return false;
    };
    let mut nonzero = false;
    let mut i = 0;
    while i < value.len() {
        if !value[i].is_ascii_digit() {
            return false;
        }
        nonzero |= value[i] != b'0';
        i += 1;
    }
    nonzero
}

/// Whether `limit` is `name=N` with a name a host knows and `N` a positive whole number.
pub const fn is_known_limit(limit: &str) -> bool {
    let Some((name, _)) = split_limit(limit) else {
        return false;
    };
    let known = same(name, b"time_budget_ms")
        || same(name, b"memory_bytes")
        || same(name, b"output_bytes")
        || same(name, b"fuel");
    known && has_positive_value(limit)
}

/// The length of the section that describes `entries` (version-1 records).
pub const fn metadata_len<T: ?Sized>(entries: &[&Descriptor<T>]) -> usize {
    metadata_len_limited(entries, &[])
}

/// The section that describes `entries` (version-1 records), `N` bytes long
/// (`metadata_len(entries)`), made at compile time.
pub const fn metadata<T: ?Sized, const N: usize>(entries: &[&Descriptor<T>]) -> [u8; N] {
    metadata_limited(entries, &[])
}

/// One plugin as a module's section describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModuleEntry {
    /// The plugin's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its type, as [`PluginType::as_str`](crate::PluginType::as_str) writes it.
    pub plugin_type: String,
    /// Its description.
    pub description: String,
    /// Its capabilities.
    pub capabilities: Vec<String>,
    /// The permissions it declares.
    pub permissions: Vec<String>,
    /// The plugins it depends on (`name` or `name >= version`).
    pub depends_on: Vec<String>,
    /// The record's format version (1 or 2).
    pub format_version: u8,
    /// The limits it asks to run under, as `name=value` (versions 2 and 3; empty in 1).
    pub limits: Vec<String>,
    /// For a typed plugin (version 3): the `#[sandboxed]` trait it implements and the
    /// trait's fingerprint as the module was built against it.
    pub typed: Option<TypedEntry>,
}

/// The trait a typed plugin implements, as its record names it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TypedEntry {
    /// The trait's name.
    pub trait_name: String,
    /// The trait's fingerprint.
    pub fingerprint: String,
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.bytes.len() < n {
            return Err(format!(
                "section ends early: {n} bytes wanted, {} left",
                self.bytes.len()
            ));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<usize, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn string(&mut self) -> Result<String, String> {
        let len = self.u32()?;
        if len > MAX_STRING {
            return Err(format!(
                "a string of {len} bytes is over the limit of {MAX_STRING}"
            ));
        }
        String::from_utf8(self.take(len)?.to_vec()).map_err(|e| format!("not UTF-8: {e}"))
    }

    fn list(&mut self) -> Result<Vec<String>, String> {
        let count = self.u32()?;
        if count > 64 {
            return Err(format!("a list of {count} entries is over the limit of 64"));
        }
        (0..count).map(|_| self.string()).collect()
    }
}

/// Reads the plugins a module's [`SECTION`] describes; a malformed section is an error that
/// says where it went wrong.
pub fn read_metadata(section: &[u8]) -> Result<Vec<ModuleEntry>, String> {
    let mut reader = Reader { bytes: section };
    let mut entries = Vec::new();
    while !reader.bytes.is_empty() {
        if entries.len() == MAX_PLUGINS {
            return Err(format!("more than {MAX_PLUGINS} plugins"));
        }
        let version = reader.take(1)?[0];
        if !FORMAT_VERSIONS.contains(&version) {
            return Err(format!(
                "record {} has format version {version}; this host reads 1, 2 and 3",
                entries.len()
            ));
        }
        entries.push(ModuleEntry {
            name: reader.string()?,
            version: reader.string()?,
            plugin_type: reader.string()?,
            description: reader.string()?,
            capabilities: reader.list()?,
            permissions: reader.list()?,
            depends_on: reader.list()?,
            format_version: version,
            limits: if version >= 2 {
                reader.list()?
            } else {
                Vec::new()
            },
            typed: if version == TYPED_FORMAT_VERSION {
                Some(TypedEntry {
                    trait_name: reader.string()?,
                    fingerprint: reader.string()?,
                })
            } else {
                None
            },
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::SourceLocation;
    use crate::plugin::PluginDescriptor;
    use crate::plugin_type::PluginType;

    fn none(
        _: &crate::settings::PluginSettings,
    ) -> Result<Box<dyn crate::Plugin>, crate::PluginError> {
        Err(crate::PluginError::from(
            crate::PluginErrorKind::NoImplementation { name: "x".into() },
        ))
    }
    const HERE: SourceLocation = SourceLocation::new("t", "t", "t.rs", 1);
    const A: PluginDescriptor =
        PluginDescriptor::new("alpha", "1.2.3", PluginType::Encoding, none, HERE)
            .with_capabilities(&["encoding", "hex"])
            .with_permissions(&["file.read"])
            .with_dependencies(&["beta >= 0.1"])
            .with_description("the first");
    const B: PluginDescriptor =
        PluginDescriptor::new("beta", "0.1.0", PluginType::Storage, none, HERE);
    const ENTRIES: &[&PluginDescriptor] = &[&A, &B];
    const LEN: usize = metadata_len(ENTRIES);
    static SECTION_BYTES: [u8; LEN] = metadata(ENTRIES);

    const TYPED_LEN: usize =
        metadata_len_typed(ENTRIES, &[&["fuel=9"]], "Pricing", "0123456789abcdef");
    static TYPED_SECTION: [u8; TYPED_LEN] =
        metadata_typed(ENTRIES, &[&["fuel=9"]], "Pricing", "0123456789abcdef");

    #[test]
    fn typed_records_read_back_with_their_trait_and_limits() {
        let entries = read_metadata(&TYPED_SECTION).unwrap();
        assert_eq!(entries.len(), 2);
        for entry in &entries {
            assert_eq!(entry.format_version, TYPED_FORMAT_VERSION);
            let typed = entry.typed.as_ref().unwrap();
            assert_eq!(
                (typed.trait_name.as_str(), typed.fingerprint.as_str()),
                ("Pricing", "0123456789abcdef")
            );
        }
        assert_eq!(entries[0].limits, ["fuel=9"]);
        assert!(entries[1].limits.is_empty(), "the list is there, empty");
        assert_eq!(entries[0].capabilities, ["encoding", "hex"]);
        // Untyped records carry no trait.
        assert!(
            read_metadata(&SECTION_BYTES)
                .unwrap()
                .iter()
                .all(|e| e.typed.is_none())
        );
        // Every truncation of a typed section is an error but at a record's end.
        let first = record_len(&A)
            + list_len(&["fuel=9"])
            + string_len("Pricing")
            + string_len("0123456789abcdef");
        for cut in 1..TYPED_SECTION.len() {
            if cut != first {
                assert!(
                    read_metadata(&TYPED_SECTION[..cut]).is_err(),
                    "cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn what_is_written_at_compile_time_reads_back() {
        let entries = read_metadata(&SECTION_BYTES).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].name, "alpha");
        assert_eq!(entries[0].version, "1.2.3");
        assert_eq!(entries[0].plugin_type, "encoding");
        assert_eq!(entries[0].description, "the first");
        assert_eq!(entries[0].capabilities, ["encoding", "hex"]);
        assert_eq!(entries[0].permissions, ["file.read"]);
        assert_eq!(entries[0].depends_on, ["beta >= 0.1"]);
        assert_eq!(entries[1].name, "beta");
        assert!(entries[1].capabilities.is_empty());
    }

    #[test]
    fn every_truncation_and_a_wrong_version_are_errors() {
        for cut in 1..SECTION_BYTES.len() {
            if cut == record_len(&A) {
                continue; // a whole record: valid on its own
            }
            assert!(
                read_metadata(&SECTION_BYTES[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut wrong = SECTION_BYTES.to_vec();
        wrong[0] = 9;
        assert!(
            read_metadata(&wrong)
                .unwrap_err()
                .contains("format version 9")
        );
        let huge = [1u8, 0xff, 0xff, 0xff, 0xff];
        assert!(read_metadata(&huge).unwrap_err().contains("over the limit"));
    }

    const LIMITS: &[&[&str]] = &[&[], &["output_bytes=65536", "fuel=10"]];
    const LIMITED_LEN: usize = metadata_len_limited(ENTRIES, LIMITS);
    static LIMITED: [u8; LIMITED_LEN] = metadata_limited(ENTRIES, LIMITS);

    #[test]
    fn limits_written_at_compile_time_make_version_two_records() {
        let entries = read_metadata(&LIMITED).unwrap();
        assert_eq!(
            (entries[0].format_version, entries[1].format_version),
            (1, 2)
        );
        assert_eq!(entries[1].limits, ["output_bytes=65536", "fuel=10"]);
        assert_eq!(entries[1].name, "beta");
        for known in [
            "time_budget_ms=20",
            "memory_bytes=1048576",
            "output_bytes=1",
            "fuel=007",
        ] {
            assert!(is_known_limit(known), "{known}");
        }
        for unknown in [
            "speed=9", "fuel=0", "fuel=", "fuel", "=5", "fuel=1x", "fuel=-1",
        ] {
            assert!(!is_known_limit(unknown), "{unknown}");
        }
    }

    /// A version-2 record (version 1's fields, then its limits) beside a version-1 one.
    #[test]
    fn version_two_records_read_beside_version_one() {
        fn string(out: &mut Vec<u8>, s: &str) {
            out.extend_from_slice(&u32::try_from(s.len()).unwrap().to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        let mut section = SECTION_BYTES[..record_len(&A)].to_vec();
        section.push(2);
        for field in ["gamma", "2.0.0", "encoding", ""] {
            string(&mut section, field);
        }
        for list in [&[][..], &[], &[], &["time_budget_ms=20", "fuel=1000"]] {
            section.extend_from_slice(&u32::try_from(list.len()).unwrap().to_le_bytes());
            for item in list {
                string(&mut section, item);
            }
        }
        let entries = read_metadata(&section).unwrap();
        assert_eq!((entries[0].format_version, entries[0].limits.len()), (1, 0));
        assert_eq!(entries[1].format_version, 2);
        assert_eq!(entries[1].name, "gamma");
        assert_eq!(entries[1].limits, ["time_budget_ms=20", "fuel=1000"]);
        // Cut inside the limits: an error, not a version-1 reading.
        assert!(read_metadata(&section[..section.len() - 3]).is_err());
    }
}
