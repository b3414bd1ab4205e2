//! The limits a plugin asks to run under (a version-2 record of the plugins section): each
//! one tightens the sandbox's own, never loosens it, so that limits travel with the plugin and
//! a module cannot buy itself more than the host gives.

use std::time::Duration;

use crate::config::WasmConfig;

/// `config` with the limits `asked` (`name=value`) applied where they are tighter. An unknown
/// name, a value that is not a number or a zero is an error: a module that asks for what this
/// host cannot give is refused rather than run under limits it did not ask for.
pub(crate) fn tightened(asked: &[String], config: &WasmConfig) -> Result<WasmConfig, String> {
    let mut config = config.clone();
    for limit in asked {
        let (name, value) = limit
            .split_once('=')
            .ok_or_else(|| format!("limit `{limit}` is not `name=value`"))?;
        let value: u64 =
            value.parse().ok().filter(|v| *v > 0).ok_or_else(|| {
                format!("limit `{name}` is `{value}`, not a positive whole number")
            })?;
        let bytes = usize::try_from(value).unwrap_or(usize::MAX);
        config = match name {
            "time_budget_ms" => {
                let asked = Duration::from_millis(value);
                let budget = config.time_budget().min(asked);
                config.with_time_budget(budget)
            }
            "memory_bytes" => {
                let memory = config.memory_limit().min(bytes);
                config.with_memory_limit(memory)
            }
            "output_bytes" => {
                let output = config.max_output_bytes().min(bytes);
                config.with_max_output_bytes(output)
            }
            "fuel" => {
                let fuel = config.fuel().map_or(value, |own| own.min(value));
                config.with_fuel(fuel)
            }
            other => {
                return Err(format!(
                    "unknown limit `{other}` (this host knows time_budget_ms, memory_bytes, output_bytes, fuel)"
                ));
            }
        };
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(limits: &[&str]) -> Vec<String> {
        limits.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn a_plugin_narrows_the_limits_and_never_widens_them() {
        let host = WasmConfig::new()
            .with_time_budget(Duration::from_millis(500))
            .with_fuel(1_000);
        let narrowed = tightened(
            &asked(&[
                "time_budget_ms=20",
                "memory_bytes=1048576",
                "output_bytes=16",
            ]),
            &host,
        )
        .unwrap();
        assert_eq!(narrowed.time_budget(), Duration::from_millis(20));
        assert_eq!(narrowed.memory_limit(), 1 << 20);
        assert_eq!(narrowed.max_output_bytes(), 16);
        assert_eq!(narrowed.fuel(), Some(1_000));
        let wider = tightened(
            &asked(&[
                "time_budget_ms=100000",
                "fuel=5000",
                "memory_bytes=99999999999",
            ]),
            &host,
        )
        .unwrap();
        assert_eq!(wider.time_budget(), Duration::from_millis(500));
        assert_eq!(wider.fuel(), Some(1_000));
        assert_eq!(wider.memory_limit(), host.memory_limit());
        for bad in ["speed=9", "fuel", "fuel=0", "fuel=-1", "fuel=lots"] {
            assert!(tightened(&asked(&[bad]), &host).is_err(), "{bad}");
        }
    }
}
