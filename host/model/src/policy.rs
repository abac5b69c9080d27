//! Per-plugin grants: what the operator lets one plugin reach beyond its sandbox (folders,
//! environment variables, network hosts), what a plugin says it needs, and the check
//! between the two.
//!
//! Deny by default: a plugin with no grants gets no folder, no environment and no
//! network, whatever it declares. Its declared needs only decide whether it is loaded at
//! all: a plugin that needs something not granted is refused at load with the config key
//! to add, instead of failing on its first call. Enforcement is WASI's (preopened folders,
//! the environment list, the socket address check) and the host's own (outgoing HTTP);
//! this module only describes and matches.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::state::StateQuota;

/// A folder granted to a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderGrant {
    /// The folder on this machine.
    pub host: PathBuf,
    /// Where the plugin sees it, e.g. `/workspace`.
    pub guest: String,
    /// Whether the plugin may create, change and delete files there.
    pub write: bool,
}

/// One allowed network destination: `host`, `host:port`, `*.suffix`, or any of those
/// behind `scheme://`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRule {
    /// `http` or `https`; `None` allows both (and raw sockets).
    pub scheme: Option<String>,
    /// The host name or IP literal, lower-case; a leading `*.` matches any subdomain.
    pub host: String,
    /// The port; `None` allows any.
    pub port: Option<u16>,
}

impl NetworkRule {
    /// Parses one allow-list entry.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "`{text}` is not a network rule: {why}; write `host`, `host:port`, `*.domain` \
                 or `https://host[:port]`"
            )
        };
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = scheme.to_ascii_lowercase();
                if scheme != "http" && scheme != "https" {
                    return Err(bad("only http and https schemes are known"));
                }
                (Some(scheme), rest)
            }
            None => (None, text),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad(
                "it must be a host, with an optional port and nothing else",
            ));
        }
        // `[v6]:port`, `[v6]`, `host:port`, `host`.
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (addr, after) = inner
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address needs its closing `]`"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("junk after `]`"))?),
            };
            (addr.to_string(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (rest.to_string(), None),
            }
        };
        let port = match port {
            None | Some("*") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| bad("the port is not a number"))?,
            ),
        };
        let host = host.to_ascii_lowercase();
        let name = host.strip_prefix("*.").unwrap_or(&host);
        if name.is_empty() || name.contains('*') {
            return Err(bad("a wildcard is only allowed as a leading `*.`"));
        }
        Ok(Self { scheme, host, port })
    }

    fn host_matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        match self.host.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() && host.ends_with(&format!(".{suffix}")),
            None => match (self.host.parse::<IpAddr>(), host.parse::<IpAddr>()) {
                // Compare addresses, not spellings (`::1` vs `0:0::1`).
                (Ok(a), Ok(b)) => a == b,
                _ => self.host == host,
            },
        }
    }

    /// Whether a request to `scheme://host:port` is allowed by this rule.
    pub fn allows_url(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.scheme
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case(scheme))
            && self.port.is_none_or(|p| p == port)
            && self.host_matches(host)
    }

    /// Whether a raw socket to `addr` is allowed: only rules naming an IP address (and no
    /// scheme) can allow one, because a socket sees an address, not the name it came
    /// from.
    pub fn allows_socket(&self, addr: SocketAddr) -> bool {
        self.scheme.is_none()
            && self.port.is_none_or(|p| p == addr.port())
            && self.host.parse::<IpAddr>().is_ok_and(|ip| ip == addr.ip())
    }
}

/// Everything one plugin is granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Folders, each at its guest path.
    pub folders: Vec<FolderGrant>,
    /// Environment variables the plugin sees, with their values.
    pub env: BTreeMap<String, String>,
    /// Every variable name granted, including passed-through ones that are not set in
    /// Berth's environment (the plugin then sees them unset).
    pub env_names: BTreeSet<String>,
    /// Where it may connect.
    pub network: Vec<NetworkRule>,
    /// The state buckets it may keep (`wasi:keyvalue`), if any.
    pub keyvalue: Option<KeyValueGrant>,
}

/// The state buckets granted to one plugin, and how much it may keep in them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyValueGrant {
    /// Bucket names it may open; `*` allows any name.
    pub buckets: Vec<String>,
    /// Its limits, across all its buckets.
    pub quota: StateQuota,
}

impl KeyValueGrant {
    /// Whether the plugin may open the bucket `name`.
    pub fn allows(&self, name: &str) -> bool {
        self.buckets.iter().any(|b| b == "*" || b == name)
    }
}

