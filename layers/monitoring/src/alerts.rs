//! Alerts: rules evaluated as calls are recorded, delivered to subscribers with a cool-down.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant, SystemTime};

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// A plugin panicked.
    Panic,
    /// A plugin's error rate over the window passed the threshold.
    ErrorRate,
    /// A plugin's p99 latency over the window passed the threshold.
    Latency,
    /// A health check found a plugin unhealthy.
    Unhealthy,
    /// Access denials came in a burst.
    SecurityDenials,
    /// A plugin module (WebAssembly) failed to load or verify; the version before it, if
    /// any, keeps serving.
    ModuleRefused,
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlertKind::Panic => "panic",
            AlertKind::ErrorRate => "error-rate",
            AlertKind::Latency => "latency",
            AlertKind::Unhealthy => "unhealthy",
            AlertKind::SecurityDenials => "security-denials",
            AlertKind::ModuleRefused => "module-refused",
        })
    }
}

/// One alert.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Alert {
    /// The plugin concerned (`*` for registry-wide alerts).
    pub plugin: String,
    /// What happened.
    pub kind: AlertKind,
    /// A sentence saying what and how much.
    pub message: String,
    /// When it fired.
    pub at: SystemTime,
}

/// When alerts fire.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AlertRules {
    /// Calls per plugin the error-rate and latency rules look back over.
    pub window: usize,
    /// Fraction of failed calls in the window (0.0 to 1.0) that fires `ErrorRate`.
    pub max_error_rate: f64,
    /// p99 latency over the window that fires `Latency` (`None`: no latency rule).
    pub max_p99_latency: Option<Duration>,
    /// Denials within `denial_period` that fire `SecurityDenials`.
    pub max_denials: usize,
    /// The period denials are counted over.
    pub denial_period: Duration,
    /// After an alert fires, the same plugin and kind stay quiet this long.
    pub cooldown: Duration,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            window: 20,
            max_error_rate: 0.5,
            max_p99_latency: None,
            max_denials: 5,
            denial_period: Duration::from_secs(60),
            cooldown: Duration::from_secs(60),
        }
    }
}

impl AlertRules {
    /// The default rules: over the last 20 calls, an error rate of 0.5; 5 denials a minute;
    /// no latency rule; a minute's cooldown.
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks back over `calls` calls per plugin.
    pub fn with_window(mut self, calls: usize) -> Self {
        self.window = calls;
        self
    }

    /// Fires `ErrorRate` at this fraction of failed calls in the window.
    pub fn with_max_error_rate(mut self, rate: f64) -> Self {
        self.max_error_rate = rate;
        self
    }

    /// Fires `Latency` when the window's p99 latency exceeds `latency`.
    pub fn with_max_p99_latency(mut self, latency: Duration) -> Self {
        self.max_p99_latency = Some(latency);
        self
    }

    /// Fires `SecurityDenials` at `denials` denials within `period`.
    pub fn with_max_denials(mut self, denials: usize, period: Duration) -> Self {
        self.max_denials = denials;
        self.denial_period = period;
        self
    }

    /// Keeps a plugin's alert of one kind quiet this long after it fires.
    pub fn with_cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }
}

#[derive(Default)]
struct Window {
    outcomes: VecDeque<(bool, Duration)>,
}

#[derive(Default)]
struct State {
    rules: AlertRules,
    windows: HashMap<String, Window>,
    denials: VecDeque<Instant>,
    last_fired: HashMap<(String, AlertKind), Instant>,
    /// `last_fired`'s size at which its run-out cooldowns are dropped next.
    prune_at: usize,
    subscribers: Vec<Sender<Alert>>,
    pending: VecDeque<Alert>,
}

/// Where alerts are evaluated and delivered; one per registry.
#[derive(Default)]
pub(crate) struct AlertHub {
    state: Mutex<State>,
}

impl fmt::Debug for AlertHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertHub").finish_non_exhaustive()
    }
}

