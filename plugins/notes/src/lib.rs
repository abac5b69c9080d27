//! `notes`: notes an AI client keeps between sessions. Tools add, search and delete them;
//! `notes://index` lists them and `notes://note/{id}` serves each one, so clients can read
//! and subscribe. Everything lives in the plugin's `notes` state bucket (`wasi:keyvalue`),
//! which the operator grants: `[plugins.notes.grants] keyvalue = { buckets = ["notes"] }`.
//!
//! Layout of the bucket: `note:<id>` holds a [`Note`] as JSON (ids zero-padded so keys sort
//! in creation order) and `next-id` is the counter ids come from, incremented atomically
//! so two calls at once never get the same id.

use berth_plugin_sdk::kv;
use berth_plugin_sdk::prelude::*;
use berth_plugin_sdk::serde_json;

/// The bucket every note is kept in.
const BUCKET: &str = "notes";

/// Key prefix of a note.
const NOTE: &str = "note:";

/// Longest note text accepted, in bytes.
const MAX_TEXT: usize = 64 * 1024;

/// One note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Note {
    /// Its id, given when it was added.
    pub id: u64,
    /// A short title.
    pub title: String,
    /// The note itself.
    pub text: String,
    /// Labels to find it by.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Note {
    fn uri(&self) -> String {
        format!("notes://note/{}", self.id)
    }
}

fn key(id: u64) -> String {
    format!("{NOTE}{id:010}")
}

/// Every note, oldest first.
fn all(bucket: &kv::Bucket) -> Result<Vec<Note>, kv::KvError> {
    let keys: Vec<String> = bucket
        .keys()?
        .into_iter()
        .filter(|k| k.starts_with(NOTE))
        .collect();
    Ok(bucket
        .get_many::<Note>(&keys)?
        .into_iter()
        .flatten()
        .collect())
}

/// Adds a note and returns it with its new id. `tags` are optional labels to search by.
#[tool]
pub fn add(title: String, text: String, tags: Option<Vec<String>>) -> Result<Note, ToolError> {
    if title.trim().is_empty() {
        return Err(ToolError::invalid_arguments("`title` must not be empty"));
    }
    if text.len() > MAX_TEXT {
        return Err(ToolError::invalid_arguments(format!(
            "`text` is {} bytes; a note holds at most {MAX_TEXT}",
            text.len()
        )));
    }
    let bucket = kv::open(BUCKET)?;
    let id = bucket.increment("next-id", 1)?;
    let note = Note {
        id,
        title,
        text,
        tags: tags.unwrap_or_default(),
    };
    bucket.set(&key(id), &note)?;
    resources::changed("notes://index");
    Ok(note)
}

/// Finds notes whose title, text or tags contain every word of `query` (case-insensitive);
/// an empty query lists every note. Oldest first.
#[tool(read_only)]
pub fn search(query: String) -> Result<Vec<Note>, ToolError> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    let notes = all(&kv::open(BUCKET)?)?;
    Ok(notes
        .into_iter()
        .filter(|note| {
            let haystack =
                format!("{} {} {}", note.title, note.text, note.tags.join(" ")).to_lowercase();
            words.iter().all(|w| haystack.contains(w))
        })
        .collect())
}

/// Deletes the note with this id.
#[tool(destructive, idempotent)]
pub fn delete(id: u64) -> Result<String, ToolError> {
    let bucket = kv::open(BUCKET)?;
    if !bucket.exists(&key(id))? {
        return Err(ToolError::result(format!("there is no note {id}")));
    }
    bucket.delete(&key(id))?;
    resources::changed("notes://index");
    resources::changed(&format!("notes://note/{id}"));
    Ok(format!("deleted note {id}"))
}

/// Every note's id, title and URI, as JSON.
#[resource(
    uri = "notes://index",
    title = "All notes",
    mime_type = "application/json"
)]
pub fn index() -> Result<String, ResourceError> {
    let notes =
        all(&kv::open(BUCKET).map_err(ResourceError::failed)?).map_err(ResourceError::failed)?;
    let entries: Vec<_> = notes
        .iter()
        .map(|n| serde_json::json!({ "id": n.id, "title": n.title, "uri": n.uri() }))
        .collect();
    serde_json::to_string_pretty(&entries).map_err(ResourceError::failed)
}

/// One note, as Markdown.
#[resource_template(
    uri_template = "notes://note/{id}",
    name = "note",
    title = "A note",
    mime_type = "text/markdown"
)]
pub fn note(id: u64) -> Result<String, ResourceError> {
    let bucket = kv::open(BUCKET).map_err(ResourceError::failed)?;
    let note: Note = bucket
        .get(&key(id))
        .map_err(ResourceError::failed)?
        .ok_or_else(|| ResourceError::not_found(format!("there is no note {id}")))?;
    let tags = if note.tags.is_empty() {
        String::new()
    } else {
        format!("\n\nTags: {}", note.tags.join(", "))
    };
    Ok(format!("# {}\n\n{}{tags}\n", note.title, note.text))
}

berth_plugin_sdk::export!(
    name: "notes",
    tools: [add, search, delete],
    resources: [index],
    templates: [note],
);

#[cfg(test)]
mod tests {
    use super::*;
    use berth_plugin_sdk::serde_json::json;

    #[test]
    fn manifest_is_valid() {
        berth_plugin().validate().unwrap();
    }

    #[test]
    fn notes_are_added_found_read_and_deleted() {
        kv::clear_for_test();
        let first = add(
            "Groceries".into(),
            "milk, eggs".into(),
            Some(vec!["home".into()]),
        )
        .unwrap();
        let second = add("Standup".into(), "ship the kv work".into(), None).unwrap();
        assert_eq!((first.id, second.id), (1, 2));
        assert_eq!(search("EGGS".into()).unwrap(), std::slice::from_ref(&first));
        assert_eq!(
            search("home milk".into()).unwrap(),
            std::slice::from_ref(&first)
        );
        assert_eq!(search(String::new()).unwrap().len(), 2);
        assert!(note(1).unwrap().starts_with("# Groceries\n\nmilk, eggs"));
        let index: serde_json::Value = serde_json::from_str(&index().unwrap()).unwrap();
        assert_eq!(index[1]["uri"], "notes://note/2");
        delete(1).unwrap();
        assert_eq!(search(String::new()).unwrap(), [second]);
        assert!(delete(1).is_err());
        assert!(note(1).is_err());
    }

    #[test]
    fn tools_take_json_arguments() {
        kv::clear_for_test();
        let out = berth_plugin()
            .call("add", json!({"title": "t", "text": "x"}))
            .unwrap();
        let structured = out.structured_json().unwrap();
        assert_eq!(structured["id"], 1);
        assert_eq!(structured["tags"], json!([]));
        assert!(
            berth_plugin()
                .call("add", json!({"title": " ", "text": "x"}))
                .is_err()
        );
    }
}
