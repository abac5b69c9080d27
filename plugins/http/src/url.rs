//! The little URL parsing `fetch` needs: scheme, authority, path and query, as wasi:http
//! takes them. Hand-written because that split is all that is needed and a full URL
//! crate would add most of a megabyte to the component.

/// A URL split the way an outgoing wasi:http request is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `http` or `https`.
    pub scheme: String,
    /// `host[:port]`.
    pub authority: String,
    /// `/path?query` (at least `/`).
    pub path_with_query: String,
}

impl Url {
    /// Parses an absolute `http://` or `https://` URL; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Url, String> {
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            format!("`{text}` is not an absolute URL; write it like https://example.com/path")
        })?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(format!(
                "`{scheme}` URLs are not supported; use http or https"
            ));
        }
        let rest = rest.split('#').next().unwrap_or_default();
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty()
            || authority.contains('@')
            || authority.contains(char::is_whitespace)
        {
            return Err(format!(
                "`{text}` has no usable host (user info and spaces are not allowed)"
            ));
        }
        let path_with_query = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        if path_with_query.contains(char::is_whitespace) {
            return Err(format!(
                "`{text}` contains spaces; percent-encode them as %20"
            ));
        }
        Ok(Url {
            scheme,
            authority: authority.to_string(),
            path_with_query,
        })
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}{}",
            self.scheme, self.authority, self.path_with_query
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_what_wasi_http_takes() {
        let url = Url::parse("HTTPS://api.example.com:8443?q=1#frag").unwrap();
        assert_eq!(url.scheme, "https");
        assert_eq!(url.authority, "api.example.com:8443");
        assert_eq!(url.path_with_query, "/?q=1");
        assert_eq!(Url::parse("http://[::1]:80").unwrap().path_with_query, "/");
        for bad in [
            "example.com",
            "file:///etc/passwd",
            "http://",
            "http://u:p@h/",
            "http://h/a b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }
}
