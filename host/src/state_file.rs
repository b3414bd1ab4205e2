//! A state file that processes share (the security layer's replay state, the sandbox's
//! signed versions): a change holds an exclusive lock on `FILE.lock` beside it
//! ([`lock_beside`]), and the next state is written beside the file and renamed into its
//! place ([`Staged`]), so a reader finds the state before the change or after it, never part
//! of one. (The state file itself is replaced at each change, so it cannot be what is
//! locked.) The staged state is on the disk before the rename, and on Unix the rename is
//! before the commit returns: a crash or a power cut leaves the state before or after the
//! change, not an empty file in its place (a rename can reach the disk before the data it
//! names) nor a change the caller took for kept lost.
//!
//! A state file records what must not go back (the newest signed versions accepted), so on
//! Unix one that another user may write, or that sits in a directory another user may write,
//! is refused ([`check_guarded`]): that user could put an older record back, or remove it.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// `PATH.lock` beside the state file `path`, created if need be, locked exclusively (waiting
/// for another sharer's change to end); closing the file unlocks it. Every read and change
/// of a state file holds this lock, so first `path` is checked ([`check_guarded`]): a state
/// file another user may write is refused before anything is created. An error names the
/// lock file, or what is not guarded and why.
pub fn lock_beside(path: &Path) -> io::Result<File> {
    check_guarded(path)?;
    let lock = beside(path, ".lock");
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .and_then(|file| fs4::fs_std::FileExt::lock_exclusive(&file).map(|()| file))
        .map_err(|e| io::Error::new(e.kind(), format!("`{}`: {e}", lock.display())))
}

/// `path` with `suffix` added to its name (a name that is not UTF-8 kept as it is).
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes the directory `dir` and its missing parents, each this user's alone (`0700`
/// whatever the umask) on Unix, where a directory made with the umask's mode may be one that
/// [`others_may_write`] refuses (a umask of `002` is common where each user has a group of
/// their own). A directory already there is left as it is: check it with
/// [`others_may_write`].
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Why what `metadata` describes (a file or directory the host keeps state in: a state
/// file, its directory, the compiled-module cache) may hold what another user wrote, if it
/// may: on Unix, a user other than this process's and root owns it, or other users may write
/// it (group or world, a sticky directory such as `/tmp` too), as ssh asks of its keys. Not
/// checked elsewhere: there an access list is the operator's to set.
#[cfg(unix)]
pub fn others_may_write(metadata: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    let owner = metadata.uid();
    if owner != me && owner != 0 {
        return Some(format!(
            "is owned by user {owner}, not by this process's ({me})"
        ));
    }
    let mode = metadata.mode() & 0o7777;
    (mode & 0o022 != 0).then(|| format!("may be written by other users (mode {mode:o})"))
}

/// Why what `metadata` describes may hold what another user wrote: not checked here.
#[cfg(not(unix))]
pub fn others_may_write(_metadata: &std::fs::Metadata) -> Option<String> {
    None
}

/// Why what `metadata` describes (a secret the host reads: the key that opens sealed
/// settings) may be read, or replaced, by another user, if it may: on Unix, a user other than
/// this process's and root owns it, or group or others may read or write it; one root owns
/// may be read by its group where this process is not root (a secret a deployment mounts
/// `root:GROUP 0640`). The rule PostgreSQL has for its key files, a little stricter than
/// ssh's (which asks `0600` of a key its user owns). Not checked elsewhere.
#[cfg(unix)]
pub fn others_may_read(metadata: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::geteuid().as_raw();
    readable_by_others(metadata.uid(), me, metadata.mode())
}

/// [`others_may_read`]'s rule, for a file `owner` owns with `mode`, read by user `me`.
#[cfg(unix)]
fn readable_by_others(owner: u32, me: u32, mode: u32) -> Option<String> {
    if owner != me && owner != 0 {
        return Some(format!(
            "is owned by user {owner}, not by this process's ({me})"
        ));
    }
    let mode = mode & 0o7777;
    let open = if owner == 0 && me != 0 { 0o037 } else { 0o077 };
    (mode & open != 0).then(|| format!("may be read or written by other users (mode {mode:o})"))
}

/// Why what `metadata` describes may be read by another user: not checked here.
#[cfg(not(unix))]
pub fn others_may_read(_metadata: &std::fs::Metadata) -> Option<String> {
    None
}

/// Checks that the state file `path` (if it is there yet) and the directory that holds it
/// may be written by this process's user (or root) alone ([`others_may_write`]): another
/// user who may write either could put an older record back, or remove it. The error
/// (`PermissionDenied`) names what is not, and why.
pub fn check_guarded(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    for (what, place) in [("the directory", dir), ("the file", path)] {
        let metadata = match std::fs::metadata(place) {
            Ok(metadata) => metadata,
            // Nothing there yet (what makes it says so if it cannot).
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("{what} `{}`: {e}", place.display()),
                ));
            }
        };
        if let Some(reason) = others_may_write(&metadata) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{what} `{}` {reason}: another user could change the record; make it this user's alone to write",
                    place.display()
                ),
            ));
        }
    }
    Ok(())
}

