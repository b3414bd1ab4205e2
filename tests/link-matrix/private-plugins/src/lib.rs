//! Plugins in private modules only: nothing here is public.

mod hidden {
    use modreg::{PluginBehavior, PluginError, plugin};

    #[plugin(type = Storage, name = "hidden-two")]
    #[derive(Default)]
    struct HiddenTwo;

    impl PluginBehavior for HiddenTwo {
        fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
            Ok(data.to_vec())
        }
    }

    mod deeper {
        use modreg::{PluginBehavior, PluginError, plugin};

        #[plugin(type = Analyzer, name = "deeply-hidden-three")]
        #[derive(Default)]
        struct DeeplyHiddenThree;

        impl PluginBehavior for DeeplyHiddenThree {
            fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
                Ok(data.to_vec())
            }
        }
    }
}
