// What a trait object cannot call is one error at that item.
#[modreg_core::registry_trait]
pub trait Fetcher: Send + Sync {
    async fn fetch<K: AsRef<str>>(&self, key: K) -> Vec<u8>;
    async fn open(path: &str) -> Self;
    async fn close(self);
}

fn main() {}
