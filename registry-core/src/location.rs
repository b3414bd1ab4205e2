//! `SourceLocation`: where a plugin or factory was defined, so that errors can name it.

use std::fmt;

/// Where a plugin or factory was defined, so that a conflict can name both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SourceLocation {
    /// The defining crate (`CARGO_PKG_NAME`).
    pub crate_name: &'static str,
    /// The defining module (`module_path!()`).
    pub module_path: &'static str,
    /// The file (`file!()`).
    pub file: &'static str,
    /// The line (`line!()`).
    pub line: u32,
}

impl SourceLocation {
    /// The location `file:line` of module `module_path` in crate `crate_name`.
    pub const fn new(
        crate_name: &'static str,
        module_path: &'static str,
        file: &'static str,
        line: u32,
    ) -> Self {
        SourceLocation {
            crate_name,
            module_path,
            file,
            line,
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` in crate `{}` at {}:{}",
            self.module_path, self.crate_name, self.file, self.line
        )
    }
}
