//! `ReplayState`: what signed manifests brought (the newest version of each name, the last
//! settings serial of each plugin), which an old manifest is measured against. In memory it
//! lasts as long as the registry; kept in a file the host names
//! ([`Security::persist_replay_state`](crate::Security::persist_replay_state)) it survives a
//! restart, so an old manifest stays refused.
//!
//! A change is recorded as a transaction around its application: the next state is written
//! beside the file before the change is applied (a state that cannot be written refuses the
//! change), and renamed into place after; a change the registry refuses leaves it as it was.
//!
//! Processes (or registries of one process) may share a state file: each signed change holds
//! an exclusive lock on `FILE.lock` ([`lock`]) from before it is checked to its end, and takes
//! in what the file holds first, so it is checked against what every sharer accepted and no
//! sharer's state is written over by another's older one (the lock and the rename:
//! [`modreg_host::state_file`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use semver::Version;
use serde::{Deserialize, Serialize};

use modreg_core::{PluginError, PluginErrorKind};
use modreg_host::state_file;

/// The most bytes of a replay state file read.
const MAX_STATE_BYTES: usize = 4 << 20;

/// The newest version and the last serial accepted by signed manifest, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplayState {
    /// The newest version accepted by signed manifest for each name (never lowered).
    pub(crate) versions: BTreeMap<String, Version>,
    /// The serial of the last signed settings accepted for each plugin.
    pub(crate) serials: BTreeMap<String, u64>,
}

fn unusable(path: &Path, reason: String) -> PluginError {
    PluginError::from(PluginErrorKind::File {
        what: "replay state file",
        path: path.display().to_string(),
        reason,
    })
}

impl ReplayState {
    /// The state kept in `path`; empty if there is no such file yet. A file that is not a
    /// state is an error: replay protection fails closed.
    pub(crate) fn read(path: &Path) -> Result<Self, PluginError> {
        match modreg_host::files::read_regular(path, MAX_STATE_BYTES) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| unusable(path, format!("not a replay state: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(unusable(path, e.to_string())),
        }
    }

    /// Both states' newest versions and last serials.
    pub(crate) fn merged(mut self, other: &Self) -> Self {
        for (name, version) in &other.versions {
            let newest = self.versions.entry(name.clone()).or_insert(version.clone());
            if version > newest {
                *newest = version.clone();
            }
        }
        for (name, serial) in &other.serials {
            let last = self.serials.entry(name.clone()).or_insert(*serial);
            *last = (*last).max(*serial);
        }
        self
    }

    /// Writes this state beside `path`, to be put in place by [`Staged::commit`].
    pub(crate) fn stage(&self, path: &Path) -> Result<Staged, PluginError> {
        let text = serde_json::to_vec_pretty(self)
            .map_err(|e| unusable(path, format!("cannot be written: {e}")))?;
        state_file::Staged::write(path, &text)
            .map(Staged)
            .map_err(|e| unusable(path, format!("cannot be written: {e}")))
    }
}

/// The state file `path`'s lock ([`state_file::lock_beside`]), waiting for another sharer's
/// change to end; closing it unlocks it.
pub(crate) fn lock(path: &Path) -> Result<File, PluginError> {
    state_file::lock_beside(path).map_err(|e| unusable(path, format!("cannot be used: {e}")))
}

/// A state written beside its file; dropped without [`commit`](Self::commit), it is removed.
#[derive(Debug)]
pub(crate) struct Staged(state_file::Staged);

impl Staged {
    /// Puts the state in place of the file.
    pub(crate) fn commit(self) -> Result<(), PluginError> {
        let path = self.0.path().to_owned();
        (self.0.commit()).map_err(|e| unusable(&path, format!("cannot be replaced: {e}")))
    }
}