/// A state written beside its file, put in its place by [`commit`](Self::commit); dropped
/// without that, it is removed.
#[derive(Debug)]
pub struct Staged {
    staged: Option<PathBuf>,
    path: PathBuf,
}

impl Staged {
    /// Writes `contents` beside the state file `path` (`PATH.PID.next`: sharers in other
    /// processes stage apart), writable by its owner alone whatever the umask (`0644` on
    /// Unix: [`check_guarded`] refuses a state file others may write). An error names the
    /// staged file.
    pub fn write(path: &Path, contents: &[u8]) -> io::Result<Self> {
        Self::stage(path, contents, None)
    }

    /// Writes `contents` beside the file `path`, which must be there, with who may read and
    /// write it now: its permissions, and on Unix its owner and group (a configuration file
    /// its operator made `root:modreg 0640` stays so once replaced, by root too); otherwise as
    /// [`write`](Self::write). Where the owner and group cannot be given to the new file (a
    /// user other than root replacing another user's file), it is refused and nothing is
    /// written. `path` is the file replaced: resolve a link first to replace the file it names.
    pub fn write_keeping_access(path: &Path, contents: &[u8]) -> io::Result<Self> {
        let metadata = std::fs::metadata(path)
            .map_err(|e| io::Error::new(e.kind(), format!("`{}`: {e}", path.display())))?;
        Self::stage(path, contents, Some(&metadata))
    }

    /// The staged file made anew (never one left there, nor a link put there: it is removed
    /// first, and one that comes back is refused), given the owner, group and permissions
    /// of `like` if given, `contents` written, synced.
    fn stage(path: &Path, contents: &[u8], like: Option<&std::fs::Metadata>) -> io::Result<Self> {
        let staged = beside(path, &format!(".{}.next", std::process::id()));
        let _ = std::fs::remove_file(&staged);
        let mut options = File::options();
        options.write(true).create_new(true);
        // Its owner's alone until it is given the replaced file's access, so that nothing
        // written is read by another user meanwhile.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(
            &mut options,
            if like.is_some() { 0o600 } else { 0o644 },
        );
        let written = options.open(&staged).and_then(|mut file| {
            if let Some(like) = like {
                // The owner first: a change of owner may clear the mode's set-id bits.
                #[cfg(unix)]
                give_owner(&file, like, path)?;
                file.set_permissions(like.permissions())?;
            }
            file.write_all(contents)?;
            file.sync_all()
        });
        match written {
            Ok(()) => Ok(Staged {
                staged: Some(staged),
                path: path.to_owned(),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&staged);
                Err(io::Error::new(
                    e.kind(),
                    format!("`{}`: {e}", staged.display()),
                ))
            }
        }
    }

    /// The state file this state is for.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts the state in place of the file; on an error the staged file is removed and the
    /// file left as it was. On Unix the directory is synced too, so the rename is on the disk
    /// when this returns; an error of that sync (the file is in place) is returned.
    pub fn commit(mut self) -> io::Result<()> {
        let Some(staged) = self.staged.take() else {
            return Ok(());
        };
        std::fs::rename(&staged, &self.path).inspect_err(|_| {
            let _ = std::fs::remove_file(&staged);
        })?;
        sync_directory_of(&self.path)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(staged) = self.staged.take() {
            let _ = std::fs::remove_file(staged);
        }
    }
}

/// Gives `file` the owner and group `like` has (the file at `path`'s): refused unless this
/// process is root or owns it and is in its group.
#[cfg(unix)]
fn give_owner(file: &File, like: &std::fs::Metadata, path: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (uid, gid) = (like.uid(), like.gid());
    std::os::unix::fs::fchown(file, Some(uid), Some(gid)).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot be given the owner and group of `{}` ({uid}:{gid}): {e}",
                path.display()
            ),
        )
    })
}

