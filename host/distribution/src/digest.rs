//! Content digests as registries and lock files write them: `sha256:<64 lower-case hex>`.
//! Only SHA-256 is accepted; it is what OCI registries and `sha256 = "…"` pins use.

use std::fmt;
use std::str::FromStr;

/// A SHA-256 content digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// The digest of bytes whose SHA-256 is `hash`.
    pub fn from_sha256(hash: [u8; 32]) -> Digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for byte in hash {
            hex.push(HEX[usize::from(byte >> 4)].into());
            hex.push(HEX[usize::from(byte & 0xf)].into());
        }
        Digest { hex }
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl FromStr for Digest {
    type Err = String;

    /// Reads `sha256:<hex>` or bare hex (as `sha256 = "…"` pins are often written).
    fn from_str(text: &str) -> Result<Digest, String> {
        let hex = text.strip_prefix("sha256:").unwrap_or(text);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "`{}` is not a SHA-256 digest: write `sha256:` and 64 hex digits",
                text.chars().take(100).collect::<String>()
            ));
        }
        Ok(Digest {
            hex: hex.to_ascii_lowercase(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_read_and_print_in_the_registry_form() {
        let hex = "AB".repeat(32);
        let digest: Digest = format!("sha256:{hex}").parse().unwrap();
        assert_eq!(digest.to_string(), format!("sha256:{}", "ab".repeat(32)));
        assert_eq!(hex.parse::<Digest>().unwrap(), digest);
        assert_eq!(Digest::from_sha256([0xab; 32]), digest);
        for bad in ["sha256:abc", "sha512:00", &"g".repeat(64), ""] {
            let error = bad.parse::<Digest>().unwrap_err();
            assert!(error.contains("64 hex digits"), "{error}");
        }
    }
}
