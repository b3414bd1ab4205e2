//! The security layer's typed refusals as the tests check them: `assert_refused!(outcome,
//! pattern)` on a `PluginError` or on a `Result` that should have failed. Included with
//! `#[path]` (as `refusals`, ahead of its users) by the tests that check refusals.

use modreg::{PluginError, SecurityError};

/// What an attempt came to, as far as the security layer is concerned.
pub trait Refusal {
    /// The security layer's error behind the failure; `None` when it succeeded or failed for
    /// another reason.
    fn refusal(&self) -> Option<&SecurityError>;
    /// What to print when the refusal is not the one expected.
    fn describe(&self) -> String;
}

impl Refusal for PluginError {
    fn refusal(&self) -> Option<&SecurityError> {
        self.layer_error::<SecurityError>()
    }
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl<T> Refusal for Result<T, PluginError> {
    fn refusal(&self) -> Option<&SecurityError> {
        self.as_ref().err().and_then(Refusal::refusal)
    }
    fn describe(&self) -> String {
        self.as_ref()
            .map_or_else(Refusal::describe, |_| "it succeeded".to_owned())
    }
}

/// Asserts that `$outcome` (a `PluginError`, or a `Result` with one) is the security layer's
/// refusal matching `$pattern` (and `$guard`); `$label` names the attempt in the failure.
macro_rules! assert_refused {
    ($outcome:expr, $pattern:pat $(if $guard:expr)?) => {
        assert_refused!($outcome, $pattern $(if $guard)?, "refused")
    };
    ($outcome:expr, $pattern:pat $(if $guard:expr)?, $label:expr) => {{
        let outcome = &$outcome;
        assert!(
            matches!($crate::refusals::Refusal::refusal(outcome), Some($pattern) $(if $guard)?),
            "{}: {}",
            $label,
            $crate::refusals::Refusal::describe(outcome)
        );
    }};
}
