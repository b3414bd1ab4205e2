//! The guest's half of a call: instances kept per plugin, the input taken from the host's
//! buffer, the answer kept until the next call.

use std::cell::{Cell, RefCell};

use modreg_core::__private_0_1_0::PluginDescriptor;
use std::thread::LocalKey;

use modreg_core::Plugin;
use modreg_core::typed_sandbox::{SandboxedTrait, unframed};
use modreg_core::wasm_abi::{STATUS_ERROR, STATUS_METHOD_ERROR, STATUS_OK};

thread_local! {
    /// One instance per exported plugin, made and initialized on its first call.
    static INSTANCES: RefCell<Vec<Option<Box<dyn Plugin>>>> = const { RefCell::new(Vec::new()) };
    /// The last call's answer: output, or an error's message.
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The answer record the host reads: status, the answer's address, its length.
    static RECORD: Cell<[u32; 3]> = const { Cell::new([0; 3]) };
}

/// Entry number `plugin` of `entries`, or the answer that says there is none.
fn entry_at<T: ?Sized>(
    entries: &'static [&'static PluginDescriptor<T>],
    plugin: u32,
) -> Result<&'static PluginDescriptor<T>, (u32, Vec<u8>)> {
    usize::try_from(plugin)
        .ok()
        .and_then(|i| entries.get(i))
        .copied()
        .ok_or_else(|| {
            let message = format!(
                "no plugin number {plugin}: this module exports {}",
                entries.len()
            );
            (STATUS_ERROR, message.into_bytes())
        })
}

/// Runs plugin number `plugin` of `entries` on `input`: the status and the answer.
pub(crate) fn run(
    entries: &'static [&'static PluginDescriptor],
    plugin: u32,
    input: &[u8],
) -> (u32, Vec<u8>) {
    let entry = match entry_at(entries, plugin) {
        Ok(entry) => entry,
        Err(refused) => return refused,
    };
    let index = usize::try_from(plugin).unwrap_or(usize::MAX);
    INSTANCES.with_borrow_mut(|instances| {
        if instances.len() < entries.len() {
            instances.resize_with(entries.len(), || None);
        }
        if instances[index].is_none() {
            let made = entry.instantiate_default().and_then(|mut instance| {
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
    let entry = match entry_at(entries, plugin) {
        Ok(entry) => entry,
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
/// plugin number `plugin`; answers the address of the answer record.
pub fn process(
    entries: &'static [&'static PluginDescriptor],
    plugin: u32,
    ptr: u32,
    len: u32,
) -> u32 {
    answer(ptr, len, |input| run(entries, plugin, input))
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

    static ENTRIES: &[&PluginDescriptor] =
        &[<Reverse as modreg_core::__private_0_1_0::HasDescriptor<dyn Plugin>>::DESCRIPTOR];

    #[test]
    fn a_call_answers_output_an_error_or_an_unknown_plugin() {
        assert_eq!(run(ENTRIES, 0, b"abc"), (STATUS_OK, b"cba".to_vec()));
        let (status, message) = run(ENTRIES, 0, b"");
        assert_eq!(status, STATUS_ERROR);
        assert!(
            String::from_utf8(message)
                .unwrap()
                .contains("nothing to reverse")
        );
        let (status, message) = run(ENTRIES, 7, b"abc");
        assert_eq!(status, STATUS_ERROR);
        assert_eq!(message, b"no plugin number 7: this module exports 1");
    }
}
