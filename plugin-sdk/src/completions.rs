//! Completion: suggestions while a user types a prompt argument or a resource-template
//! parameter. Mark a function [`#[completion(…)]`](crate::completion) and list it in
//! `export!(completions: [..])`.
//!
//! ```
//! use berth_plugin_sdk::prelude::*;
//!
//! /// Greets someone in a language.
//! #[prompt]
//! fn greet(name: String, language: String) -> String {
//!     format!("Greet {name} in {language}.")
//! }
//!
//! /// Suggests languages.
//! #[completion(prompt = "greet", argument = "language")]
//! fn languages(_argument: &str, value: &str, _chosen: &Chosen) -> Completions {
//!     Completions::matching(["English", "French", "German"], value)
//! }
//!
//! berth_plugin_sdk::export!(name: "greeter", prompts: [greet], completions: [languages]);
//!
//! # fn main() {
//! use berth_plugin_sdk::completions::Target;
//! let found = berth_plugin().complete(Target::prompt("greet"), "language", "Fr", &[]).unwrap();
//! assert_eq!(found.values, ["French"]);
//! // An argument no function completes has no suggestions.
//! let none = berth_plugin().complete(Target::prompt("greet"), "name", "A", &[]).unwrap();
//! assert!(none.values.is_empty());
//! # }
//! ```
//!
//! A request goes to the first listed function whose target (and `argument`, if it names
//! one) matches; when none does, the answer is "no values". An error is for a failure,
//! and the client sees its message.

use std::fmt;

use berth_uri_template::UriTemplate;

use crate::__private::bindings::exports::berth::plugin::completion as wit;
use crate::plugin::Plugin;

/// The most values the host sends; the SDK keeps the first this many.
pub const MAX_VALUES: usize = 100;

/// What is being completed: an argument of a prompt, or a parameter of a resource
/// template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// An argument of the plugin's prompt with this (plugin-local) name.
    Prompt(String),
    /// A parameter of the plugin's resource template with this URI template.
    ResourceTemplate(String),
}

impl Target {
    /// The prompt named `name`.
    pub fn prompt(name: impl Into<String>) -> Self {
        Target::Prompt(name.into())
    }

    /// The resource template `uri_template`.
    pub fn template(uri_template: impl Into<String>) -> Self {
        Target::ResourceTemplate(uri_template.into())
    }
}

impl From<wit::Target> for Target {
    fn from(target: wit::Target) -> Self {
        match target {
            wit::Target::Prompt(name) => Target::Prompt(name),
            wit::Target::ResourceTemplate(template) => Target::ResourceTemplate(template),
        }
    }
}

/// The values the user already chose for the other arguments of the same prompt or
/// template, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chosen {
    values: Vec<(String, String)>,
}

impl Chosen {
    /// Chosen values from (name, value) pairs.
    pub fn new<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Chosen {
            values: pairs
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        }
    }

    /// The value chosen for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every (name, value) pair, in the order the client sent them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// How many values were chosen.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// Suggested values, best first, with the total count if known and whether there are
/// more than the values hold.
///
/// ```
/// use berth_plugin_sdk::Completions;
///
/// let found = Completions::matching(["paris", "park", "london"], "par");
/// assert_eq!(found.values, ["paris", "park"]);
/// let paged = Completions::new(["a", "b"]).total(10).has_more(true);
/// assert_eq!(paged.total, Some(10));
/// ```
///
/// At most [`MAX_VALUES`] values are sent: with more, the first 100 are kept, `has_more`
/// is set and `total` defaults to the full count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completions {
    /// Candidate values, best first.
    pub values: Vec<String>,
    /// How many candidates there are in all, if known.
    pub total: Option<u32>,
    /// Whether there are more candidates than `values` holds.
    pub has_more: bool,
}

impl Completions {
    /// The given values, in order.
    pub fn new<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Self {
        Completions {
            values: values.into_iter().map(Into::into).collect(),
            total: None,
            has_more: false,
        }
    }

