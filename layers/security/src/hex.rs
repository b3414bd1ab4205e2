//! Hex digits for keys and signatures. (Written here: two short functions are not worth a
//! dependency.)

use modreg_core::PluginError;

/// `text` (surrounding space ignored) as exactly `N` bytes of hex digits; `field` names it in
/// the error, which never repeats the text (it may be a secret key).
pub(crate) fn decode_hex<const N: usize>(
    field: &'static str,
    text: &str,
) -> Result<[u8; N], PluginError> {
    let text = text.trim();
    if text.len() != N * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(PluginError::invalid(
            field,
            format!("({} characters, not shown)", text.len()),
            format!("expected {} hex digits", N * 2),
        ));
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .map_err(|e| PluginError::invalid(field, "(not shown)", e.to_string()))?;
    }
    Ok(out)
}

/// `bytes` as lowercase hex digits.
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}
