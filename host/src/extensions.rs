//! `Extensions`: state a layer keeps in a registry, one value per type, made on first use.
//!
//! The registry holds it without knowing the types, so a layer (security's audit log,
//! the sandbox's loaded modules) depends on the registry and never the other way
//! round.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// One value of each type, shared.
#[derive(Default)]
pub(crate) struct Extensions {
    values: RwLock<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl Extensions {
    /// The value of type `T`, made with `T::default()` by the first caller.
    pub(crate) fn get<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        let id = TypeId::of::<T>();
        let found = self
            .values
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned();
        let value = found.unwrap_or_else(|| {
            self.values
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(id)
                .or_insert_with(|| Arc::new(T::default()))
                .clone()
        });
        value
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("a value is stored under its own type's id"))
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let count = self
            .values
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Extensions")
            .field("values", &count)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_type_made_once() {
        let extensions = Extensions::default();
        let a = extensions.get::<std::sync::Mutex<u32>>();
        *a.lock().unwrap() = 7;
        assert_eq!(
            *extensions.get::<std::sync::Mutex<u32>>().lock().unwrap(),
            7
        );
        assert_eq!(
            *extensions.get::<std::sync::Mutex<u64>>().lock().unwrap(),
            0
        );
    }
}