    /// The `candidates` that start with `prefix` (what the user typed), in order.
    pub fn matching<S: AsRef<str>>(candidates: impl IntoIterator<Item = S>, prefix: &str) -> Self {
        Completions::new(
            candidates
                .into_iter()
                .filter(|candidate| candidate.as_ref().starts_with(prefix))
                .map(|candidate| candidate.as_ref().to_string()),
        )
    }

    /// No values (what an argument nothing completes gets).
    pub fn none() -> Self {
        Self::default()
    }

    /// Sets how many candidates there are in all.
    pub fn total(mut self, total: u32) -> Self {
        self.total = Some(total);
        self
    }

    /// Sets whether there are more candidates than the values.
    pub fn has_more(mut self, has_more: bool) -> Self {
        self.has_more = has_more;
        self
    }

    /// The contract's `completions`, capped at [`MAX_VALUES`].
    fn into_wit(mut self) -> wit::Completions {
        if self.values.len() > MAX_VALUES {
            let count = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
            self.total.get_or_insert(count);
            self.values.truncate(MAX_VALUES);
            self.has_more = true;
        }
        wit::Completions {
            values: self.values,
            total: self.total,
            has_more: self.has_more,
        }
    }
}

/// Return types of `#[completion]` functions.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a #[completion]",
    label = "not a supported completion return type",
    note = "return `Vec<String>`, `Vec<&str>`, `Completions`, or a `Result<_, E>` of one of those where `E: Display`"
)]
pub trait IntoCompletions {
    /// The suggestions, or the failure the client sees.
    fn into_completions(self) -> Result<Completions, String>;
}

impl IntoCompletions for Completions {
    fn into_completions(self) -> Result<Completions, String> {
        Ok(self)
    }
}

impl IntoCompletions for Vec<String> {
    fn into_completions(self) -> Result<Completions, String> {
        Ok(Completions::new(self))
    }
}

impl IntoCompletions for Vec<&str> {
    fn into_completions(self) -> Result<Completions, String> {
        Ok(Completions::new(self))
    }
}

impl<T: IntoCompletions, E: fmt::Display> IntoCompletions for Result<T, E> {
    fn into_completions(self) -> Result<Completions, String> {
        self.map_err(|error| error.to_string())?.into_completions()
    }
}

/// The contract outcome of a completion function's return value.
#[doc(hidden)]
pub fn completion_outcome(value: impl IntoCompletions) -> Result<wit::Completions, String> {
    value.into_completions().map(Completions::into_wit)
}

/// What a `#[completion]` completes, as its attribute says.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum TargetDef {
    /// `prompt = "…"`.
    Prompt(&'static str),
    /// `template = "…"`.
    Template(&'static str),
}

/// The signature of a completion's generated handler.
type CompletionHandler = fn(&str, &str, &Chosen) -> Result<wit::Completions, String>;

/// What `#[completion]` generates for one function.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct CompletionDef {
    /// The function's name (for problems).
    pub function: &'static str,
    /// What it completes.
    pub target: TargetDef,
    /// The one argument it completes, if the attribute names one.
    pub argument: Option<&'static str>,
    /// Calls the function and converts its result.
    pub complete: CompletionHandler,
}

impl CompletionDef {
    /// Whether it answers for `argument` of `target`.
    fn answers(&self, target: &Target, argument: &str) -> bool {
        let target_matches = match (self.target, target) {
            (TargetDef::Prompt(mine), Target::Prompt(asked)) => mine == asked,
            (TargetDef::Template(mine), Target::ResourceTemplate(asked)) => mine == asked,
            _ => false,
        };
        target_matches && self.argument.is_none_or(|mine| mine == argument)
    }
}

impl Plugin {
    /// Suggests values for `argument` of `target`, given what the user typed so far
    /// (`value`) and the values already chosen for other arguments, as the host does:
    /// the first listed completion function that answers for them is called; with none,
    /// the answer is no values.
    pub fn complete(
        &self,
        target: Target,
        argument: &str,
        value: &str,
        chosen: &[(&str, &str)],
    ) -> Result<wit::Completions, String> {
        self.complete_with(
            &target,
            argument,
            value,
            &Chosen::new(chosen.iter().copied()),
        )
    }

