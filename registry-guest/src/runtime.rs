//! The guest's half of a call: instances kept per plugin, the input taken from the host's
//! buffer, the answer kept until the next call.

use std::cell::{Cell, RefCell};
use std::thread::LocalKey;

use modreg_core::__private_0_1_0::{HasDescriptor, PluginDescriptor, any_constructor_of};
use modreg_core::typed_sandbox::{SandboxedTrait, unframed};
use modreg_core::wasm_abi::{STATUS_ERROR, STATUS_METHOD_ERROR, STATUS_OK};
use modreg_core::{Plugin, PluginBehavior, PluginError, PluginErrorKind, PluginSettings};

thread_local! {
    /// One instance per exported plugin, made and initialized on its first call.
    static INSTANCES: RefCell<Vec<Option<Box<dyn PluginBehavior>>>> = const { RefCell::new(Vec::new()) };
    /// The last call's answer: output, or an error's message.
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The answer record the host reads: status, the answer's address, its length.
    static RECORD: Cell<[u32; 3]> = const { Cell::new([0; 3]) };
}

/// How [`export!`](crate::export) makes one of its plugins: boxed as the trait a guest calls,
/// without its table entry. Not public API.
pub type Make = fn() -> Result<Box<dyn PluginBehavior>, PluginError>;

/// Makes `P` with empty settings, through the constructor its `#[plugin]` entry holds.
///
/// The constructor is taken out of the entry at compile time: the module keeps that function
/// and not the entry, whose other constructors box `P` as a `Plugin` and so keep every one of
/// its methods (streams, health, capabilities), none of which a guest calls.
pub fn make<P: PluginBehavior + HasDescriptor<dyn Plugin> + 'static>()
-> Result<Box<dyn PluginBehavior>, PluginError> {
    let construct = const {
        match any_constructor_of(P::DESCRIPTOR) {
            Some(construct) => construct,
            None => {
                panic!("`export!` exports `#[plugin]` structs, whose entries say how to make them")
            }
        }
    };
    let made = construct(&PluginSettings::new())?;
    match made.downcast::<P>() {
        Ok(plugin) => Ok(plugin),
        Err(_) => Err(PluginErrorKind::WrongType {
            // Taken out at compile time too: a run-time read would keep the entry.
            plugin: const { P::DESCRIPTOR.name() }.to_owned(),
            requested: std::any::type_name::<P>(),
        }
        .into()),
    }
}

/// Item number `plugin` of `items`, or the answer that says there is none.
fn numbered<T>(items: &[T], plugin: u32) -> Result<&T, (u32, Vec<u8>)> {
    usize::try_from(plugin)
        .ok()
        .and_then(|i| items.get(i))
        .ok_or_else(|| {
            let message = format!(
                "no plugin number {plugin}: this module exports {}",
                items.len()
            );
            (STATUS_ERROR, message.into_bytes())
        })
}

/// Runs plugin number `plugin` of `plugins` on `input`: the status and the answer.
pub(crate) fn run(plugins: &'static [Make], plugin: u32, input: &[u8]) -> (u32, Vec<u8>) {
    let construct = match numbered(plugins, plugin) {
        Ok(construct) => construct,
        Err(refused) => return refused,
    };
    let index = usize::try_from(plugin).unwrap_or(usize::MAX);
    INSTANCES.with_borrow_mut(|instances| {
        if instances.len() < plugins.len() {
            instances.resize_with(plugins.len(), || None);
        }
        if instances[index].is_none() {
            let made = construct().and_then(|mut instance| {
                instance.initialize()?;
                Ok(instance)
            });
            match made {
                Ok(instance) => instances[index] = Some(instance),
                Err(e) => return (STATUS_ERROR, e.to_string().into_bytes()),
            }
        }
        let instance = instances[index].as_ref().expect("made above");
        match instance.process(input) {
            Ok(output) => (STATUS_OK, output),
            Err(e) => (STATUS_ERROR, e.to_string().into_bytes()),
        }
    })
}

/// Runs method `method` of typed plugin number `plugin` of `entries` on the encoded
/// `arguments`, the plugin made on its first call and kept in `instances`.
pub(crate) fn run_typed<T: ?Sized + SandboxedTrait + 'static>(
    entries: &'static [&'static PluginDescriptor<T>],
    instances: &RefCell<Vec<Option<Box<T>>>>,
    plugin: u32,
    input: &[u8],
) -> (u32, Vec<u8>) {
    let entry = match numbered(entries, plugin) {
        Ok(entry) => *entry,
        Err(refused) => return refused,
    };
    let Some((method, arguments)) = unframed(input) else {
        let message = "a typed call starts with its method's number (4 bytes)";
        return (STATUS_ERROR, message.as_bytes().to_vec());
    };
    let index = usize::try_from(plugin).unwrap_or(usize::MAX);
    let mut instances = instances.borrow_mut();
    if instances.len() < entries.len() {
        instances.resize_with(entries.len(), || None);
    }
    if instances[index].is_none() {
        match entry.instantiate_default() {
            Ok(instance) => instances[index] = Some(instance),
            Err(e) => return (STATUS_ERROR, e.to_string().into_bytes()),
        }
    }
    let instance = instances[index].as_deref().expect("made above");
    match instance.dispatch(method, arguments) {
        Ok(answer) if answer.failed => (STATUS_METHOD_ERROR, answer.encoded),
        Ok(answer) => (STATUS_OK, answer.encoded),
        Err(e) => (STATUS_ERROR, e.to_string().into_bytes()),
    }
}

