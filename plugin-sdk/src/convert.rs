//! How signatures become JSON Schemas and how return values become contract results.
//!
//! The macros know a tool's return type only as tokens, and Rust has no stable
//! specialisation, so the choice between "text", "structured JSON with an output schema"
//! and "JSON without one" is made by *autoref specialisation* on the concrete type at the
//! expansion site (see [`kinds`]). Everything here is called from macro expansions; none of
//! it is public API.

use std::borrow::Cow;

use schemars::{JsonSchema, generate::SchemaSettings};
use serde::Serialize;
use serde_json::Value;

use crate::wit::{CallError, ContentBlock, ReadError, ToolResult};
use crate::{ResourceContents, ResourceError, ToolError};

/// The root JSON Schema (draft 2020-12) of `T`, for a tool's arguments.
///
/// The top-level `title` is dropped: for plain parameters it is the name of a hidden
/// struct, and for `#[args]` structs the tool's own title says it better.
///
/// An object schema always gets a `properties` member, even an empty one: some clients
/// require it, and a tool without parameters would otherwise have none.
pub fn input_schema<T: JsonSchema>() -> Value {
    let mut schema = root_schema::<T>();
    if is_object_schema(&schema)
        && let Some(object) = schema.as_object_mut()
    {
        object
            .entry("properties")
            .or_insert_with(|| Value::Object(Default::default()));
    }
    schema
}

fn root_schema<T: JsonSchema>() -> Value {
    let mut schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("title");
    }
    schema
}

/// Whether `schema` describes objects only (`"type": "object"`), as MCP requires of input
/// and output schemas.
pub(crate) fn is_object_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
}

/// The output schema of `T`, if its schema is an object.
fn output_schema<T: JsonSchema>() -> Option<Value> {
    let schema = root_schema::<T>();
    is_object_schema(&schema).then_some(schema)
}

/// A tool result holding `value` as compact JSON text and, if it is an object, as
/// structured content.
fn json_result<T: Serialize>(value: T) -> Result<ToolResult, CallError> {
    let value = serde_json::to_value(value)
        .map_err(|error| CallError::Failed(format!("could not serialise the result: {error}")))?;
    let text = value.to_string();
    Ok(ToolResult {
        content: vec![ContentBlock::Text(text.clone())],
        structured: value.is_object().then_some(text),
        is_error: false,
    })
}

/// Error types a tool may return in `Result<T, E>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the error type of a #[tool]",
    label = "this error type does not convert into `ToolError`",
    note = "return `Result<T, ToolError>`, add `impl From<{Self}> for ToolError`, or map it with `.map_err(ToolError::failed)`"
)]
pub trait IntoToolError {
    /// Converts into a [`ToolError`].
    fn into_tool_error(self) -> ToolError;
}

impl<E: Into<ToolError>> IntoToolError for E {
    fn into_tool_error(self) -> ToolError {
        self.into()
    }
}

/// Return types sent as one text block.
pub trait TextReturn {
    /// The text.
    fn into_text(self) -> String;
}

impl TextReturn for String {
    fn into_text(self) -> String {
        self
    }
}

impl TextReturn for &str {
    fn into_text(self) -> String {
        self.to_string()
    }
}

impl TextReturn for Cow<'_, str> {
    fn into_text(self) -> String {
        self.into_owned()
    }
}

impl TextReturn for Box<str> {
    fn into_text(self) -> String {
        self.into()
    }
}

/// Return types sent as JSON: anything `Serialize`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a #[tool]",
    label = "not a supported tool return type",
    note = "return `String`, `&'static str`, `ToolOutput`, `()`, a type implementing `serde::Serialize`, or a `Result<_, ToolError>` of one of those"
)]
pub trait ToolReturn {
    /// The result holding the value as JSON.
    fn into_json_result(self) -> Result<ToolResult, CallError>;
}

impl<T: Serialize> ToolReturn for T {
    fn into_json_result(self) -> Result<ToolResult, CallError> {
        json_result(self)
    }
}

