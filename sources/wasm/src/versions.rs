//! `SignedVersions`: the newest signed version of each plugin the sandbox accepted.
//!
//! A signature binds a module's bytes, not its version: without a record, an older signed
//! module (one with a known bug) could be loaded over a newer one. So a signed module is
//! accepted only if each of its plugins is newer than the newest signed version accepted for
//! that name, or is that very version from the same bytes (the same module loaded again, as
//! after a restart). The record can be kept in a state file the host names
//! ([`WasmConfig::with_state_file`](crate::WasmConfig::with_state_file)), so that the rule holds
//! across restarts.
//!
//! Accepting is a two-step transaction: [`SignedVersions::prepare`] checks the rule and writes
//! the next record beside the state file; the module is registered (the layers verify its
//! signature); only then [`Pending::commit`] renames the record into place. A module the
//! layers refuse leaves the record as it was.
//!
//! Processes (or registries of one process) may share a state file: each transaction holds
//! an exclusive lock on `FILE.lock` from `prepare` to its end, and `prepare` reads the file
//! again under it, so the rule is checked against what every sharer accepted and no sharer's
//! record is written over by another's older one (the lock and the rename:
//! [`modreg_host::state_file`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use semver::Version;
use serde::{Deserialize, Serialize};

use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::state_file::{self, Staged};

/// The most bytes of a state file read.
const MAX_STATE_BYTES: usize = 4 << 20;

/// What is kept for one plugin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Newest {
    version: Version,
    /// The SHA-256 of the module it came from, as hex.
    sha256: String,
}

/// The newest signed version accepted for each plugin, and where it is kept.
#[derive(Debug, Default)]
pub(crate) struct SignedVersions {
    newest: BTreeMap<String, Newest>,
    file: Option<PathBuf>,
}

/// An accepted record not yet in place: dropped, it is discarded (and the state file's lock
/// let go).
#[derive(Debug)]
pub(crate) struct Pending {
    next: BTreeMap<String, Newest>,
    staged: Option<Staged>,
    /// The state file's lock file, locked; closing it unlocks it. Declared last: dropped
    /// after the staged record is removed.
    _lock: Option<File>,
}

fn refuse(module: &str, reason: String) -> PluginError {
    PluginError::from(PluginErrorKind::WasmModule {
        module: module.to_owned(),
        reason,
    })
}

/// The state file `file` cannot be used, whatever module is loading.
fn unusable(file: &Path, reason: String) -> PluginError {
    PluginError::from(PluginErrorKind::File {
        what: "signed versions state file",
        path: file.display().to_string(),
        reason,
    })
}

impl SignedVersions {
    /// The record kept in `file` (or none kept), with what `previous` accepted taken in: a
    /// sandbox configured again forgets no signed version it accepted (an older signed
    /// module would be loaded again otherwise). With a file, what `previous` adds to it is
    /// written at once, under the file's lock.
    pub(crate) fn reopen(file: Option<&Path>, previous: &Self) -> Result<Self, PluginError> {
        let Some(file) = file else {
            return Ok(Self {
                newest: previous.newest.clone(),
                file: None,
            });
        };
        let lock = lock(file)?;
        let kept = read(file)?;
        let mut versions = Self {
            newest: previous.newest.clone(),
            file: Some(file.to_owned()),
        };
        versions.take_in(kept.clone());
        if versions.newest != kept {
            let pending = Pending {
                next: versions.newest.clone(),
                staged: Some(stage(file, &versions.newest)?),
                _lock: Some(lock),
            };
            pending.commit(&mut versions)?;
        }
        Ok(versions)
    }

    /// Takes in `theirs` (what the state file holds: what a sharer accepted): each of its
    /// entries unless this record's is of a newer version.
    fn take_in(&mut self, theirs: BTreeMap<String, Newest>) {
        for (name, theirs) in theirs {
            match self.newest.get(&name) {
                Some(ours) if ours.version > theirs.version => {}
                _ => {
                    self.newest.insert(name, theirs);
                }
            }
        }
    }

