include!("flip.rs");