/// Autoref specialisation over tool return types.
///
/// A `#[tool]` expansion writes `(&ty_of(&value)).__berth_split()` to tell `Result` from
/// other types, then `(&&&ty_of(&ok)).__berth_output_kind()` to pick a tag for the `Ok`
/// type. Method lookup tries the receiver with the most references first, so the impls
/// for `&&Ty<…>` (exact types: text, `()`, `ToolOutput`) win over `&Ty<T>` (`Serialize +
/// JsonSchema`: JSON with an output schema), which wins over `Ty<T>` (JSON only). The tag
/// then converts the value, or gives the output schema when only the type is known.
pub mod kinds {
    use std::borrow::Cow;
    use std::marker::PhantomData;

    use schemars::JsonSchema;
    use serde::Serialize;
    use serde_json::Value;

    use super::{IntoToolError, TextReturn, ToolReturn};
    use crate::wit::{CallError, ToolResult};
    use crate::{ToolError, ToolOutput};

    /// A type, as a value, to specialise on.
    pub struct Ty<T>(PhantomData<fn() -> T>);

    impl<T> Clone for Ty<T> {
        fn clone(&self) -> Self {
            *self
        }
    }

    impl<T> Copy for Ty<T> {}

    /// The type of `value`.
    pub fn ty_of<T>(_value: &T) -> Ty<T> {
        Ty(PhantomData)
    }

    /// The type `T`.
    pub const fn ty<T>() -> Ty<T> {
        Ty(PhantomData)
    }

    /// The return type is a `Result`.
    pub struct ResultTag;

    /// The return type is not a `Result`.
    pub struct PlainTag;

    /// Picks [`ResultTag`] for `Result<T, E>`.
    pub trait SplitResult {
        /// The tag.
        fn __berth_split(&self) -> ResultTag {
            ResultTag
        }
    }

    impl<T, E> SplitResult for Ty<Result<T, E>> {}

    /// Picks [`PlainTag`] for every other type.
    pub trait SplitPlain {
        /// The tag.
        fn __berth_split(&self) -> PlainTag {
            PlainTag
        }
    }

    impl<T> SplitPlain for &Ty<T> {}

    impl ResultTag {
        /// The `Ok` value, or the error as a [`ToolError`].
        pub fn split<T, E: IntoToolError>(self, value: Result<T, E>) -> Result<T, ToolError> {
            value.map_err(IntoToolError::into_tool_error)
        }

        /// The `Ok` type.
        pub fn ok_type<T, E>(self, _: Ty<Result<T, E>>) -> Ty<T> {
            Ty(PhantomData)
        }
    }

    impl PlainTag {
        /// The value itself.
        pub fn split<T>(self, value: T) -> Result<T, ToolError> {
            Ok(value)
        }

        /// The type itself.
        pub fn ok_type<T>(self, ty: Ty<T>) -> Ty<T> {
            ty
        }
    }

    /// Picks the tag of an exact type (highest priority).
    pub trait ExactKind {
        /// The tag.
        type Tag: Default;

        /// The tag.
        fn __berth_output_kind(&self) -> Self::Tag {
            Self::Tag::default()
        }
    }

    /// Sent as built.
    #[derive(Default)]
    pub struct OutputTag;

    /// Sent as one text block.
    #[derive(Default)]
    pub struct TextTag;

    /// Sent as an empty result.
    #[derive(Default)]
    pub struct UnitTag;

    /// Sent as JSON, with an output schema when the schema is an object.
    pub struct SchemaJsonTag;

    /// Sent as JSON, without an output schema.
    pub struct JsonTag;