    /// [`Plugin::complete`] with the chosen values already collected.
    fn complete_with(
        &self,
        target: &Target,
        argument: &str,
        value: &str,
        chosen: &Chosen,
    ) -> Result<wit::Completions, String> {
        match self
            .completions
            .iter()
            .find(|completion| completion.answers(target, argument))
        {
            Some(completion) => (completion.complete)(argument, value, chosen),
            None => Ok(Completions::none().into_wit()),
        }
    }

    /// Adds the problems of the completion functions to `problems`: each must complete a
    /// prompt or template of this plugin, and an argument it names must exist there.
    pub(crate) fn completion_problems(&self, problems: &mut Vec<String>) {
        for completion in self.completions {
            let function = completion.function;
            match completion.target {
                TargetDef::Prompt(name) => {
                    let Some(prompt) = self.prompts.iter().find(|p| p.name == name) else {
                        problems.push(format!(
                            "completion `{function}`: the plugin has no prompt `{name}` \
                             (list it in `export!(prompts: [..])`)"
                        ));
                        continue;
                    };
                    if let (Some(argument), Ok(arguments)) =
                        (completion.argument, (prompt.arguments)())
                        && !arguments.iter().any(|a| a.name == argument)
                    {
                        problems.push(format!(
                            "completion `{function}`: prompt `{name}` has no argument `{argument}`"
                        ));
                    }
                }
                TargetDef::Template(uri_template) => {
                    if !self
                        .templates
                        .iter()
                        .any(|t| t.uri_template == uri_template)
                    {
                        problems.push(format!(
                            "completion `{function}`: the plugin has no resource template \
                             `{uri_template}` (list it in `export!(templates: [..])`)"
                        ));
                        continue;
                    }
                    if let (Some(argument), Ok(parsed)) =
                        (completion.argument, UriTemplate::parse(uri_template))
                        && !parsed.variables().any(|variable| variable == argument)
                    {
                        problems.push(format!(
                            "completion `{function}`: template `{uri_template}` has no \
                             variable `{argument}`"
                        ));
                    }
                }
            }
        }
    }
}

