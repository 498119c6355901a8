//! The schema's guard extension: it bounds how deep a document may nest, tags parse errors,
//! refuses text the database cannot store, and gives every error of every response (HTTP and
//! websocket alike) a code.
//!
//! async-graphql parses the document inside the extensions' `parse_query` chain, for
//! `Schema::execute` and `Schema::execute_stream` alike (so for every HTTP request and every
//! websocket `subscribe`): the bracket scan of [`crate::nesting`] at the start of
//! [`Extension::parse_query`] runs before the parser sees the text.
//!
//! Depth is checked here, on the parsed document and before validation, rather than with
//! async-graphql's `limit_depth` alone: introspection (`__schema`, `__type`) is left out of the
//! count, because GraphiQL's introspection query nests 15 levels deep while data queries need
//! far fewer. A generous built-in limit still bounds introspection, and the complexity limit
//! counts every field.

use crate::errors::{ensure_codes, reason, ApiError};
use crate::nesting::{nesting, MAX_NESTING};
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest, NextRequest,
    NextSubscribe,
};
use async_graphql::parser::types::{Directive, ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::parser::Positioned;
use async_graphql::{Name, Response, ServerError, ServerResult, Value, Variables};
use futures::stream::{BoxStream, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;

/// Deepest nesting of data fields a document may have.
pub const MAX_DEPTH: usize = 10;
/// Most fragment definitions a document may have.
pub const MAX_FRAGMENTS: usize = 100;

pub struct Guard;

/// In a connection's data (websockets): its operations may not introspect the schema. HTTP
/// requests apply the switch themselves (see [`crate::http`]).
pub struct NoIntrospection;

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension)
    }
}

struct GuardExtension;

#[async_trait::async_trait]
impl Extension for GuardExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        ensure_codes(&mut response.errors);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut response| {
                ensure_codes(&mut response.errors);
                response
            })
            .boxed()
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: async_graphql::Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<async_graphql::Request> {
        let request = if ctx.data_opt::<NoIntrospection>().is_some() {
            request.disable_introspection()
        } else {
            request
        };
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        check_nesting(query)?;
        let document = next.run(ctx, query, variables).await.map_err(|mut error| {
            let why = if error.message.contains("recursion depth") {
                reason::QUERY_TOO_DEEP
            } else {
                reason::GRAPHQL_PARSE_FAILED
            };
            let ext = error.extensions.get_or_insert_with(Default::default);
            ext.set("code", crate::errors::Code::BadUserInput.as_str());
            ext.set("reason", why);
            error
        })?;
        check_depth(&document, MAX_DEPTH)?;
        check_no_nul(&document, variables)?;
        Ok(document)
    }
}

/// Refuses a document whose brackets nest deeper than [`MAX_NESTING`], before it is parsed.
pub fn check_nesting(query: &str) -> ServerResult<()> {
    nesting(query, MAX_NESTING).map(|_| ()).map_err(|_| {
        too_deep(format!(
            "the document nests brackets more than {MAX_NESTING} levels deep"
        ))
    })
}

/// Refuses NUL characters in any string of the document or of its variables: PostgreSQL's
/// text cannot hold one, so a NUL would otherwise fail deep in a write as an internal error.
pub fn check_no_nul(document: &ExecutableDocument, variables: &Variables) -> ServerResult<()> {
    let mut found = variables
        .iter()
        .any(|(name, value)| has_nul(name) || const_has_nul(value));
    for (_, operation) in document.operations.iter() {
        let op = &operation.node;
        found = found
            || op.variable_definitions.iter().any(|v| {
                v.node
                    .default_value
                    .as_ref()
                    .is_some_and(|d| const_has_nul(&d.node))
                    || directives_have_nul(&v.node.directives)
            })
            || directives_have_nul(&op.directives)
            || set_has_nul(&op.selection_set.node);
    }
    found = found
        || document.fragments.values().any(|f| {
            directives_have_nul(&f.node.directives) || set_has_nul(&f.node.selection_set.node)
        });
    if found {
        return Err(
            ApiError::bad_input("text inputs may not contain the NUL character")
                .with_reason(reason::NUL_IN_TEXT)
                .into_server_error(),
        );
    }
    Ok(())
}

fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

// The recursion below is bounded: the document nests at most MAX_NESTING levels (checked
// before parsing), variables at most 128 (serde_json's limit).

fn set_has_nul(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => field_has_nul(&field.node),
        Selection::FragmentSpread(spread) => directives_have_nul(&spread.node.directives),
        Selection::InlineFragment(inline) => {
            directives_have_nul(&inline.node.directives)
                || set_has_nul(&inline.node.selection_set.node)
        }
    })
}

fn field_has_nul(field: &Field) -> bool {
    field.arguments.iter().any(|(_, v)| {
        const_has_nul(
            &v.node
                .clone()
                .into_const_with(variable_as_null)
                .unwrap_or_default(),
        )
    }) || directives_have_nul(&field.directives)
        || set_has_nul(&field.selection_set.node)
}

fn directives_have_nul(directives: &[Positioned<Directive>]) -> bool {
    directives.iter().any(|d| {
        d.node.arguments.iter().any(|(_, v)| {
            const_has_nul(
                &v.node
                    .clone()
                    .into_const_with(variable_as_null)
                    .unwrap_or_default(),
            )
        })
    })
}

/// Literals are read as constants: the variables they name are checked on their own.
fn variable_as_null(_: Name) -> Result<Value, std::convert::Infallible> {
    Ok(Value::Null)
}