    impl ExactKind for &&Ty<ToolOutput> {
        type Tag = OutputTag;
    }
    impl ExactKind for &&Ty<String> {
        type Tag = TextTag;
    }
    impl ExactKind for &&Ty<&str> {
        type Tag = TextTag;
    }
    impl ExactKind for &&Ty<Cow<'_, str>> {
        type Tag = TextTag;
    }
    impl ExactKind for &&Ty<Box<str>> {
        type Tag = TextTag;
    }
    impl ExactKind for &&Ty<()> {
        type Tag = UnitTag;
    }

    /// Picks [`SchemaJsonTag`] for `Serialize + JsonSchema` types.
    pub trait SchemaKind {
        /// The tag.
        fn __berth_output_kind(&self) -> SchemaJsonTag {
            SchemaJsonTag
        }
    }

    impl<T: Serialize + JsonSchema> SchemaKind for &Ty<T> {}

    /// Picks [`JsonTag`] for everything else (which must then be `Serialize`).
    pub trait JsonKind {
        /// The tag.
        fn __berth_output_kind(&self) -> JsonTag {
            JsonTag
        }
    }

    impl<T> JsonKind for Ty<T> {}

    impl OutputTag {
        /// The result as built.
        pub fn output(self, value: ToolOutput) -> Result<ToolResult, CallError> {
            Ok(value.into_result())
        }

        /// No output schema.
        pub fn output_schema<T>(self, _: Ty<T>) -> Option<Value> {
            None
        }
    }

    impl TextTag {
        /// One text block.
        pub fn output<T: TextReturn>(self, value: T) -> Result<ToolResult, CallError> {
            Ok(ToolOutput::new().text(value.into_text()).into_result())
        }

        /// No output schema.
        pub fn output_schema<T>(self, _: Ty<T>) -> Option<Value> {
            None
        }
    }

    impl UnitTag {
        /// An empty result.
        pub fn output(self, _: ()) -> Result<ToolResult, CallError> {
            Ok(ToolOutput::new().into_result())
        }

        /// No output schema.
        pub fn output_schema<T>(self, _: Ty<T>) -> Option<Value> {
            None
        }
    }

    impl SchemaJsonTag {
        /// JSON text, and structured content for objects.
        pub fn output<T: Serialize>(self, value: T) -> Result<ToolResult, CallError> {
            super::json_result(value)
        }

        /// The schema of `T`, if it is an object.
        pub fn output_schema<T: JsonSchema>(self, _: Ty<T>) -> Option<Value> {
            super::output_schema::<T>()
        }
    }

    impl JsonTag {
        /// JSON text, and structured content for objects.
        pub fn output<T: ToolReturn>(self, value: T) -> Result<ToolResult, CallError> {
            value.into_json_result()
        }

        /// No output schema: the type has no `JsonSchema`.
        pub fn output_schema<T>(self, _: Ty<T>) -> Option<Value> {
            None
        }
    }
}

/// Return types of `#[resource]` and `#[resource_template]` functions.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a resource function",
    label = "not a supported resource return type",
    note = "return `String`, `&'static str`, `Vec<u8>`, `&'static [u8]`, `ResourceContents`, `Vec<ResourceContents>`, or a `Result<_, ResourceError>` of one of those"
)]
pub trait IntoResourceContents {
    /// The contents read from `uri`, whose declared MIME type is `mime_type`.
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<crate::wit::ResourceContents>, ReadError>;
}

impl IntoResourceContents for ResourceContents {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<crate::wit::ResourceContents>, ReadError> {
        Ok(vec![self.into_wit(uri, mime_type)])
    }
}

impl IntoResourceContents for Vec<ResourceContents> {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<crate::wit::ResourceContents>, ReadError> {
        Ok(self
            .into_iter()
            .map(|contents| contents.into_wit(uri, mime_type))
            .collect())
    }
}

/// Implements [`IntoResourceContents`] for types that convert into one text or blob body.
macro_rules! single_body {
    ($($ty:ty => $constructor:ident),* $(,)?) => {$(
        impl IntoResourceContents for $ty {
            fn into_contents(
                self,
                uri: &str,
                mime_type: Option<&str>,
            ) -> Result<Vec<crate::wit::ResourceContents>, ReadError> {
                ResourceContents::$constructor(self).into_contents(uri, mime_type)
            }
        }
    )*};
}

single_body!(
    String => text,
    &str => text,
    Cow<'_, str> => text,
    Vec<u8> => blob,
    &[u8] => blob,
);