/// The `complete` export.
#[doc(hidden)]
pub fn guest_complete(
    plugin: &Plugin,
    target: wit::Target,
    argument: String,
    value: String,
    chosen: Vec<(String, String)>,
) -> Result<wit::Completions, String> {
    plugin.complete_with(
        &Target::from(target),
        &argument,
        &value,
        &Chosen { values: chosen },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    /// A prompt with two arguments.
    #[prompt]
    fn trip(city: String, hotel: Option<String>) -> String {
        format!("{city} {hotel:?}")
    }

    /// Items by id.
    #[resource_template(uri_template = "test://items/{id}")]
    fn item(id: String) -> String {
        id
    }

    /// Cities only.
    #[completion(prompt = "trip", argument = "city")]
    fn cities(argument: &str, value: &str, _chosen: &Chosen) -> Vec<String> {
        assert_eq!(argument, "city");
        Completions::matching(["paris", "park", "porto"], value).values
    }

    /// Every other argument of `trip`: hotels in the chosen city.
    #[completion(prompt = "trip")]
    fn hotels(argument: &str, value: &str, chosen: &Chosen) -> Result<Completions, String> {
        match (argument, chosen.get("city")) {
            ("hotel", Some(city)) => Ok(Completions::new([format!("{city}-{value}")]).total(7)),
            ("hotel", None) => Err("choose a city first".into()),
            _ => Ok(Completions::none()),
        }
    }

    /// Item ids: more than the host sends.
    #[completion(template = "test://items/{id}")]
    fn ids(_argument: &str, _value: &str, _chosen: &Chosen) -> Vec<&'static str> {
        vec!["1"; 150]
    }

    /// Completes something the plugin does not have.
    #[completion(prompt = "nowhere")]
    fn stray(_argument: &str, _value: &str, _chosen: &Chosen) -> Completions {
        Completions::none()
    }

    /// Names an argument the prompt does not have.
    #[completion(prompt = "trip", argument = "nights")]
    fn nights(_argument: &str, _value: &str, _chosen: &Chosen) -> Completions {
        Completions::none()
    }

    mod good {
        use super::*;
        crate::export!(
            name: "completion-test",
            prompts: [trip],
            templates: [item],
            completions: [cities, hotels, ids],
        );
        pub(super) fn plugin() -> &'static Plugin {
            berth_plugin()
        }
    }

    mod bad {
        use super::*;
        crate::export!(name: "completion-bad", prompts: [trip], completions: [stray, nights, ids]);
        pub(super) fn plugin() -> &'static Plugin {
            berth_plugin()
        }
    }

    mod none {
        use super::*;
        crate::export!(name: "no-completions");
        pub(super) fn plugin() -> &'static Plugin {
            berth_plugin()
        }
    }

    #[test]
    fn requests_go_to_the_first_function_that_answers() {
        let plugin = good::plugin();
        plugin.validate().unwrap();
        let city = plugin
            .complete(Target::prompt("trip"), "city", "par", &[])
            .unwrap();
        assert_eq!(city.values, ["paris", "park"]);
        assert_eq!((city.total, city.has_more), (None, false));

        let hotel = plugin
            .complete(
                Target::prompt("trip"),
                "hotel",
                "ritz",
                &[("city", "paris")],
            )
            .unwrap();
        assert_eq!(hotel.values, ["paris-ritz"]);
        assert_eq!(hotel.total, Some(7));
        assert_eq!(
            plugin.complete(Target::prompt("trip"), "hotel", "", &[]),
            Err("choose a city first".to_string())
        );

        let ids = guest_complete(
            plugin,
            wit::Target::ResourceTemplate("test://items/{id}".into()),
            "id".into(),
            String::new(),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(ids.values.len(), MAX_VALUES);
        assert_eq!((ids.total, ids.has_more), (Some(150), true));
    }

    #[test]
    fn unmatched_targets_get_no_values() {
        for plugin in [good::plugin(), none::plugin()] {
            for target in [
                Target::prompt("other"),
                Target::template("test://items/{id}x"),
            ] {
                let found = plugin.complete(target, "city", "p", &[]).unwrap();
                assert!(found.values.is_empty() && !found.has_more && found.total.is_none());
            }
        }
        // A template target never answers for a prompt of the same name, and vice versa.
        let crossed = good::plugin()
            .complete(Target::template("trip"), "city", "p", &[])
            .unwrap();
        assert!(crossed.values.is_empty());
    }

    #[test]
    fn validation_names_missing_targets_and_arguments() {
        let problems = bad::plugin().validate().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].contains("completion `stray`: the plugin has no prompt `nowhere`"));
        assert!(problems[1].contains("prompt `trip` has no argument `nights`"));
        assert!(problems[2].contains("no resource template `test://items/{id}`"));
    }

    #[test]
    fn builders_and_chosen_values() {
        let chosen = Chosen::new([("a", "1"), ("b", "2")]);
        assert_eq!(chosen.get("b"), Some("2"));
        assert_eq!(chosen.get("c"), None);
        assert_eq!(chosen.len(), 2);
        assert!(!chosen.is_empty() && Chosen::default().is_empty());
        assert_eq!(chosen.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
        let completions = Completions::new(["x"]).total(3).has_more(true);
        assert_eq!(
            completions,
            Completions {
                values: vec!["x".into()],
                total: Some(3),
                has_more: true,
            }
        );
        assert_eq!(
            completion_outcome(Err::<Vec<String>, _>("boom")),
            Err("boom".to_string())
        );
        assert_eq!(
            Target::from(wit::Target::Prompt("p".into())),
            Target::prompt("p")
        );
    }
}
