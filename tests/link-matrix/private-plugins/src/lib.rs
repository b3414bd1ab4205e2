//! Plugins in private modules only: nothing here is public.

mod stages {
    use modreg::plugin;
    use root_plugins::{STAGES, Stage, StageMeta};

    #[plugin(registry = STAGES, priority = 5, meta = StageMeta { label: "a" })]
    #[derive(Default)]
    struct Middle;

    impl Stage for Middle {
        fn mark(&self) -> &'static str {
            "middle"
        }
    }

    #[plugin(registry = STAGES, before = "middle", meta = StageMeta { label: "m" })]
    #[derive(Default)]
    struct Zeroth;

    impl Stage for Zeroth {
        fn mark(&self) -> &'static str {
            "zeroth"
        }
    }
}

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

        #[plugin(type = Analyzer, name = "deeply-hidden-three", priority = -5)]
        #[derive(Default)]
        struct DeeplyHiddenThree;

        impl PluginBehavior for DeeplyHiddenThree {
            fn process(&self, data: &[u8]) -> Result<Vec<u8>, PluginError> {
                Ok(data.to_vec())
            }
        }
    }
}
