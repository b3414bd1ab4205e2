//! Hex digits for keys and signatures, through the `hex` crate; a failure names the field and
//! never repeats the text (it may be a secret key).

use modreg_core::PluginError;

/// `text` (surrounding space ignored) as exactly `N` bytes of hex digits; `field` names it in
/// the error.
pub(crate) fn decode_hex<const N: usize>(
    field: &'static str,
    text: &str,
) -> Result<[u8; N], PluginError> {
    let text = text.trim();
    let mut out = [0u8; N];
    // `hex`'s own error shows the offending character: not repeated here.
    ::hex::decode_to_slice(text, &mut out).map_err(|_| {
        PluginError::invalid(
            field,
            format!("({} characters, not shown)", text.len()),
            format!("expected {} hex digits", N * 2),
        )
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::decode_hex;

    #[test]
    fn decodes_exactly_n_bytes_and_never_shows_the_text() {
        assert_eq!(decode_hex::<2>("key", " 0aFf\n").unwrap(), [0x0a, 0xff]);
        for bad in ["0aff00", "0af", "0azf"] {
            let error = decode_hex::<2>("key", bad).unwrap_err().to_string();
            assert!(error.contains("expected 4 hex digits"), "{error}");
            assert!(!error.contains(bad) && !error.contains('z'), "{error}");
        }
    }
}
