use modreg_core::{sandboxed, PluginError};

// A guest can fail where a native call cannot: every method returns `Result<T, E>`.
#[sandboxed]
pub trait Infallible: Send + Sync {
    fn count(&self) -> u32;
    fn reset(&mut self) -> Result<(), PluginError>;
}

// Its guests are built for one signature.
#[sandboxed]
pub trait Generic: Send + Sync {
    fn parse<T>(&self, input: T) -> Result<(), PluginError>;
}

// An `async fn` needs the trait object form.
#[sandboxed]
pub trait Waits: Send + Sync {
    async fn fetch(&self) -> Result<(), PluginError>;
}

fn main() {}