impl<T: IntoResourceContents, E: Into<ResourceError>> IntoResourceContents for Result<T, E> {
    fn into_contents(
        self,
        uri: &str,
        mime_type: Option<&str>,
    ) -> Result<Vec<crate::wit::ResourceContents>, ReadError> {
        match self {
            Ok(value) => value.into_contents(uri, mime_type),
            Err(error) => Err(error.into().into_read_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::kinds::*;
    use super::*;
    use crate::ToolOutput;

    #[derive(Serialize, JsonSchema)]
    struct Point {
        x: i32,
        y: i32,
    }

    #[derive(Serialize)]
    struct Opaque {
        a: u8,
    }

    /// Runs the same dispatch a `#[tool]` expansion generates, for a value of type `R`.
    macro_rules! dispatch {
        ($value:expr) => {{
            let value = $value;
            match (&ty_of(&value)).__berth_split().split(value) {
                Ok(ok) => (&&&ty_of(&ok)).__berth_output_kind().output(ok),
                Err(error) => error.into_outcome(),
            }
        }};
    }

    /// The output schema a `#[tool]` expansion declares for return type `$ty`.
    macro_rules! schema_of {
        ($ty:ty) => {{
            let ok = (&ty::<$ty>()).__berth_split().ok_type(ty::<$ty>());
            (&&&ok).__berth_output_kind().output_schema(ok)
        }};
    }

    #[test]
    fn text_like_returns_are_one_text_block() {
        for result in [
            dispatch!(String::from("hi")),
            dispatch!("hi"),
            dispatch!(Cow::Borrowed("hi")),
            dispatch!(Ok::<_, ToolError>("hi")),
        ] {
            let result = result.unwrap();
            assert_eq!(result.content, vec![ContentBlock::Text("hi".into())]);
            assert_eq!(result.structured, None);
        }
        assert_eq!(schema_of!(String), None);
        assert_eq!(schema_of!(&'static str), None);
        assert_eq!(schema_of!(Result<String, ToolError>), None);
    }

    #[test]
    fn unit_and_tool_output_pass_through() {
        assert!(dispatch!(()).unwrap().content.is_empty());
        let output = ToolOutput::new().text("a").error();
        assert!(dispatch!(output).unwrap().is_error);
        assert_eq!(schema_of!(()), None);
        assert_eq!(schema_of!(ToolOutput), None);
    }

    #[test]
    fn objects_are_structured_with_an_output_schema() {
        let result = dispatch!(Point { x: 1, y: 2 }).unwrap();
        assert_eq!(result.text(), r#"{"x":1,"y":2}"#);
        assert_eq!(
            result.structured_json(),
            Some(serde_json::json!({"x": 1, "y": 2}))
        );
        let schema = schema_of!(Result<Point, String>).expect("object schema");
        assert_eq!(schema["type"], "object");
        assert!(schema.get("title").is_none());
        assert_eq!(schema["properties"]["x"]["type"], "integer");
    }

    #[test]
    fn non_objects_are_text_only() {
        let result = dispatch!(vec![1, 2]).unwrap();
        assert_eq!(result.text(), "[1,2]");
        assert_eq!(result.structured, None);
        assert_eq!(schema_of!(Vec<i32>), None);
        assert_eq!(dispatch!(2.5f64).unwrap().text(), "2.5");
    }

    #[test]
    fn serialize_without_json_schema_has_no_output_schema() {
        let result = dispatch!(Opaque { a: 1 }).unwrap();
        assert_eq!(result.structured_json(), Some(serde_json::json!({"a": 1})));
        assert_eq!(schema_of!(Opaque), None);
    }

    #[test]
    fn errors_map_to_their_variants() {
        let failed: Result<String, &str> = Err("nope");
        assert_eq!(dispatch!(failed), Err(CallError::Failed("nope".into())));
        let invalid: Result<Point, ToolError> = Err(ToolError::invalid_arguments("`x` < 0"));
        assert_eq!(
            dispatch!(invalid),
            Err(CallError::InvalidArguments("`x` < 0".into()))
        );
        let reported: Result<(), ToolError> = Err(ToolError::result("empty"));
        let result = dispatch!(reported).unwrap();
        assert!(result.is_error);
        assert_eq!(result.text(), "empty");
    }

    #[test]
    fn resource_returns() {
        let text = "x".into_contents("a://b", Some("text/plain")).unwrap();
        assert_eq!(text[0].as_text(), Some("x"));
        assert_eq!(text[0].mime_type.as_deref(), Some("text/plain"));
        let blob = vec![0u8, 1].into_contents("a://b", None).unwrap();
        assert_eq!(blob[0].as_blob(), Some(&[0u8, 1][..]));
        let missing: Result<String, ResourceError> = Err(ResourceError::not_found("none"));
        assert_eq!(
            missing.into_contents("a://b", None),
            Err(ReadError::NotFound("none".into()))
        );
        let tool_error: Result<String, ToolError> = Err(ToolError::failed("bad"));
        assert_eq!(
            tool_error.into_contents("a://b", None),
            Err(ReadError::Failed("bad".into()))
        );
    }
}
