//! A hand-written `Plugin` (no `#[plugin]`, no descriptor), as a runtime constructor returns
//! it: `handmade_plugin!` writes the `impl Plugin` the tests of that path share. Included with
//! `#[path]` and `#[macro_use]` (as `handmade`, ahead of its users).

/// `impl Plugin for $plugin`: version 1.0.0, no capabilities, nothing to set up or clean up,
/// of type `$type`, named `$name` (an expression of `$this`, the plugin), and whose `process`
/// is `$process` (of `$this` and `$data`), or echoes its input when none is given.
///
/// ```ignore
/// handmade_plugin!(Liar, |_this| "someone-else", Storage);
/// handmade_plugin!(Named, |this| &this.0, Storage, |_this, data| Ok(data.to_vec()));
/// ```
macro_rules! handmade_plugin {
    ($plugin:ty, |$named:pat_param| $name:expr, $type:ident) => {
        handmade_plugin!($plugin, |$named| $name, $type, |_plugin, data| Ok(
            data.to_vec()
        ));
    };
    (
        $plugin:ty,
        |$named:pat_param| $name:expr,
        $type:ident,
        |$this:pat_param, $data:ident| $process:expr
    ) => {
        impl ::modreg::Plugin for $plugin {
            fn name(&self) -> &str {
                let $named = self;
                $name
            }
            fn version(&self) -> &str {
                "1.0.0"
            }
            fn plugin_type(&self) -> ::modreg::PluginType {
                ::modreg::PluginType::$type
            }
            fn capabilities(&self) -> &[String] {
                &[]
            }
            fn initialize(&mut self) -> Result<(), ::modreg::PluginError> {
                Ok(())
            }
            fn cleanup(&mut self) -> Result<(), ::modreg::PluginError> {
                Ok(())
            }
            fn process(&self, $data: &[u8]) -> Result<Vec<u8>, ::modreg::PluginError> {
                let $this = self;
                $process
            }
        }
    };
}
