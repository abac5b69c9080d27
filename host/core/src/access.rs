//! Who an HTTP caller is ([`Identity`]) and what they may use: which tools, resources
//! and prompts each role grants. Owns the `[roles.NAME]` config tables, their
//! validation, and the compiled form every request is checked against. Telling who a
//! caller is from their credentials is the HTTP layer's job.
//!
//! A role grants `plugin/name` globs per kind of thing; a caller holds a set of role
//! names (see [`Identity::roles`]) and may use whatever any of them
//! grants. Nothing is granted by default: a caller with no known role sees nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

/// Who an authenticated HTTP caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's name for static tokens, the `sub` claim for JWTs.
    pub subject: String,
    /// Roles from config (static tokens) or the roles claim (JWTs), plus the token's
    /// OAuth scopes; authorization matches role names against this whole set.
    pub roles: BTreeSet<String>,
    /// How the caller authenticated.
    pub method: AuthMethod,
}

/// How a caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// A static API token from `[[http.auth.tokens]]`.
    StaticToken,
    /// A JWT checked against `[http.auth.jwt]`.
    Jwt,
}

impl AuthMethod {
    /// Stable `snake_case` label for logs and metrics: "static_token" or "jwt".
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::StaticToken => "static_token",
            AuthMethod::Jwt => "jwt",
        }
    }
}

/// `[roles.NAME]`: what holders of a role may use. Patterns are `plugin/name` globs
/// where `*` matches any run of characters (including `/`): `"*"` (everything),
/// `"text/*"` (every tool of plugin text), `"files/read"`, `"docs/*"`. For resources
/// the name part is the URI: `"files/file:///workspace/*"`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// Tools granted, as `plugin/tool` globs (the tool's own name, not `<plugin>_<tool>`).
    #[serde(default)]
    pub tools: Vec<String>,
    /// Resources and resource templates granted, as `plugin/uri` globs.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Prompts granted, as `plugin/prompt` globs.
    #[serde(default)]
    pub prompts: Vec<String>,
    /// What the role may do in the operator console (`/console`): nothing by default.
    #[serde(default)]
    pub console: Option<ConsoleAccess>,
}

/// What a role may do in the operator console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleAccess {
    /// See plugins, tools, sessions and events.
    Read,
    /// Also enable and disable plugins.
    Admin,
}

/// The most a caller with `roles` may do in the console, under `config`'s roles.
pub fn console_access(
    roles: &std::collections::BTreeMap<String, RoleConfig>,
    caller_roles: &BTreeSet<String>,
) -> Option<ConsoleAccess> {
    caller_roles
        .iter()
        .filter_map(|role| roles.get(role)?.console)
        .max()
}

impl RoleConfig {
    /// The patterns granted for `kind`.
    fn patterns(&self, kind: Kind) -> &[String] {
        match kind {
            Kind::Tool => &self.tools,
            Kind::Resource => &self.resources,
            Kind::Prompt => &self.prompts,
        }
    }
}

/// Validation for config.rs: the first bad pattern as (key like `reader.tools[2]`,
/// problem). A pattern must contain a `/` after a non-empty plugin part, or be exactly
/// "*"; no empty parts; no whitespace.
pub fn roles_problem(roles: &BTreeMap<String, RoleConfig>) -> Option<(String, String)> {
    for (role, config) in roles {
        // Role names are compared with token roles and OAuth scopes, which never hold
        // whitespace, so such a name could never be matched.
        if role.is_empty() || role.chars().any(char::is_whitespace) {
            return Some((
                format!("{role:?}"),
                "is not a usable role name: it must be non-empty and without whitespace".into(),
            ));
        }
        for kind in Kind::ALL {
            for (i, pattern) in config.patterns(kind).iter().enumerate() {
                if let Some(problem) = pattern_problem(pattern) {
                    return Some((format!("{role}.{}[{i}]", kind.key()), problem));
                }
            }
        }
    }
    None
}

