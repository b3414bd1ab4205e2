//! Order (`before`, `after`, `priority`), fan-out and typed metadata of a registry, and the
//! index-time errors of an order that cannot be: a name not in the registry, a circle. Runs
//! on both backends (`.ci/run` tests the core with and without `inventory`).

use modreg_core::{PluginError, PluginErrorKind, plugin, registry};

pub trait Step: Send + Sync {
    fn apply(&self, text: &str) -> Result<String, PluginError>;
}

#[derive(Debug)]
pub struct StepMeta {
    pub aliases: &'static [&'static str],
    pub cost: u32,
}

registry!(pub STEPS: dyn Step, meta = StepMeta);

/// High priority, but it waits for `measure`.
#[plugin(registry = STEPS, priority = 10, meta = StepMeta { aliases: &["strip"], cost: 1 })]
#[derive(Default)]
struct Trim;

impl Step for Trim {
    fn apply(&self, text: &str) -> Result<String, PluginError> {
        Ok(text.trim().to_owned())
    }
}

/// After `upper`, then at once: the highest priority of the plugins free to run.
#[plugin(registry = STEPS, priority = 50, after = "upper", meta = StepMeta { aliases: &[], cost: 3 })]
#[derive(Default)]
struct Bang;

impl Step for Bang {
    fn apply(&self, text: &str) -> Result<String, PluginError> {
        Ok(format!("{text}!"))
    }
}

#[plugin(registry = STEPS, meta = StepMeta { aliases: &["caps", "shout"], cost: 2 })]
#[derive(Default)]
struct Upper;

impl Step for Upper {
    fn apply(&self, text: &str) -> Result<String, PluginError> {
        if text.is_empty() {
            return Err(PluginError::processing("upper", "nothing to shout"));
        }
        Ok(text.to_uppercase())
    }
}

/// Before `trim`, whatever its priority.
#[plugin(registry = STEPS, priority = -100, before = ["trim"], meta = StepMeta { aliases: &[], cost: 0 })]
#[derive(Default)]
struct Measure;

impl Step for Measure {
    fn apply(&self, text: &str) -> Result<String, PluginError> {
        Err(PluginError::processing(
            "measure",
            format!("{} bytes", text.len()),
        ))
    }
}

#[test]
fn before_after_and_priority_decide_the_order_and_names_break_ties() {
    let order: Vec<&str> = STEPS
        .in_order()
        .unwrap()
        .map(modreg_core::Descriptor::name)
        .collect();
    // Free to run at first: `upper` (0) and `measure` (-100); `upper` frees `bang` (50), which
    // goes next; `measure` frees `trim`.
    assert_eq!(order, ["upper", "bang", "measure", "trim"]);
    // `entries` stays sorted by name: lookup and listing do not change.
    let names: Vec<&str> = STEPS.entries().iter().map(|e| e.name()).collect();
    assert_eq!(names, ["bang", "measure", "trim", "upper"]);
    STEPS.check().unwrap();
}

#[test]
fn fan_out_calls_in_order_and_stops_where_asked() {
    let mut seen = Vec::new();
    STEPS
        .for_each(|descriptor, step| {
            seen.push((descriptor.name(), step.apply(" hi ").is_ok()));
        })
        .unwrap();
    assert_eq!(
        seen,
        [
            ("upper", true),
            ("bang", true),
            ("measure", false),
            ("trim", true)
        ]
    );

    let all = STEPS.call_all(|step| step.apply("a").ok()).unwrap();
    assert_eq!(
        all,
        [Some("A".into()), Some("a!".into()), None, Some("a".into())]
    );

    // `upper` fails on empty text, `bang` answers: `measure` and `trim` are not called.
    let mut called = 0;
    let first = STEPS
        .first_ok(|step| {
            called += 1;
            step.apply("")
        })
        .unwrap();
    assert_eq!((first.as_str(), called), ("!", 2));

    let some = STEPS
        .first_some(|step| step.apply(" a ").ok().filter(|s| s.len() == 1))
        .unwrap();
    assert_eq!(some.as_deref(), Some("a"));

    // Nobody answers: the error says how many were tried and keeps the last one's error.
    let none = STEPS
        .first_ok(|_| Err::<(), _>(PluginError::processing("any", "no")))
        .unwrap_err();
    match none.kind() {
        PluginErrorKind::NoAnswer {
            registry,
            tried,
            last,
        } => {
            assert_eq!((*registry, *tried), ("STEPS", 4));
            assert!(last.as_ref().unwrap().to_string().contains("no"));
        }
        other => panic!("{other}"),
    }
    assert!(std::error::Error::source(&none).is_some());
}

