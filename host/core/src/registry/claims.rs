//! What a plugin claims among everything Berth serves, and where two plugins' claims
//! meet: its plugin name, its tool and prompt names as clients call them, its static
//! resource URIs, and the URIs its templates match (a static resource is read before any
//! template, so a static URI under another plugin's template takes that URI from it).
//!
//! [`settle_newcomers`] decides between plugins that arrive together (at start-up, or
//! dropped in at once), where "first served keeps it" cannot: file order would decide,
//! and a file named to sort first could take a name from the plugin the operator meant
//! to serve (the outside review's `text_change` plugin took `text_change_case` from
//! `text`). So both are refused, unless the config prefers one (`plugins.NAME.preferred`).
//! Against plugins already served, [`super::Registry::build`] keeps the served one.

use std::collections::HashSet;
use std::path::PathBuf;

use berth_uri_template::UriTemplate;

use super::{PluginEntry, RegistryError};
use berth_model::untrusted::shown;

/// Everything one plugin claims, gathered once so comparing two is cheap.
struct Claims {
    name: String,
    tools: HashSet<String>,
    prompts: HashSet<String>,
    uris: Vec<String>,
    templates: Vec<(String, UriTemplate)>,
}

impl Claims {
    fn of(entry: &PluginEntry) -> Claims {
        let manifest = entry.plugin.manifest();
        Claims {
            name: manifest.name.clone(),
            tools: manifest
                .tools
                .iter()
                .map(|t| entry.qualified(&t.name))
                .collect(),
            prompts: manifest
                .prompts
                .iter()
                .map(|p| entry.qualified(&p.name))
                .collect(),
            uris: manifest.resources.iter().map(|r| r.uri.clone()).collect(),
            // Templates were checked to parse when the manifest was validated.
            templates: manifest
                .resource_templates
                .iter()
                .filter_map(|t| {
                    let parsed = UriTemplate::parse(&t.uri_template).ok()?;
                    Some((t.uri_template.clone(), parsed))
                })
                .collect(),
        }
    }

    /// The first thing both claim, for an operator to read; `None` when nothing.
    fn clash(&self, other: &Claims) -> Option<String> {
        if self.name == other.name {
            return Some(format!("the plugin name `{}`", self.name));
        }
        if let Some(tool) = first_shared(&self.tools, &other.tools) {
            return Some(format!("the tool name `{tool}`"));
        }
        if let Some(prompt) = first_shared(&self.prompts, &other.prompts) {
            return Some(format!("the prompt name `{prompt}`"));
        }
        if let Some(uri) = self.uris.iter().find(|uri| other.uris.contains(uri)) {
            return Some(format!("the resource URI `{}`", shown(uri)));
        }
        for (first, second) in [(self, other), (other, self)] {
            if let Some((uri, template)) = first.under(second) {
                return Some(format!(
                    "the resource URI `{}`, which the template `{}` of plugin `{}` also matches",
                    shown(uri),
                    shown(template),
                    second.name
                ));
            }
        }
        None
    }

    /// A static URI of this plugin that a template of `other` matches, with the template.
    fn under<'a>(&'a self, other: &'a Claims) -> Option<(&'a str, &'a str)> {
        self.uris.iter().find_map(|uri| {
            other
                .templates
                .iter()
                .find(|(_, template)| template.matches(uri).is_some())
                .map(|(written, _)| (uri.as_str(), written.as_str()))
        })
    }
}

/// The smallest name in both sets, so a message names the same clash every time.
fn first_shared<'a>(a: &'a HashSet<String>, b: &HashSet<String>) -> Option<&'a str> {
    a.iter()
        .filter(|name| b.contains(*name))
        .min()
        .map(String::as_str)
}

/// A static resource URI of `entry` that a template of a plugin in `served` matches, with
/// that plugin's name and the template: serving `entry` would take the URI from it.
pub(super) fn shadowed<'a>(
    entry: &'a PluginEntry,
    served: &'a [super::TemplateEntry],
) -> Option<(&'a str, &'a str, &'a str)> {
    entry
        .plugin
        .manifest()
        .resources
        .iter()
        .find_map(|resource| {
            served
                .iter()
                .filter(|t| t.plugin.name() != entry.name())
                .find(|t| t.template.matches(&resource.uri).is_some())
                .map(|t| {
                    (
                        resource.uri.as_str(),
                        t.spec.uri_template.as_str(),
                        t.plugin.name(),
                    )
                })
        })
}

/// Splits plugins that arrive together into those that may join the registry and those
/// refused because another of them claims the same thing: for each clash, the one
/// `preferred` says yes to keeps it if the other is not preferred too; otherwise both are
/// refused. Keeps the order of the plugins that stay.
pub fn settle_newcomers(
    newcomers: Vec<PluginEntry>,
    preferred: impl Fn(&str) -> bool,
) -> (Vec<PluginEntry>, Vec<(PathBuf, RegistryError)>) {
    let claims: Vec<Claims> = newcomers.iter().map(Claims::of).collect();
    let mut refused: Vec<Option<RegistryError>> = vec![None; newcomers.len()];
    for i in 0..newcomers.len() {
        for j in i + 1..newcomers.len() {
            let Some(what) = claims[i].clash(&claims[j]) else {
                continue;
            };
            let (a, b) = (&newcomers[i], &newcomers[j]);
            let (prefer_a, prefer_b) = (preferred(a.name()), preferred(b.name()));
            let contested =
                |loser: &PluginEntry, winner: &PluginEntry, kept: bool| RegistryError::Contested {
                    plugin: loser.name().to_string(),
                    file: loser.path.display().to_string(),
                    other: winner.name().to_string(),
                    other_file: winner.path.display().to_string(),
                    what: what.clone(),
                    kept,
                };
            match (prefer_a, prefer_b) {
                (true, false) => {
                    refused[j].get_or_insert_with(|| contested(b, a, true));
                }
                (false, true) => {
                    refused[i].get_or_insert_with(|| contested(a, b, true));
                }
                _ => {
                    refused[i].get_or_insert_with(|| contested(a, b, false));
                    refused[j].get_or_insert_with(|| contested(b, a, false));
                }
            }
        }
    }
    let mut kept = Vec::new();
    let mut errors = Vec::new();
    for (entry, refusal) in newcomers.into_iter().zip(refused) {
        match refusal {
            Some(error) => errors.push((entry.path.clone(), error)),
            None => kept.push(entry),
        }
    }
    (kept, errors)
}