/// What is wrong with one pattern, if anything.
fn pattern_problem(pattern: &str) -> Option<String> {
    const SHAPE: &str =
        "use `plugin/name` globs like \"text/*\" or \"files/read\", or \"*\" for everything";
    if pattern.is_empty() {
        return Some(format!("is empty; {SHAPE}"));
    }
    if pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!(
            "`{pattern}` contains whitespace or control characters; {SHAPE}"
        ));
    }
    if pattern == "*" {
        return None;
    }
    let Some((plugin, name)) = pattern.split_once('/') else {
        return Some(format!(
            "`{pattern}` has no `/` between plugin and name; {SHAPE}"
        ));
    };
    if plugin.is_empty() {
        return Some(format!(
            "`{pattern}` has an empty plugin part before `/`; {SHAPE}"
        ));
    }
    if name.is_empty() {
        return Some(format!(
            "`{pattern}` has an empty name after `/`; use \"{plugin}/*\" for everything of \
             plugin {plugin}"
        ));
    }
    None
}

/// The kinds of things a role grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A tool, named by its own name inside the plugin.
    Tool,
    /// A resource (by URI) or a resource template (by its URI template).
    Resource,
    /// A prompt, named by its own name inside the plugin.
    Prompt,
}

impl Kind {
    /// Every kind, in config order.
    const ALL: [Kind; 3] = [Kind::Tool, Kind::Resource, Kind::Prompt];

    /// The kind's name in logs and messages: "tool", "resource" or "prompt".
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tool => "tool",
            Kind::Resource => "resource",
            Kind::Prompt => "prompt",
        }
    }

    /// The key of this kind's list in `[roles.NAME]`.
    fn key(self) -> &'static str {
        match self {
            Kind::Tool => "tools",
            Kind::Resource => "resources",
            Kind::Prompt => "prompts",
        }
    }
}

/// Compiled roles, built once per config and shared (Send + Sync).
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Valid patterns of each role, by role name.
    roles: BTreeMap<String, RoleConfig>,
}

impl Access {
    /// Compiles `roles`. Call after validation: patterns [`roles_problem`] would refuse
    /// are skipped, so they grant nothing.
    pub fn new(roles: &BTreeMap<String, RoleConfig>) -> Self {
        let keep = |patterns: &[String]| -> Vec<String> {
            patterns
                .iter()
                .filter(|p| pattern_problem(p).is_none())
                .cloned()
                .collect()
        };
        let roles = roles
            .iter()
            .map(|(name, config)| {
                let config = RoleConfig {
                    tools: keep(&config.tools),
                    resources: keep(&config.resources),
                    prompts: keep(&config.prompts),
                    console: config.console,
                };
                (name.clone(), config)
            })
            .collect();
        Self { roles }
    }

    /// Whether `identity` (any of its roles) may use the thing `name` of kind `kind`
    /// from `plugin` (for tools `name` is the tool's own name inside the plugin, not
    /// the qualified `<plugin>_<tool>`; for resources the URI; for templates the URI
    /// template string).
    pub fn allows(&self, identity: &Identity, kind: Kind, plugin: &str, name: &str) -> bool {
        let subject = format!("{plugin}/{name}");
        identity
            .roles
            .iter()
            .filter_map(|role| self.roles.get(role))
            .any(|role| grants(role, kind, &subject))
    }