#[test]
fn metadata_is_read_and_filtered_without_creating_a_plugin() {
    let shouting: Vec<&str> = STEPS
        .entries()
        .iter()
        .filter(|e| e.meta().aliases.contains(&"shout"))
        .map(|e| e.name())
        .collect();
    assert_eq!(shouting, ["upper"]);
    let cheap: Vec<(&str, u32)> = STEPS
        .entries()
        .iter()
        .filter(|e| e.meta().cost < 2)
        .map(|e| (e.name(), e.meta().cost))
        .collect();
    assert_eq!(cheap, [("measure", 0), ("trim", 1)]);
    assert_eq!(STEPS.meta("trim").unwrap().aliases, ["strip"]);
    assert!(STEPS.meta("nothing").is_none());
    // The registry's own calls are there too.
    assert_eq!(STEPS.create("upper").unwrap().apply("a").unwrap(), "A");
}

pub trait Hook: Send + Sync {}

registry!(pub CIRCLE: dyn Hook);

#[plugin(registry = CIRCLE, before = "second")]
#[derive(Default)]
struct First;
impl Hook for First {}

#[plugin(registry = CIRCLE, before = "third")]
#[derive(Default)]
struct Second;
impl Hook for Second {}

#[plugin(registry = CIRCLE, before = "first")]
#[derive(Default)]
struct Third;
impl Hook for Third {}

#[plugin(registry = CIRCLE, priority = 1)]
#[derive(Default)]
struct Free;
impl Hook for Free {}

registry!(pub UNKNOWN: dyn Hook);

#[plugin(registry = UNKNOWN, after = "missing")]
#[derive(Default)]
struct Lonely;
impl Hook for Lonely {}

#[test]
fn a_circle_or_an_unknown_name_is_an_error_naming_the_plugins() {
    let circle = CIRCLE.check().unwrap_err();
    match circle.kind() {
        PluginErrorKind::OrderCycle { cycle } => {
            assert_eq!(cycle, &["first", "second", "third", "first"]);
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        circle.to_string(),
        "plugins are ordered in a circle: first runs before second runs before third runs before first"
    );
    assert!(CIRCLE.in_order().is_err());
    assert!(CIRCLE.call_all(|_| ()).is_err());
    // The index's order stays total: listing never fails.
    let listed: Vec<&str> = CIRCLE
        .index()
        .in_order()
        .map(modreg_core::Descriptor::name)
        .collect();
    assert_eq!(listed, ["free", "first", "second", "third"]);

    let unknown = UNKNOWN.check().unwrap_err().to_string();
    assert_eq!(
        unknown,
        "plugin `lonely` is ordered after `missing`, which is not in its registry"
    );
    // A plugin whose order is wrong can still be created by name.
    assert!(UNKNOWN.create("lonely").is_ok());
}

pub trait Stage: Send + Sync {
    fn run(&self, input: &str) -> String;
    /// What a wrapper does with the results of the plugins inside it.
    fn wrap(&self, results: Vec<String>) -> Vec<String> {
        results
    }
}

registry!(pub STAGES: dyn Stage);

#[plugin(registry = STAGES)]
#[derive(Default)]
struct AddA;
impl Stage for AddA {
    fn run(&self, input: &str) -> String {
        format!("{input}a")
    }
}

#[plugin(registry = STAGES, priority = 1)]
#[derive(Default)]
struct AddB;
impl Stage for AddB {
    fn run(&self, input: &str) -> String {
        format!("{input}b")
    }
}

/// Outermost: the first wrapper in run order.
#[plugin(registry = STAGES, wrapper, priority = 10)]
#[derive(Default)]
struct Brackets;
impl Stage for Brackets {
    fn run(&self, _: &str) -> String {
        "brackets".into()
    }
    fn wrap(&self, results: Vec<String>) -> Vec<String> {
        results.into_iter().map(|r| format!("<{r}>")).collect()
    }
}

#[plugin(registry = STAGES, wrapper = true)]
#[derive(Default)]
struct Reverse;
impl Stage for Reverse {
    fn run(&self, _: &str) -> String {
        "reverse".into()
    }
    fn wrap(&self, mut results: Vec<String>) -> Vec<String> {
        results.reverse();
        results
    }
}

#[test]
fn wrappers_run_around_the_others_and_fan_out_skips_them() {
    assert_eq!(STAGES.call_all(|s| s.run("x")).unwrap(), ["xb", "xa"]);
    let log = std::cell::RefCell::new(Vec::new());
    let results = STAGES
        .fan_out()
        .call_around(
            |stage| stage.run("x"),
            |wrapper, inner| {
                log.borrow_mut().push(format!("enter {}", wrapper.run("")));
                let results = wrapper.wrap(inner()?);
                log.borrow_mut().push(format!("leave {}", wrapper.run("")));
                Ok(results)
            },
        )
        .unwrap();
    assert_eq!(results, ["<xa>", "<xb>"]);
    assert_eq!(
        log.into_inner(),
        [
            "enter brackets",
            "enter reverse",
            "leave reverse",
            "leave brackets"
        ]
    );
    // A wrapper may answer in the plugins' place.
    let short = STAGES
        .fan_out()
        .call_around(|stage| stage.run("x"), |_, _| Ok(vec!["cached".to_owned()]))
        .unwrap();
    assert_eq!(short, ["cached"]);
    assert!(STAGES.get("brackets").unwrap().is_wrapper());
}
