//! The schema's guard extension: it bounds how deep a document may nest, tags parse errors,
//! and gives every error of every response (HTTP and websocket alike) a code.
//!
//! Depth is checked here, on the parsed document and before validation, rather than with
//! async-graphql's `limit_depth` alone: introspection (`__schema`, `__type`) is left out of the
//! count, because GraphiQL's introspection query nests 15 levels deep while data queries need
//! far fewer. A generous built-in limit still bounds introspection, and the complexity limit
//! counts every field.

use crate::errors::{ensure_codes, reason, ApiError};
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextSubscribe,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Response, ServerError, ServerResult, Variables};
use futures::stream::{BoxStream, StreamExt};
use std::collections::HashMap;
use std::sync::Arc;

/// Deepest nesting of data fields a document may have.
pub const MAX_DEPTH: usize = 10;
/// Most fragment definitions a document may have.
pub const MAX_FRAGMENTS: usize = 100;

pub struct Guard;

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

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
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
        Ok(document)
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
