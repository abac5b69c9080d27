// Version 2.0.0 of plugin `flip`: the same source as `flip-one`, built at another version.
include!("../../flip-one/src/flip.rs");