/// The most alerts kept for polling.
const PENDING_CAPACITY: usize = 1024;

/// The most cooldowns kept: a pruning that finds more than half as many still running keeps
/// the newest half (the others' plugin and kind may then fire again within their cooldown;
/// memory stays bounded).
const MAX_COOLDOWNS: usize = 4096;

/// The smallest `last_fired` that is pruned.
const PRUNE_FLOOR: usize = 64;

impl AlertHub {
    /// Drops plugin `name`'s window and cooldowns.
    pub(crate) fn forget(&self, name: &str) {
        let mut state = self.lock();
        state.windows.remove(name);
        state.last_fired.retain(|(plugin, _), _| plugin != name);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn set_rules(&self, rules: AlertRules) {
        self.lock().rules = rules;
    }

    pub(crate) fn subscribe(&self) -> Receiver<Alert> {
        let (sender, receiver) = channel();
        self.lock().subscribers.push(sender);
        receiver
    }

    pub(crate) fn take_pending(&self) -> Vec<Alert> {
        self.lock().pending.drain(..).collect()
    }

    /// Records one call of `plugin` and fires the rules it trips.
    pub(crate) fn observe_call(
        &self,
        plugin: &str,
        ok: bool,
        panicked: bool,
        latency: Duration,
        real_time: bool,
    ) {
        let mut state = self.lock();
        let rules = state.rules.clone();
        let window = state.windows.entry(plugin.to_owned()).or_default();
        window.outcomes.push_back((ok, latency));
        while window.outcomes.len() > rules.window.max(1) {
            window.outcomes.pop_front();
        }
        let full = window.outcomes.len() >= rules.window.max(1);
        #[expect(clippy::cast_precision_loss, reason = "counts within a small window")]
        let error_rate = window.outcomes.iter().filter(|(ok, _)| !ok).count() as f64
            / window.outcomes.len() as f64;
        let p99 = {
            let mut latencies: Vec<Duration> = window.outcomes.iter().map(|(_, l)| *l).collect();
            latencies.sort();
            latencies
                .get((latencies.len() * 99).div_ceil(100).saturating_sub(1))
                .copied()
        };
        if panicked {
            fire(
                &mut state,
                plugin,
                AlertKind::Panic,
                format!("plugin `{plugin}` panicked"),
                real_time,
            );
        }
        if full && error_rate >= rules.max_error_rate {
            let message = format!(
                "plugin `{plugin}` failed {:.0}% of its last {} calls",
                error_rate * 100.0,
                rules.window
            );
            fire(&mut state, plugin, AlertKind::ErrorRate, message, real_time);
        }
        if let (true, Some(limit), Some(p99)) = (full, rules.max_p99_latency, p99)
            && p99 > limit
        {
            let message = format!("plugin `{plugin}` p99 latency {p99:?} is over {limit:?}");
            fire(&mut state, plugin, AlertKind::Latency, message, real_time);
        }
    }

    /// Records one access denial and fires on a burst.
    pub(crate) fn observe_denial(&self, real_time: bool) {
        let mut state = self.lock();
        let now = Instant::now();
        let period = state.rules.denial_period;
        state.denials.push_back(now);
        while state
            .denials
            .front()
            .is_some_and(|t| now.duration_since(*t) > period)
        {
            state.denials.pop_front();
        }
        if state.denials.len() >= state.rules.max_denials.max(1) {
            let message = format!("{} access denials within {period:?}", state.denials.len());
            fire(
                &mut state,
                "*",
                AlertKind::SecurityDenials,
                message,
                real_time,
            );
        }
    }

    /// Fires `ModuleRefused` for `module`.
    pub(crate) fn module_refused(&self, module: &str, reason: &str, real_time: bool) {
        let mut state = self.lock();
        let message = format!("module `{module}` refused: {reason}");
        fire(
            &mut state,
            module,
            AlertKind::ModuleRefused,
            message,
            real_time,
        );
    }

    /// Fires `Unhealthy` for `plugin`.
    pub(crate) fn unhealthy(&self, plugin: &str, reason: &str, real_time: bool) {
        let mut state = self.lock();
        let message = format!("plugin `{plugin}` is unhealthy: {reason}");
        fire(&mut state, plugin, AlertKind::Unhealthy, message, real_time);
    }
}

/// Drops the cooldowns that have run out, once `last_fired` has doubled since the last pass
/// (each fire is then O(1) on average), and keeps at most half of [`MAX_COOLDOWNS`] of those
/// still running (the newest), so that it never holds more than `MAX_COOLDOWNS`. A withdrawn
/// plugin's go with it (`forget`), but alerts keyed by a module's name (`ModuleRefused`) are
/// forgotten by nothing else: a directory written with ever new refused modules would grow
/// the map without end.
fn prune_cooldowns(state: &mut State, now: Instant) {
    if state.last_fired.len() < state.prune_at.max(PRUNE_FLOOR) {
        return;
    }
    let cooldown = state.rules.cooldown;
    state
        .last_fired
        .retain(|_, fired| now.duration_since(*fired) < cooldown);
    let keep = MAX_COOLDOWNS / 2;
    if state.last_fired.len() > keep {
        let mut fired: Vec<Instant> = state.last_fired.values().copied().collect();
        let gone = fired.len() - keep;
        let (_, newest_gone, _) = fired.select_nth_unstable(gone - 1);
        let cutoff = *newest_gone;
        state.last_fired.retain(|_, fired| *fired > cutoff);
    }
    state.prune_at = state.last_fired.len() * 2;
}

/// Delivers an alert unless its plugin and kind fired within the cool-down.
fn fire(state: &mut State, plugin: &str, kind: AlertKind, message: String, real_time: bool) {
    let now = Instant::now();
    let key = (plugin.to_owned(), kind);
    if state
        .last_fired
        .get(&key)
        .is_some_and(|t| now.duration_since(*t) < state.rules.cooldown)
    {
        return;
    }
    state.last_fired.insert(key, now);
    prune_cooldowns(state, now);
    let alert = Alert {
        plugin: plugin.to_owned(),
        kind,
        message,
        at: SystemTime::now(),
    };
    // Escaped: the message may quote a module's or a plugin's own text.
    tracing::warn!(plugin = %alert.plugin.escape_debug(), kind = %alert.kind, message = %alert.message.escape_debug(), "alert");
    if real_time {
        state.subscribers.retain(|s| s.send(alert.clone()).is_ok());
    } else {
        if state.pending.len() == PENDING_CAPACITY {
            state.pending.pop_front();
        }
        state.pending.push_back(alert);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Alerts keyed by ever new names keep the cooldowns bounded: the run-out ones go, and
    /// never more than [`MAX_COOLDOWNS`] are kept (the oldest go first); a cooldown still
    /// running still silences its alert.
    #[test]
    fn cooldowns_stay_bounded_and_a_running_one_still_silences() {
        for (cooldown, bound) in [
            (Duration::ZERO, PRUNE_FLOOR),
            (Duration::from_secs(3600), MAX_COOLDOWNS),
        ] {
            let hub = AlertHub::default();
            hub.set_rules(AlertRules::new().with_cooldown(cooldown));
            for i in 0..3 * MAX_COOLDOWNS {
                hub.module_refused(&format!("m{i}.wasm"), "not wasm", false);
                let kept = hub.lock().last_fired.len();
                assert!(
                    kept <= bound,
                    "{kept} cooldowns kept (cooldown {cooldown:?})"
                );
            }
            assert_eq!(hub.take_pending().len(), PENDING_CAPACITY);
            let newest = format!("m{}.wasm", 3 * MAX_COOLDOWNS - 1);
            hub.module_refused(&newest, "not wasm", false);
            let again = hub.take_pending().len();
            assert_eq!(again, usize::from(cooldown.is_zero()), "{cooldown:?}");
        }
    }
}
