//! Reading a file that a user, a configuration or a guest names: a regular file only, at most
//! a limit, and never blocking on what is not a file.
//!
//! A FIFO opened for reading blocks until a writer comes, and a device such as `/dev/zero`
//! never ends: named as a configuration file, a key, a module's signature or a file a guest
//! reads, either would hang the caller or fill its memory. So a file is opened without
//! blocking, checked on the opened handle (no race with a rename), and read up to a limit.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The most bytes of a configuration, key or signature file the host reads.
pub const MAX_TEXT_FILE_BYTES: usize = 4 << 20;

/// Opens `path` for reading if it is a regular file (after links are followed), without
/// blocking when it is not.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Without it, opening a FIFO waits for a writer. Reads of a regular file ignore it.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    if file.metadata()?.is_file() {
        Ok(file)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ))
    }
}

/// Reads the regular file `path`: at most `limit` bytes, more is an error.
pub fn read_regular(path: &Path, limit: usize) -> io::Result<Vec<u8>> {
    read_limited(open_regular(path)?, limit)
}

/// Reads `file` to its end: at most `limit` bytes, more is an error.
pub fn read_limited(file: File, limit: usize) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    read_limited_into(file, limit, &mut bytes)?;
    Ok(bytes)
}

/// [`read_limited`] into `bytes` (empty), whose room is made once for the file's size: a
/// buffer that had to grow would leave copies of what it held in freed memory, which a
/// caller reading a secret into a buffer it wipes must not.
pub fn read_limited_into(file: File, limit: usize, bytes: &mut Vec<u8>) -> io::Result<()> {
    let size = file.metadata().map_or(0, |m| m.len());
    bytes.reserve_exact(usize::try_from(size).map_or(limit, |size| size.min(limit)) + 1);
    file.take(limit as u64 + 1).read_to_end(bytes)?;
    if bytes.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("over the limit of {limit} bytes"),
        ));
    }
    Ok(())
}

/// [`read_regular`] of a UTF-8 text file of at most [`MAX_TEXT_FILE_BYTES`].
pub fn read_text(path: &Path) -> io::Result<String> {
    String::from_utf8(read_regular(path, MAX_TEXT_FILE_BYTES)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_regular_file_is_refused_at_once() {
        for path in ["/dev/zero", "/dev/null", "/"] {
            let err = read_regular(Path::new(path), 16).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{path}: {err}");
        }
    }

    #[test]
    fn a_file_over_the_limit_is_an_error() {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("ten-bytes");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_regular(&path, 10).unwrap(), b"0123456789");
        let err = read_regular(&path, 9).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge, "{err}");
    }

    /// A file is read into room made once for it (the byte past it is where its end is
    /// found): a buffer grown as it filled would have left copies of a secret behind.
    #[test]
    fn a_file_is_read_without_growing_its_buffer() {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("key");
        for size in [0, 1, 31, 64, 65, 4097] {
            std::fs::write(&path, vec![b'7'; size]).unwrap();
            let mut bytes = Vec::new();
            read_limited_into(File::open(&path).unwrap(), 1 << 20, &mut bytes).unwrap();
            assert_eq!(bytes.len(), size);
            assert_eq!(bytes.capacity(), size + 1, "{size} bytes");
        }
    }
}