    /// The role names that would allow it (for error messages telling the caller
    /// which role to ask for), in name order.
    pub fn roles_allowing(&self, kind: Kind, plugin: &str, name: &str) -> Vec<&str> {
        let subject = format!("{plugin}/{name}");
        self.roles
            .iter()
            .filter(|(_, role)| grants(role, kind, &subject))
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// Whether `role` grants `subject` (`plugin/name`) of kind `kind`.
fn grants(role: &RoleConfig, kind: Kind, subject: &str) -> bool {
    role.patterns(kind)
        .iter()
        .any(|pattern| glob_matches(pattern.as_bytes(), subject.as_bytes()))
}

/// Whether `subject` matches `pattern`, where `*` matches any run of bytes (including
/// `/`) and every other byte matches itself.
///
/// Hand-written rather than taken from a regex or glob crate: patterns are plain text
/// with one wildcard, and matching must stay cheap whatever a config or a resource URI
/// holds. A matcher that retries every star (naive recursion) takes exponential time on
/// `a*a*a*a*b` against a long run of `a`s; this is the classic greedy match that
/// backtracks only to the most recent star. An earlier star never needs revisiting,
/// because the later one can absorb whatever it would have, so the time is bounded by
/// pattern length × subject length, and is linear in the subject for a given pattern.
///
/// Working on bytes is exact for UTF-8 text: literal runs are whole UTF-8 sequences,
/// and UTF-8 never matches a sequence starting mid-character.
fn glob_matches(pattern: &[u8], subject: &[u8]) -> bool {
    let (mut p, mut s) = (0, 0);
    // After the last star seen: the pattern index just past it, and the subject index
    // its match currently ends at.
    let mut star: Option<(usize, usize)> = None;
    while s < subject.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                star = Some((p, s));
            }
            Some(&c) if c == subject[s] => {
                p += 1;
                s += 1;
            }
            _ => match star {
                // Let the last star swallow one more byte and retry what follows it.
                Some((after_star, end)) => {
                    p = after_star;
                    s = end + 1;
                    star = Some((after_star, s));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn identity(roles: &[&str]) -> Identity {
        Identity {
            subject: "someone".into(),
            roles: roles.iter().map(|r| r.to_string()).collect::<BTreeSet<_>>(),
            method: AuthMethod::StaticToken,
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn roles() -> BTreeMap<String, RoleConfig> {
        BTreeMap::from([
            (
                "admin".to_string(),
                RoleConfig {
                    tools: strings(&["*"]),
                    resources: strings(&["*"]),
                    prompts: strings(&["*"]),
                    console: Some(ConsoleAccess::Admin),
                },
            ),
            (
                "reader".to_string(),
                RoleConfig {
                    tools: strings(&["files/read", "text/*"]),
                    resources: strings(&["files/file:///workspace/*"]),
                    prompts: strings(&["docs/*"]),
                    console: Some(ConsoleAccess::Read),
                },
            ),
            (
                "writer".to_string(),
                RoleConfig {
                    tools: strings(&["files/write", "files/read"]),
                    ..Default::default()
                },
            ),
        ])
    }

    fn glob(pattern: &str, subject: &str) -> bool {
        glob_matches(pattern.as_bytes(), subject.as_bytes())
    }

    #[test]
    fn exact_patterns_match_only_themselves() {
        assert!(glob("files/read", "files/read"));
        assert!(!glob("files/read", "files/reader"));
        assert!(!glob("files/read", "files/rea"));
        assert!(!glob("files/read", "xfiles/read"));
        assert!(glob("", ""));
        assert!(!glob("", "a"));
    }

    #[test]
    fn stars_match_prefixes_suffixes_and_middles() {
        assert!(glob("text/*", "text/upper"));
        assert!(glob("text/*", "text/"));
        assert!(!glob("text/*", "text2/upper"));
        assert!(glob("*/read", "files/read"));
        assert!(!glob("*/read", "files/read_all"));
        assert!(glob("files/*_all", "files/read_all"));
        assert!(glob("files/re*d", "files/read"));
        assert!(glob("files/re*d", "files/red"));
        assert!(!glob("files/re*d", "files/reads"));
    }

    #[test]
    fn several_stars_backtrack_to_the_last_one() {
        assert!(glob("*a*b*", "xxaxxbxx"));
        assert!(glob("a*b*c", "abbbcbc"));
        assert!(!glob("a*b*c", "abbbcb"));
        assert!(glob("**", "anything"));
        assert!(glob("*aab", "aaaab"));
        assert!(!glob("a*a*a*a*a*a*a*b", &"a".repeat(200)));
    }

    #[test]
    fn a_lone_star_matches_everything() {
        assert!(glob("*", ""));
        assert!(glob("*", "files/file:///etc/passwd"));
    }

    #[test]
    fn stars_cross_slashes_in_uris() {
        let pattern = "files/file:///workspace/*";
        assert!(glob(pattern, "files/file:///workspace/a/b/c.txt"));
        assert!(!glob(pattern, "files/file:///etc/passwd"));
        assert!(!glob(pattern, "other/file:///workspace/a"));
        assert!(glob("docs/*/index.md", "docs/a/b/index.md"));
    }

    #[test]
    fn multibyte_text_matches_as_characters() {
        assert!(glob("i18n/h*llo", "i18n/hé llo"));
        assert!(glob("i18n/*é", "i18n/café"));
        assert!(!glob("i18n/*é", "i18n/cafe"));
    }

    #[test]
    fn any_role_of_the_identity_may_grant() {
        let access = Access::new(&roles());
        let reader = identity(&["reader"]);
        assert!(access.allows(&reader, Kind::Tool, "files", "read"));
        assert!(access.allows(&reader, Kind::Tool, "text", "upper"));
        assert!(!access.allows(&reader, Kind::Tool, "files", "write"));
        let both = identity(&["reader", "writer"]);
        assert!(access.allows(&both, Kind::Tool, "files", "write"));
        assert!(access.allows(&identity(&["admin"]), Kind::Prompt, "x", "y"));
    }

    #[test]
    fn kinds_are_granted_separately() {
        let access = Access::new(&roles());
        let reader = identity(&["reader"]);
        assert!(access.allows(
            &reader,
            Kind::Resource,
            "files",
            "file:///workspace/notes.md"
        ));
        assert!(!access.allows(&reader, Kind::Resource, "files", "file:///etc/passwd"));
        assert!(access.allows(&reader, Kind::Resource, "files", "file:///workspace/{path}"));
        assert!(access.allows(&reader, Kind::Prompt, "docs", "summarize"));
        // A tool grant is not a prompt grant, even for the same name.
        assert!(!access.allows(&reader, Kind::Prompt, "files", "read"));
        assert!(!access.allows(&identity(&["writer"]), Kind::Resource, "files", "x"));
    }

    #[test]
    fn unknown_or_no_roles_get_nothing() {
        let access = Access::new(&roles());
        for roles in [&[][..], &["nobody"][..], &["READER"][..]] {
            let who = identity(roles);
            assert!(!access.allows(&who, Kind::Tool, "files", "read"));
            assert!(!access.allows(&who, Kind::Resource, "files", "file:///workspace/a"));
            assert!(!access.allows(&who, Kind::Prompt, "docs", "a"));
        }
        let empty = Access::new(&BTreeMap::new());
        assert!(!empty.allows(&identity(&["admin"]), Kind::Tool, "files", "read"));
    }

    #[test]
    fn roles_allowing_names_every_granting_role_in_order() {
        let access = Access::new(&roles());
        assert_eq!(
            access.roles_allowing(Kind::Tool, "files", "read"),
            ["admin", "reader", "writer"]
        );
        assert_eq!(
            access.roles_allowing(Kind::Tool, "files", "write"),
            ["admin", "writer"]
        );
        assert_eq!(
            access.roles_allowing(Kind::Resource, "files", "file:///etc/passwd"),
            ["admin"]
        );
        assert!(
            Access::new(&BTreeMap::new())
                .roles_allowing(Kind::Tool, "a", "b")
                .is_empty()
        );
    }

    #[test]
    fn bad_patterns_are_skipped_when_compiling() {
        let roles = BTreeMap::from([(
            "odd".to_string(),
            RoleConfig {
                tools: strings(&["nofolder", "/read", "files/ read", "files/read"]),
                ..Default::default()
            },
        )]);
        let access = Access::new(&roles);
        let odd = identity(&["odd"]);
        assert!(access.allows(&odd, Kind::Tool, "files", "read"));
        assert!(!access.allows(&odd, Kind::Tool, "nofolder", ""));
        assert!(!access.allows(&odd, Kind::Tool, "", "read"));
    }

    #[test]
    fn kind_names() {
        assert_eq!(Kind::Tool.as_str(), "tool");
        assert_eq!(Kind::Resource.as_str(), "resource");
        assert_eq!(Kind::Prompt.as_str(), "prompt");
    }

    #[test]
    fn access_is_shareable() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Access>();
    }

    #[test]
    fn roles_parse_from_toml() {
        let roles: BTreeMap<String, RoleConfig> = toml::from_str(
            "[reader]\ntools = [\"text/*\"]\nresources = [\"files/file:///w/*\"]\n[empty]\n",
        )
        .unwrap();
        assert_eq!(roles["reader"].tools, ["text/*"]);
        assert_eq!(roles["empty"], RoleConfig::default());
        assert!(toml::from_str::<BTreeMap<String, RoleConfig>>("[r]\ntool = []\n").is_err());
    }

    fn problem_of(role: &str, config: RoleConfig) -> Option<(String, String)> {
        roles_problem(&BTreeMap::from([(role.to_string(), config)]))
    }

    fn tools(patterns: &[&str]) -> RoleConfig {
        RoleConfig {
            tools: strings(patterns),
            ..Default::default()
        }
    }

    #[test]
    fn good_patterns_have_no_problem() {
        assert_eq!(roles_problem(&roles()), None);
        assert_eq!(roles_problem(&BTreeMap::new()), None);
        assert_eq!(problem_of("r", tools(&["*", "*/read", "a/*b*"])), None);
    }

    #[test]
    fn each_pattern_rule_is_reported_with_its_key() {
        let cases: [(&str, &str); 6] = [
            ("", "is empty"),
            ("files/ read", "whitespace"),
            ("files/read\n", "whitespace"),
            ("files", "no `/`"),
            ("/read", "empty plugin part"),
            ("files/", "empty name"),
        ];
        for (pattern, expected) in cases {
            let (key, problem) = problem_of("reader", tools(&["ok/fine", pattern]))
                .unwrap_or_else(|| panic!("{pattern:?} passed"));
            assert_eq!(key, "reader.tools[1]", "{pattern:?}");
            assert!(problem.contains(expected), "{pattern:?}: {problem}");
        }
        let (_, problem) = problem_of("r", tools(&["files/"])).unwrap();
        assert!(problem.contains("\"files/*\""), "{problem}");
    }

    #[test]
    fn problems_name_the_kind_list() {
        let resources = RoleConfig {
            resources: strings(&["files/file:///*", "nope"]),
            ..Default::default()
        };
        assert_eq!(problem_of("r", resources).unwrap().0, "r.resources[1]");
        let prompts = RoleConfig {
            prompts: strings(&["docs/"]),
            ..Default::default()
        };
        assert_eq!(problem_of("r", prompts).unwrap().0, "r.prompts[0]");
    }

    #[test]
    fn role_names_must_be_matchable() {
        assert!(problem_of("", RoleConfig::default()).is_some());
        let (key, problem) = problem_of("two words", RoleConfig::default()).unwrap();
        assert_eq!(key, "\"two words\"");
        assert!(problem.contains("whitespace"), "{problem}");
    }

    #[test]
    fn the_console_access_is_the_most_any_role_gives() {
        let roles = roles();
        let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            console_access(&roles, &set(&["reader"])),
            Some(ConsoleAccess::Read)
        );
        assert_eq!(
            console_access(&roles, &set(&["reader", "admin"])),
            Some(ConsoleAccess::Admin)
        );
        assert_eq!(console_access(&roles, &set(&["nobody"])), None);
    }
}