impl Grants {
    /// Whether any rule allows a request to `scheme://host:port`.
    pub fn allows_url(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.network
            .iter()
            .any(|r| r.allows_url(scheme, host, port))
    }

    /// Whether any rule allows a raw socket to `addr`.
    pub fn allows_socket(&self, addr: SocketAddr) -> bool {
        self.network.iter().any(|r| r.allows_socket(addr))
    }
}

/// A folder a plugin says it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderNeed {
    /// The guest path it uses.
    pub path: String,
    /// Whether it writes there.
    pub write: bool,
    /// Why, for the operator.
    pub reason: String,
}

/// What a plugin says it needs (contract 0.2's optional `needs` export); empty for
/// plugins that declare nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Folders.
    pub folders: Vec<FolderNeed>,
    /// Environment variable names.
    pub env: Vec<String>,
    /// Destinations, in [`NetworkRule`] syntax.
    pub network: Vec<String>,
    /// Plugin state: it imports `wasi:keyvalue` (found in its imports, not declared).
    pub keyvalue: bool,
}

impl Needs {
    /// True when the plugin needs nothing.
    pub fn is_empty(&self) -> bool {
        self.folders.is_empty() && self.env.is_empty() && self.network.is_empty() && !self.keyvalue
    }
}

/// A need the config does not grant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "plugin `{plugin}` needs {what}, which the config does not grant; add {suggestion} to \
     `{key}` (or remove the plugin)"
)]
pub struct NotGranted {
    /// The plugin.
    pub plugin: String,
    /// The missing capability, in words.
    pub what: String,
    /// The config key to add it under.
    pub key: String,
    /// What to add there.
    pub suggestion: String,
}

/// Checks every need of `plugin` against `grants`; the first one missing is the error.
pub fn check(plugin: &str, needs: &Needs, grants: &Grants) -> Result<(), NotGranted> {
    let missing = |what: String, key: &str, suggestion: String| NotGranted {
        plugin: plugin.to_string(),
        what,
        key: format!("plugins.{plugin}.grants.{key}"),
        suggestion,
    };
    for need in &needs.folders {
        let granted = grants.folders.iter().find(|g| g.guest == need.path);
        let access = if need.write { "read-write" } else { "read" };
        let reason = match need.reason.as_str() {
            "" => String::new(),
            r => format!(" ({r})"),
        };
        match granted {
            Some(g) if g.write || !need.write => {}
            Some(_) => {
                return Err(missing(
                    format!("write access to the folder `{}`{reason}", need.path),
                    "folders",
                    "`write = true` to its entry".to_string(),
                ));
            }
            None => {
                return Err(missing(
                    format!("{access} access to the folder `{}`{reason}", need.path),
                    "folders",
                    format!(
                        "{{ host = \"/a/folder/on/this/machine\", guest = \"{}\"{} }}",
                        need.path,
                        if need.write { ", write = true" } else { "" }
                    ),
                ));
            }
        }
    }
    for name in &needs.env {
        if !grants.env_names.contains(name) {
            return Err(missing(
                format!("the environment variable `{name}`"),
                "env",
                format!("\"{name}\""),
            ));
        }
    }
    for wanted in &needs.network {
        let covered = match NetworkRule::parse(wanted) {
            // A need is covered when some grant allows every destination it names: the
            // same host, a port the grant allows, and a scheme the grant allows.
            Ok(need) => grants.network.iter().any(|g| {
                let host = need.host.strip_prefix("*.").unwrap_or(&need.host);
                let wildcard_ok = !need.host.starts_with("*.") || g.host == need.host;
                wildcard_ok
                    && g.host_matches(host)
                    && (g.port.is_none() || g.port == need.port)
                    && (g.scheme.is_none() || g.scheme == need.scheme)
            }),
            Err(_) => false,
        };
        if !covered {
            return Err(missing(
                format!("network access to `{wanted}`"),
                "network",
                format!("\"{wanted}\""),
            ));
        }
    }
    if needs.keyvalue && grants.keyvalue.is_none() {
        return Err(missing(
            "plugin state (it imports wasi:keyvalue)".to_string(),
            "keyvalue",
            "{ buckets = [\"<the buckets it opens>\"] }".to_string(),
        ));
    }
    Ok(())
}

