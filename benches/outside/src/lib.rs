//! Empty: the crate exists for its bench, a user's binary outside the workspace.