    /// Checks that the signed module `module` (SHA-256 `sha256`) may bring `plugins`, and
    /// stages the record that accepts it. With a state file, under its lock (held until the
    /// [`Pending`] is committed or dropped), the file is read again first and what other
    /// sharers accepted since is taken in: the rule is checked against it too.
    pub(crate) fn prepare(
        &mut self,
        module: &str,
        sha256: &str,
        plugins: &[(String, Version)],
    ) -> Result<Pending, PluginError> {
        let lock = match &self.file {
            Some(file) => {
                let lock = lock(file)?;
                self.take_in(read(file)?);
                Some(lock)
            }
            None => None,
        };
        let mut next = self.newest.clone();
        for (name, version) in plugins {
            if let Some(newest) = self.newest.get(name) {
                let same_module = *version == newest.version && sha256 == newest.sha256;
                if *version < newest.version || (*version == newest.version && !same_module) {
                    return Err(refuse(
                        module,
                        format!(
                            "plugin `{name}` {version} is not newer than {}, the newest signed version accepted{}: a signed module may only replace an older one",
                            newest.version,
                            if *version == newest.version {
                                " (from other bytes)"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
            }
            next.insert(
                name.clone(),
                Newest {
                    version: version.clone(),
                    sha256: sha256.to_owned(),
                },
            );
        }
        let staged = match &self.file {
            Some(file) => Some(stage(file, &next)?),
            None => None,
        };
        Ok(Pending {
            next,
            staged,
            _lock: lock,
        })
    }
}

/// The record in `file`; empty if there is no such file yet.
fn read(file: &Path) -> Result<BTreeMap<String, Newest>, PluginError> {
    match modreg_host::files::read_regular(file, MAX_STATE_BYTES) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| unusable(file, format!("not a record of signed versions: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(unusable(file, format!("cannot be read: {e}"))),
    }
}

/// The state file `file`'s lock ([`state_file::lock_beside`]), waiting for another sharer's
/// transaction to end.
fn lock(file: &Path) -> Result<File, PluginError> {
    state_file::lock_beside(file).map_err(|e| unusable(file, format!("cannot be used: {e}")))
}

/// Writes `record` beside `file`.
fn stage(file: &Path, record: &BTreeMap<String, Newest>) -> Result<Staged, PluginError> {
    let text = serde_json::to_vec_pretty(record)
        .map_err(|e| unusable(file, format!("the record cannot be written: {e}")))?;
    Staged::write(file, &text).map_err(|e| unusable(file, format!("cannot be written: {e}")))
}

impl Pending {
    /// Puts the record in place (in memory and in the state file); dropped instead, the
    /// staged record is removed. In memory even when the state file cannot be replaced (the
    /// error says so): the module is registered, so an older one stays refused in this
    /// process at least.
    pub(crate) fn commit(mut self, versions: &mut SignedVersions) -> Result<(), PluginError> {
        versions.newest = std::mem::take(&mut self.next);
        if let Some(staged) = self.staged.take() {
            let file = staged.path().to_owned();
            staged
                .commit()
                .map_err(|e| unusable(&file, format!("cannot be replaced: {e}")))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record kept in `file`, as a sandbox configured with it first opens it.
    fn open(file: &Path) -> Result<SignedVersions, PluginError> {
        SignedVersions::reopen(Some(file), &SignedVersions::default())
    }

    fn plugin(name: &str, version: &str) -> Vec<(String, Version)> {
        vec![(name.to_owned(), Version::parse(version).unwrap())]
    }

    #[test]
    fn only_newer_versions_or_the_same_module_again_are_accepted() {
        let mut versions = SignedVersions::default();
        versions
            .prepare("m", "aa", &plugin("p", "1.0.0"))
            .unwrap()
            .commit(&mut versions)
            .unwrap();
        assert!(versions.prepare("m", "bb", &plugin("p", "0.9.0")).is_err());
        assert!(versions.prepare("m", "bb", &plugin("p", "1.0.0")).is_err());
        assert!(versions.prepare("m", "aa", &plugin("p", "1.0.0")).is_ok());
        assert!(versions.prepare("m", "cc", &plugin("p", "1.0.1")).is_ok());
        assert!(
            versions
                .prepare("m", "cc", &plugin("other", "0.1.0"))
                .is_ok()
        );
    }

    #[test]
    fn the_record_survives_a_restart_and_a_refused_module_leaves_it_alone() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        let file = dir.join("state.json");
        let mut versions = open(&file).unwrap();
        versions
            .prepare("m", "aa", &plugin("p", "2.0.0"))
            .unwrap()
            .commit(&mut versions)
            .unwrap();
        // Staged, then dropped (the layers refused the module): nothing changes.
        drop(versions.prepare("m", "bb", &plugin("p", "3.0.0")).unwrap());
        let mut restarted = open(&file).unwrap();
        assert!(restarted.prepare("m", "zz", &plugin("p", "1.0.0")).is_err());
        assert!(restarted.prepare("m", "aa", &plugin("p", "2.0.0")).is_ok());
        let mut left: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            ["state.json", "state.json.lock"],
            "no staged file left"
        );
        std::fs::write(&file, "not a record").unwrap();
        assert!(open(&file).is_err(), "a bad record fails closed");
    }

    /// A record whose state file cannot be replaced (a directory put in its place between
    /// the check and the commit) is kept in memory all the same: the module it accepted is
    /// registered, so an older one stays refused.
    #[test]
    fn a_record_the_file_cannot_take_is_kept_in_memory() {
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("state.json");
        let mut versions = open(&file).unwrap();
        let pending = versions.prepare("m", "aa", &plugin("p", "2.0.0")).unwrap();
        std::fs::create_dir(&file).unwrap();
        std::fs::write(file.join("inside"), "x").unwrap();
        let error = pending.commit(&mut versions).unwrap_err();
        assert!(error.to_string().contains("cannot be replaced"), "{error}");
        std::fs::remove_dir_all(&file).unwrap();
        assert!(versions.prepare("m", "zz", &plugin("p", "1.0.0")).is_err());
    }

    /// Two sharers of one state file (two processes, or two registries of one): each checks
    /// against what the other accepted since it opened the file, and neither writes over the
    /// other's record.
    #[test]
    fn sharers_of_a_state_file_see_each_others_versions() {
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("state.json");
        let mut first = open(&file).unwrap();
        let mut second = open(&file).unwrap();
        first
            .prepare("m", "aa", &plugin("p", "2.0.0"))
            .unwrap()
            .commit(&mut first)
            .unwrap();
        // The second opened the file before `p` 2.0.0 was accepted: it refuses 1.0.0 all
        // the same.
        assert!(second.prepare("m", "zz", &plugin("p", "1.0.0")).is_err());
        second
            .prepare("n", "bb", &plugin("q", "1.0.0"))
            .unwrap()
            .commit(&mut second)
            .unwrap();
        let mut restarted = open(&file).unwrap();
        assert!(restarted.prepare("m", "zz", &plugin("p", "1.0.0")).is_err());
        assert!(restarted.prepare("n", "yy", &plugin("q", "0.9.0")).is_err());
    }

    /// Sharers accepting at once, from eight threads: every acceptance is in the file at the
    /// end (each transaction holds the file's lock from its reading to its writing).
    #[test]
    fn sharers_accepting_at_once_lose_no_record() {
        let scratch = tempfile::tempdir().unwrap();
        let file = scratch.path().join("state.json");
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let file = &file;
                scope.spawn(move || {
                    let mut versions = open(file).unwrap();
                    for round in 0..16 {
                        let name = format!("p{thread}-{round}");
                        versions
                            .prepare(&name, "aa", &plugin(&name, "1.0.0"))
                            .unwrap()
                            .commit(&mut versions)
                            .unwrap();
                    }
                });
            }
        });
        let kept = read(&file).unwrap();
        assert_eq!(kept.len(), 8 * 16, "{:?}", kept.keys());
    }
}