/// Syncs the directory that holds `path`, so that a rename in it is on the disk. Windows has
/// no such call in `std` (a directory cannot be opened as a file there); its file system
/// journals the rename.
fn sync_directory_of(path: &Path) -> io::Result<()> {
    if !cfg!(unix) {
        return Ok(());
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_committed_state_replaces_the_file_and_a_dropped_one_leaves_it() {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("state.json");
        std::fs::write(&path, "before").unwrap();
        let staged = Staged::write(&path, b"dropped").unwrap();
        assert_eq!(staged.path(), path);
        assert_eq!(names(scratch.path()).len(), 2, "staged beside the file");
        drop(staged);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "before");
        assert_eq!(names(scratch.path()), ["state.json"]);
        Staged::write(&path, b"after").unwrap().commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "after");
        assert_eq!(names(scratch.path()), ["state.json"]);
    }

    #[test]
    fn a_state_that_cannot_be_put_in_place_leaves_nothing_behind() {
        let scratch = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename is refused.
        let path = scratch.path().join("state.json");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), "x").unwrap();
        assert!(Staged::write(&path, b"next").unwrap().commit().is_err());
        assert_eq!(names(scratch.path()), ["state.json"]);
        let missing = scratch.path().join("no such dir").join("state.json");
        let error = Staged::write(&missing, b"next").unwrap_err();
        assert!(error.to_string().contains("state.json."), "{error}");
    }

    #[test]
    fn a_second_sharer_waits_for_the_first_to_let_go() {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("state.json");
        let first = lock_beside(&path).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let _second = lock_beside(&path).unwrap();
                tx.send(()).unwrap();
            });
            // The second sharer holds nothing while the first holds the lock.
            assert!(
                rx.recv_timeout(std::time::Duration::from_millis(100))
                    .is_err()
            );
            drop(first);
            rx.recv().unwrap();
        });
        let missing = scratch.path().join("no such dir").join("state.json");
        let error = lock_beside(&missing).unwrap_err();
        assert!(error.to_string().contains("state.json.lock"), "{error}");
    }

    /// One of the ways to stage a file.
    #[cfg(unix)]
    type Write = fn(&Path, &[u8]) -> io::Result<Staged>;

    /// A file replaced keeping who may access it has its permissions, owner and group after
    /// the commit, whatever the umask (another user's where the test runs as root, which may
    /// give a file away); a file that is not there is refused, naming it. A link put where
    /// the state is staged is not followed: what it names is left as it was.
    #[cfg(unix)]
    #[test]
    fn a_file_replaced_keeps_who_may_access_it_and_a_planted_link_is_not_followed() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("settings.toml");
        let access = |place: &Path| {
            let metadata = std::fs::metadata(place).unwrap();
            let mode = metadata.permissions().mode() & 0o7777;
            (mode, metadata.uid(), metadata.gid())
        };
        let me = std::fs::metadata(scratch.path()).unwrap();
        let (uid, gid) = (me.uid(), me.gid());
        let mut rows = vec![
            (0o640, uid, gid),
            (0o600, uid, gid),
            (0o444, uid, gid),
            (0o664, uid, gid),
        ];
        if uid == 0 {
            rows.extend([
                (0o640, 65_534, 65_534),
                (0o2640, 0, 65_534),
                (0o600, 65_534, 0),
            ]);
        }
        for kept in rows {
            std::fs::write(&path, "before").unwrap();
            std::os::unix::fs::chown(&path, Some(kept.1), Some(kept.2)).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(kept.0)).unwrap();
            Staged::write_keeping_access(&path, b"after")
                .unwrap()
                .commit()
                .unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "after");
            assert_eq!(access(&path), kept, "{:o} {}:{}", kept.0, kept.1, kept.2);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert_eq!(names(scratch.path()), ["settings.toml"]);
        let missing = scratch.path().join("missing.toml");
        let error = Staged::write_keeping_access(&missing, b"x").unwrap_err();
        assert!(error.to_string().contains("missing.toml`"), "{error}");
        assert_eq!(names(scratch.path()), ["settings.toml"]);
        // A link where this process stages: removed, and the file it names untouched.
        let target = scratch.path().join("elsewhere");
        std::fs::write(&target, "untouched").unwrap();
        let planted = beside(&path, &format!(".{}.next", std::process::id()));
        for write in [Staged::write as Write, Staged::write_keeping_access] {
            std::os::unix::fs::symlink(&target, &planted).unwrap();
            write(&path, b"state").unwrap().commit().unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "state");
            assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
            assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
        }
    }

    /// A private directory and each parent it makes are their owner's alone whatever the
    /// umask (with the usual `022` a plain `create_dir_all` makes them `0755`, `002` makes
    /// them group-writable), pass the check, and one already there is left as it is.
    #[cfg(unix)]
    #[test]
    fn a_private_directory_and_its_parents_are_made_their_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let scratch = tempfile::tempdir().unwrap();
        let parent = scratch.path().join("state");
        let dir = parent.join("modules");
        create_private_dir(&dir).unwrap();
        for made in [&parent, &dir] {
            let metadata = std::fs::metadata(made).unwrap();
            assert_eq!(metadata.permissions().mode() & 0o777, 0o700, "{made:?}");
            assert_eq!(others_may_write(&metadata), None, "{made:?}");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
        create_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o750, "left as it was");
    }

    /// A secret is its owner's alone, or root's and its group's where root owns it and
    /// another user reads it; another user's is refused whatever its mode.
    #[cfg(unix)]
    #[test]
    fn a_secret_is_its_owners_alone_or_roots_and_its_group_s() {
        // (owner, reader, mode, readable by others)
        for (owner, me, mode, open) in [
            (1000, 1000, 0o600, false),
            (1000, 1000, 0o400, false),
            (1000, 1000, 0o100_600, false),
            (1000, 1000, 0o640, true),
            (1000, 1000, 0o604, true),
            (1000, 1000, 0o620, true),
            (1000, 1000, 0o644, true),
            (0, 1000, 0o640, false),
            (0, 1000, 0o440, false),
            (0, 1000, 0o660, true),
            (0, 1000, 0o644, true),
            (0, 0, 0o600, false),
            (0, 0, 0o640, true),
            (1001, 1000, 0o600, true),
            (1000, 0, 0o600, true),
        ] {
            let answer = readable_by_others(owner, me, mode);
            assert_eq!(
                answer.is_some(),
                open,
                "owner {owner}, read by {me}, mode {mode:o}: {answer:?}"
            );
        }
    }

    /// A state file, or its directory, that another user may write is refused before its lock
    /// is made: that user could put an older record back. Its own files are written so that
    /// only their owner may.
    #[cfg(unix)]
    #[test]
    fn a_state_file_others_may_write_is_refused() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let scratch = tempfile::tempdir().unwrap();
        let chmod = |place: &Path, mode: u32| {
            std::fs::set_permissions(place, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        let dir = scratch.path().join("state");
        std::fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o755);
        let path = dir.join("state.json");
        // Not there yet: its directory alone is checked.
        drop(lock_beside(&path).unwrap());
        Staged::write(&path, b"x").unwrap().commit().unwrap();
        let written = std::fs::metadata(&path).unwrap().mode();
        assert_eq!(written & 0o022, 0, "{written:o}");
        let refused = |place: &Path, what: &str, reason: &str| {
            let error = lock_beside(&path).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::PermissionDenied, "{error}");
            let expected = format!("{what} `{}` {reason}", place.display());
            assert!(error.to_string().starts_with(&expected), "{error}");
        };
        for (place, what, mode, guarded) in [
            (&dir, "the directory", 0o777, 0o755),
            (&dir, "the directory", 0o1777, 0o755),
            (&dir, "the directory", 0o775, 0o755),
            (&path, "the file", 0o666, 0o644),
            (&path, "the file", 0o646, 0o644),
        ] {
            chmod(place, mode);
            refused(
                place,
                what,
                &format!("may be written by other users (mode {mode:o})"),
            );
            chmod(place, guarded);
            drop(lock_beside(&path).unwrap());
        }
        // Refused before anything is made there.
        let open = scratch.path().join("open");
        std::fs::create_dir(&open).unwrap();
        chmod(&open, 0o777);
        assert!(lock_beside(&open.join("state.json")).is_err());
        assert!(names(&open).is_empty());
        // Another user's (a test run as root can give it away).
        let me = std::fs::metadata(&dir).unwrap().uid();
        if me == 0 {
            for (place, what) in [(&path, "the file"), (&dir, "the directory")] {
                std::os::unix::fs::chown(place, Some(65_534), None).unwrap();
                refused(
                    place,
                    what,
                    "is owned by user 65534, not by this process's (0)",
                );
                std::os::unix::fs::chown(place, Some(me), None).unwrap();
                drop(lock_beside(&path).unwrap());
            }
        }
    }
}
