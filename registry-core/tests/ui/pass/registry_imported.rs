// A registry is named like any item: by an import, a renamed re-export or its defining path.
mod api {
    pub trait Shape: Send + Sync {
        fn corners(&self) -> u32;
    }

    modreg_core::registry!(pub SHAPES: dyn Shape);
}

mod reexport {
    pub use crate::api::SHAPES as FIGURES;
}

mod plugins {
    use crate::api::{SHAPES, Shape};
    use modreg_core::plugin;

    #[plugin(registry = SHAPES)]
    #[derive(Default)]
    struct Square;

    impl Shape for Square {
        fn corners(&self) -> u32 {
            4
        }
    }

    #[plugin(registry = crate::reexport::FIGURES)]
    #[derive(Default)]
    struct Triangle;

    impl Shape for Triangle {
        fn corners(&self) -> u32 {
            3
        }
    }

    #[plugin(registry = crate::api::SHAPES)]
    #[derive(Default)]
    struct Circle;

    impl Shape for Circle {
        fn corners(&self) -> u32 {
            0
        }
    }
}

fn main() {
    use reexport::FIGURES;
    let names: Vec<&str> = FIGURES.entries().iter().map(|d| d.name()).collect();
    assert_eq!(names, ["circle", "square", "triangle"]);
    assert_eq!(api::SHAPES.create("triangle").unwrap().corners(), 3);
}
