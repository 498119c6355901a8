//! How deep a GraphQL document's brackets nest, read from its text before anything parses it.
//!
//! async-graphql's parser recurses once per nesting level of a value (`{a:{a:...}}`,
//! `[[[...]]]`) with no limit of its own: a few kilobytes of brackets overflow the stack and
//! abort the process. This scan is linear, allocates nothing, and refuses such a document
//! before the parser sees it. Brackets inside strings, block strings and comments do not count.

/// Deepest nesting of `{`, `[` and `(` a document may have. Far above what real queries need
/// (GraphiQL's introspection query nests about 20), far below what overflows the parser.
pub const MAX_NESTING: usize = 64;

/// The document's deepest bracket nesting, or `Err(limit + 1)` as soon as it exceeds `limit`
/// (the rest is not read). Unbalanced brackets are left for the parser to report.
pub fn nesting(text: &str, limit: usize) -> Result<usize, usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > limit {
                    return Err(depth);
                }
                max = max.max(depth);
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'#' => i = skip_comment(bytes, i + 1),
            b'"' if bytes[i..].starts_with(b"\"\"\"") => i = skip_block_string(bytes, i + 3),
            b'"' => i = skip_string(bytes, i + 1),
            _ => i += 1,
        }
    }
    Ok(max)
}

/// Past the end of a `#` comment (its line).
fn skip_comment(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
        i += 1;
    }
    i
}

/// Past the closing quote of a `"..."` string; a backslash escapes the next character. A
/// string cut by the end of a line ends there (the parser refuses it anyway).
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Past the closing `"""` of a block string; `\"""` does not close it.
fn skip_block_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        if bytes[i..].starts_with(b"\\\"\"\"") {
            i += 4;
        } else if bytes[i..].starts_with(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(text: &str) -> usize {
        nesting(text, MAX_NESTING).unwrap()
    }

    #[test]
    fn counts_every_kind_of_bracket() {
        assert_eq!(depth(""), 0);
        assert_eq!(depth("{ a }"), 1);
        assert_eq!(depth("{ a(x: [1, {b: 2}]) { c } }"), 4);
        assert_eq!(depth("query($v: [[Int!]]) { a }"), 3);
        assert_eq!(depth("{ a } { b { c } }"), 2);
    }

    #[test]
    fn stops_at_the_limit() {
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(nesting(&deep, 64), Err(65));
        assert_eq!(nesting(&deep, 10_000), Ok(10_000));
        let object = format!("{{ a(x: {}1{}) }}", "{a:".repeat(5_000), "}".repeat(5_000));
        assert!(nesting(&object, MAX_NESTING).is_err());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        assert_eq!(depth(r#"{ a(x: "{{{[[[(((") }"#), 2);
        assert_eq!(depth(r#"{ a(x: "say \"{{{\" twice") }"#), 2);
        assert_eq!(depth(r#"{ a(x: "a backslash \\") { b { c } } }"#), 3);
        assert_eq!(depth("{ a(x: \"\"\"{{{ \"{\" \\\"\"\" [[[ \"\"\") }"), 2);
        assert_eq!(depth("# {{{{\n{ a # [[[[\n }"), 1);
        assert_eq!(depth("{ a(x: \"\") { b { c } } }"), 3);
        assert_eq!(depth("{ a(x: \"\"\"\"\"\") { b { c } } }"), 3);
    }

    #[test]
    fn hostile_text_inside_strings_is_skipped_cheaply() {
        let inside = format!("{{ a(x: \"{}\") }}", "{".repeat(100_000));
        assert_eq!(depth(&inside), 2);
        let block = format!("{{ a(x: \"\"\"{}\"\"\") }}", "[".repeat(100_000));
        assert_eq!(depth(&block), 2);
        // Unterminated strings and block strings end the scan; closers never underflow.
        assert_eq!(depth("{ a(x: \"unterminated"), 2);
        assert_eq!(depth("{ a(x: \"\"\"unterminated"), 2);
        assert_eq!(depth("}}}]]]))) { a }"), 1);
        // A string cut by a newline ends there: what follows counts again.
        assert_eq!(depth("\"abc\n{{"), 2);
    }
}