/// Why a plugin with `grants` may not serve resources at `uri`, or `None` when it may. A
/// resource URI is what clients take the resource to be, so a plugin claims only what is
/// its own: a `file:` URI only under a folder granted to it (no `.` or `..` segments), an
/// `http:`/`https:` URI only for a destination its network grants allow; URIs of other
/// schemes (`notes://`, `berth://`) name the plugin's own things. For a template, `uri`
/// is its literal start (before the first `{`), which must fix the folder or host.
/// `allowed` holds URI prefixes the operator allows whatever the grants
/// (`plugins.NAME.resource_uris`).
pub fn resource_uri_problem(uri: &str, grants: &Grants, allowed: &[String]) -> Option<String> {
    if allowed
        .iter()
        .any(|prefix| uri.starts_with(prefix.as_str()))
    {
        return None;
    }
    let (scheme, rest) = uri.split_once(':')?;
    match scheme.to_ascii_lowercase().as_str() {
        "file" => {
            // `file:///p` and `file://localhost/p` name this machine's `/p`.
            let path = rest
                .strip_prefix("//")
                .map(|after| after.strip_prefix("localhost").unwrap_or(after))
                .unwrap_or(rest);
            if !path.starts_with('/') {
                return Some("a `file:` URI that does not name a path on this machine".into());
            }
            let lowered = path.to_ascii_lowercase();
            if path.split('/').any(|s| s == "." || s == "..") || lowered.contains("%2e") {
                return Some("a `file:` URI with `.` or `..` segments".into());
            }
            let under = |guest: &str| {
                let guest = guest.trim_end_matches('/');
                path == guest || path.starts_with(&format!("{guest}/"))
            };
            match grants.folders.iter().any(|g| under(&g.guest)) {
                true => None,
                false => Some(format!(
                    "`{}`, which is in no folder granted to it (`file:` URIs name files of \
                     this machine)",
                    crate::untrusted::shown(path)
                )),
            }
        }
        "http" | "https" => {
            let authority = rest.strip_prefix("//")?;
            let end = authority.find(['/', '?', '#']);
            let Some(end) = end else {
                return Some("an `http(s):` URI or template whose host is not fixed".into());
            };
            let authority = &authority[..end];
            // Credentials before `@` are not part of where the URI points.
            let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let (host, port) = match hostport.strip_prefix('[') {
                Some(bracketed) => match bracketed.split_once(']') {
                    Some((host, rest)) => (host, rest.strip_prefix(':')),
                    None => (bracketed, None),
                },
                None => match hostport.rsplit_once(':') {
                    Some((host, port)) => (host, Some(port)),
                    None => (hostport, None),
                },
            };
            let default = if scheme.eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            let port = match port {
                None | Some("") => default,
                Some(port) => match port.parse() {
                    Ok(port) => port,
                    Err(_) => {
                        let shown = crate::untrusted::shown(authority);
                        return Some(format!("the port of `{shown}`, which is not fixed"));
                    }
                },
            };
            match grants.allows_url(scheme, &host.to_ascii_lowercase(), port) {
                true => None,
                false => Some(format!(
                    "the host `{}`, which its network grants do not allow",
                    crate::untrusted::shown(authority)
                )),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> NetworkRule {
        NetworkRule::parse(text).unwrap()
    }

    #[test]
    fn network_rules_parse_and_match() {
        let r = rule("https://API.example.com");
        assert!(r.allows_url("https", "api.example.com", 443));
        assert!(r.allows_url("HTTPS", "api.example.com.", 8443));
        assert!(!r.allows_url("http", "api.example.com", 80));
        assert!(!r.allows_url("https", "evil.com", 443));

        let r = rule("*.example.org:443");
        assert!(r.allows_url("https", "a.b.example.org", 443));
        assert!(!r.allows_url("https", "example.org", 443));
        assert!(!r.allows_url("https", "badexample.org", 443));
        assert!(!r.allows_url("https", "a.example.org", 80));

        let r = rule("127.0.0.1:8080");
        assert!(r.allows_url("http", "127.0.0.1", 8080));
        assert!(r.allows_socket("127.0.0.1:8080".parse().unwrap()));
        assert!(!r.allows_socket("127.0.0.1:8081".parse().unwrap()));
        assert!(!rule("localhost").allows_socket("127.0.0.1:80".parse().unwrap()));
        assert!(rule("[::1]:*").allows_socket("[0:0::1]:9".parse().unwrap()));
    }

    #[test]
    fn bad_rules_say_why() {
        for text in [
            "ftp://x",
            "",
            "a/b",
            "x:port",
            "a.*.com",
            "user@host",
            "[::1",
        ] {
            let err = NetworkRule::parse(text).unwrap_err();
            assert!(err.contains("is not a network rule"), "{text}: {err}");
        }
    }

    fn grants() -> Grants {
        Grants {
            folders: vec![FolderGrant {
                host: "/srv".into(),
                guest: "/workspace".into(),
                write: false,
            }],
            env: BTreeMap::from([("LANG".to_string(), "C".to_string())]),
            env_names: BTreeSet::from(["LANG".to_string()]),
            network: vec![rule("https://api.example.com")],
            keyvalue: None,
        }
    }

    #[test]
    fn needs_are_checked_against_grants_with_the_key_to_add() {
        let read = Needs {
            folders: vec![FolderNeed {
                path: "/workspace".into(),
                write: false,
                reason: String::new(),
            }],
            env: vec!["LANG".into()],
            network: vec!["https://api.example.com".into()],
            keyvalue: false,
        };
        check("files", &read, &grants()).unwrap();

        let mut write = read.clone();
        write.folders[0].write = true;
        let err = check("files", &write, &grants()).unwrap_err().to_string();
        assert!(err.contains("plugins.files.grants.folders"), "{err}");
        assert!(err.contains("write = true"), "{err}");

        let other = Needs {
            folders: vec![FolderNeed {
                path: "/data".into(),
                write: true,
                reason: "keeps notes".into(),
            }],
            ..Needs::default()
        };
        let err = check("notes", &other, &grants()).unwrap_err().to_string();
        assert!(err.contains("`/data` (keeps notes)"), "{err}");
        assert!(err.contains("guest = \"/data\", write = true"), "{err}");

        let env = Needs {
            env: vec!["TOKEN".into()],
            ..Needs::default()
        };
        let err = check("x", &env, &grants()).unwrap_err().to_string();
        assert!(
            err.contains("plugins.x.grants.env") && err.contains("\"TOKEN\""),
            "{err}"
        );

        for wanted in ["http://api.example.com", "evil.com", "*.example.com"] {
            let net = Needs {
                network: vec![wanted.into()],
                ..Needs::default()
            };
            let err = check("x", &net, &grants()).unwrap_err().to_string();
            assert!(err.contains("plugins.x.grants.network"), "{wanted}: {err}");
        }
        check("x", &Needs::default(), &Grants::default()).unwrap();

        let state = Needs {
            keyvalue: true,
            ..Needs::default()
        };
        let err = check("notes", &state, &grants()).unwrap_err().to_string();
        assert!(
            err.contains("plugin state") && err.contains("plugins.notes.grants.keyvalue"),
            "{err}"
        );
        let granted = Grants {
            keyvalue: Some(KeyValueGrant {
                buckets: vec!["notes".into()],
                quota: StateQuota::default(),
            }),
            ..grants()
        };
        check("notes", &state, &granted).unwrap();
        assert!(granted.keyvalue.as_ref().unwrap().allows("notes"));
        assert!(!granted.keyvalue.as_ref().unwrap().allows("other"));
    }

    #[test]
    fn resource_uris_need_the_grant_behind_them() {
        let grants = Grants {
            folders: vec![FolderGrant {
                host: "/srv/data".into(),
                guest: "/workspace".into(),
                write: false,
            }],
            network: vec![NetworkRule::parse("https://api.example.com").unwrap()],
            ..Grants::default()
        };
        let none = Grants::default();
        for own in [
            "notes://a",
            "berth://docs/x",
            "file:///workspace/",
            "file:///workspace/a/b",
        ] {
            assert_eq!(resource_uri_problem(own, &grants, &[]), None, "{own}");
        }
        assert_eq!(
            resource_uri_problem("https://api.example.com/v1/", &grants, &[]),
            None
        );
        assert_eq!(resource_uri_problem("notes://a", &none, &[]), None);
        for taken in [
            "file:///workspace/notes.txt",
            "file:///etc/passwd",
            "file://localhost/workspace/x",
            "https://api.example.com/v1/",
        ] {
            let problem = resource_uri_problem(taken, &none, &[]).expect(taken);
            assert!(
                problem.contains("granted") || problem.contains("grants"),
                "{problem}"
            );
        }
        for escaping in [
            "file:///workspace/../etc/passwd",
            "file:///workspace/%2E%2E/x",
        ] {
            assert!(
                resource_uri_problem(escaping, &grants, &[])
                    .unwrap()
                    .contains("..")
            );
        }
        assert!(resource_uri_problem("file:///workspacex/a", &grants, &[]).is_some());
        assert!(resource_uri_problem("https://other.example.com/", &grants, &[]).is_some());
        // A template whose literal start leaves the host open.
        assert!(
            resource_uri_problem("https://", &grants, &[])
                .unwrap()
                .contains("not fixed")
        );
        // The operator's say-so.
        let allowed = ["file:///workspace/".to_string()];
        assert_eq!(
            resource_uri_problem("file:///workspace/n.txt", &none, &allowed),
            None
        );
    }
}