/// The address as the 32-bit offset the host sees.
fn offset<T>(pointer: *const T) -> u32 {
    // wasm32 addresses are 32 bits; elsewhere nothing calls this with a real buffer.
    u32::try_from(pointer as usize).unwrap_or(u32::MAX)
}

/// A buffer of exactly `len` bytes for the host to write the input into; the next `process`
/// owns it.
pub fn alloc(len: u32) -> u32 {
    let buffer: Box<[u8]> = vec![0; len as usize].into_boxed_slice();
    offset(Box::into_raw(buffer).cast::<u8>())
}

/// Processes the `len` bytes at `ptr` (a buffer [`alloc`] made for exactly `len` bytes) with
/// plugin number `plugin` of `plugins`; answers the address of the answer record.
pub fn process(plugins: &'static [Make], plugin: u32, ptr: u32, len: u32) -> u32 {
    answer(ptr, len, |input| run(plugins, plugin, input))
}

/// [`process`] for typed plugins (a `#[sandboxed]` trait's): the input is a method's number
/// and its encoded arguments; `instances` is the module's own (`export!` declares it).
pub fn process_typed<T: ?Sized + SandboxedTrait + 'static>(
    entries: &'static [&'static PluginDescriptor<T>],
    instances: &'static LocalKey<RefCell<Vec<Option<Box<T>>>>>,
    plugin: u32,
    ptr: u32,
    len: u32,
) -> u32 {
    answer(ptr, len, |input| {
        instances.with(|instances| run_typed(entries, instances, plugin, input))
    })
}

/// Takes the input at `ptr`, runs `run` on it and keeps its answer for the host.
fn answer(ptr: u32, len: u32, run: impl FnOnce(&[u8]) -> (u32, Vec<u8>)) -> u32 {
    crate::capability::report_panics();
    let input = if len == 0 {
        Vec::new()
    } else {
        let slice = std::ptr::slice_from_raw_parts_mut(ptr as usize as *mut u8, len as usize);
        #[allow(unsafe_code)]
        // SAFETY: `ptr` is the buffer `alloc(len)` returned (the host's side of the ABI): a
        // `Box<[u8]>` of exactly `len` bytes, which the host filled and hands over with this
        // call; nothing else owns it, and it is taken back once.
        let buffer = unsafe { Box::from_raw(slice) };
        buffer.into_vec()
    };
    let (status, answer) = run(&input);
    drop(input);
    let (at, len) = OUTPUT.with_borrow_mut(|output| {
        *output = answer;
        (
            offset(output.as_ptr()),
            u32::try_from(output.len()).unwrap_or(u32::MAX),
        )
    });
    RECORD.with(|record| {
        record.set([status.to_le(), at.to_le(), len.to_le()]);
        offset(record.as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use modreg_core::{PluginBehavior, PluginError, plugin};

    use super::*;

    #[plugin(type = DataProcessor, capabilities = ["test"])]
    #[derive(Default)]
    struct Reverse;

    impl PluginBehavior for Reverse {
        fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
            if data.is_empty() {
                return Err(PluginError::processing("reverse", "nothing to reverse"));
            }
            Ok(data.iter().rev().copied().collect())
        }
    }

    /// A plugin with `config`, made from empty settings: its defaults.
    #[plugin(type = DataProcessor, config = RepeatConfig)]
    struct Repeat {
        times: usize,
    }

    #[derive(serde::Deserialize)]
    struct RepeatConfig {
        #[serde(default = "twice")]
        times: usize,
    }

    fn twice() -> usize {
        2
    }

    impl Repeat {
        fn from_config(RepeatConfig { times }: RepeatConfig) -> Result<Self, PluginError> {
            if times == 0 {
                return Err(PluginError::processing(
                    "repeat",
                    "`times` must be at least 1",
                ));
            }
            Ok(Repeat { times })
        }
    }

    impl PluginBehavior for Repeat {
        fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
            Ok(data.repeat(self.times))
        }
    }

    static PLUGINS: &[Make] = &[make::<Reverse>, make::<Repeat>];

    #[test]
    fn a_call_answers_output_an_error_or_an_unknown_plugin() {
        assert_eq!(run(PLUGINS, 0, b"abc"), (STATUS_OK, b"cba".to_vec()));
        let (status, message) = run(PLUGINS, 0, b"");
        assert_eq!(status, STATUS_ERROR);
        assert!(
            String::from_utf8(message)
                .unwrap()
                .contains("nothing to reverse")
        );
        assert_eq!(run(PLUGINS, 1, b"ab"), (STATUS_OK, b"abab".to_vec()));
        let (status, message) = run(PLUGINS, 7, b"abc");
        assert_eq!(status, STATUS_ERROR);
        assert_eq!(message, b"no plugin number 7: this module exports 2");
    }
}