fn const_has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => has_nul(s),
        Value::List(items) => items.iter().any(const_has_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| has_nul(k) || const_has_nul(v)),
        _ => false,
    }
}

/// Refuses a document whose data fields nest deeper than `limit`.
pub fn check_depth(document: &ExecutableDocument, limit: usize) -> ServerResult<()> {
    if document.fragments.len() > MAX_FRAGMENTS {
        return Err(too_deep(format!(
            "a document may define at most {MAX_FRAGMENTS} fragments"
        )));
    }
    let mut depths = Depths {
        document,
        memo: HashMap::new(),
        visiting: Vec::new(),
    };
    for (_, operation) in document.operations.iter() {
        let depth = depths.of(&operation.node.selection_set.node);
        if depth > limit {
            return Err(too_deep(format!(
                "the query nests {depth} levels deep; at most {limit} are allowed"
            )));
        }
    }
    Ok(())
}

fn too_deep(message: String) -> ServerError {
    ApiError::bad_input(message)
        .with_reason(reason::QUERY_TOO_DEEP)
        .into_server_error()
}

/// Nesting depth of selection sets, each fragment computed once (so a document that spreads
/// fragments into fragments costs time linear in its size).
struct Depths<'a> {
    document: &'a ExecutableDocument,
    memo: HashMap<&'a str, usize>,
    visiting: Vec<&'a str>,
}

impl<'a> Depths<'a> {
    fn of(&mut self, set: &'a SelectionSet) -> usize {
        let mut max = 0;
        for selection in &set.items {
            let depth = match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    if name == "__schema" || name == "__type" {
                        0
                    } else {
                        1 + self.of(&field.node.selection_set.node)
                    }
                }
                Selection::InlineFragment(inline) => self.of(&inline.node.selection_set.node),
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str())
                }
            };
            max = max.max(depth);
        }
        max
    }

    fn fragment(&mut self, name: &'a str) -> usize {
        if let Some(depth) = self.memo.get(name) {
            return *depth;
        }
        // A cycle is a validation error reported later; it adds nothing here.
        if self.visiting.contains(&name) {
            return 0;
        }
        let Some(definition) = self.document.fragments.get(name) else {
            return 0;
        };
        self.visiting.push(name);
        let depth = self.of(&definition.node.selection_set.node);
        self.visiting.pop();
        self.memo.insert(name, depth);
        depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn depth_ok(query: &str, limit: usize) -> bool {
        check_depth(&parse_query(query).unwrap(), limit).is_ok()
    }

    #[test]
    fn counts_fields_through_fragments_but_not_introspection() {
        assert!(depth_ok("{ a { b { c } } }", 3));
        assert!(!depth_ok("{ a { b { c } } }", 2));
        assert!(!depth_ok(
            "query { a { ...F } } fragment F on T { b { ... on T { c } } }",
            2
        ));
        assert!(depth_ok(
            "{ __schema { types { fields { type { ofType { ofType { name } } } } } } }",
            1
        ));
        // Cycles do not loop.
        assert!(depth_ok(
            "{ a { ...F } } fragment F on T { b ...G } fragment G on T { ...F }",
            3
        ));
    }

    fn nul_refused(query: &str, variables: serde_json::Value) -> bool {
        let document = parse_query(query).unwrap();
        check_no_nul(&document, &Variables::from_json(variables)).is_err()
    }

    #[test]
    fn nul_characters_are_refused_wherever_they_are() {
        use serde_json::json;
        assert!(!nul_refused(
            r#"{ a(x: "ok", y: ["fine"]) }"#,
            json!({"v": "ok"})
        ));
        assert!(nul_refused(r#"{ a(x: "a\u0000b") }"#, json!({})));
        assert!(nul_refused(r#"{ a { b(x: {y: ["\u0000"]}) } }"#, json!({})));
        assert!(nul_refused(r#"{ a @include(if: "\u0000") }"#, json!({})));
        assert!(nul_refused(
            r#"query($v: String = "\u0000") { a(x: $v) }"#,
            json!({})
        ));
        assert!(nul_refused(
            r#"{ ...F } fragment F on T { ... on T { a(x: "\u0000") } }"#,
            json!({})
        ));
        assert!(nul_refused(
            "{ a }",
            json!({"v": {"list": [1, {"deep": "x\0"}]}})
        ));
        assert!(nul_refused("{ a }", json!({"v": {"ke\0y": 1}})));
    }

    #[test]
    fn too_deep_text_is_refused_before_parsing() {
        let deep = format!("{{ a(x: {}1{}) }}", "{a:".repeat(5_000), "}".repeat(5_000));
        let error = check_nesting(&deep).unwrap_err();
        let ext = error.extensions.unwrap();
        assert_eq!(
            ext.get("reason").map(|v| v.to_string()).as_deref(),
            Some("\"QUERY_TOO_DEEP\"")
        );
        // Just under the limit, the parser copes (in a debug build, on a test thread's stack).
        let ok = format!(
            "{{ a(x: {}1{}) }}",
            "[".repeat(MAX_NESTING - 2),
            "]".repeat(MAX_NESTING - 2)
        );
        assert!(check_nesting(&ok).is_ok());
        assert!(parse_query(&ok).is_ok());
    }

    #[test]
    fn fragment_bombs_cost_linear_time() {
        let mut query = String::from("{ a { ...F0 } }\n");
        for i in 0..60 {
            query.push_str(&format!(
                "fragment F{i} on T {{ ...F{} ...F{} }}\n",
                i + 1,
                i + 1
            ));
        }
        query.push_str("fragment F60 on T { x }\n");
        assert!(depth_ok(&query, 2));
    }
}
