//! Search keys: text folded so that a search is case- and accent-insensitive, computed in Rust
//! (the `unaccent` extension may not be installed, and database collations differ between
//! machines).
//!
//! Folding works character by character: lower case, canonical decomposition without the
//! combining marks (é -> e, ą -> a, ά -> α), then the letters that do not decompose
//! (ß -> ss, æ -> ae, ø -> o, ł -> l, đ -> d, þ -> th, ħ -> h, ı -> i, final ς -> σ), white space
//! to one space, control characters dropped; then runs of spaces collapse and the ends are
//! trimmed. Projections store the folded text beside the original; reference tables owned by
//! others are folded in SQL by [`SqlFold`], generated from the same function so both agree.

use std::sync::OnceLock;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Separates the folded names of one row in a search key, so a search phrase never matches
/// across two names. Folding drops it from any text.
pub const KEY_SEPARATOR: char = '\u{1f}';

fn push_folded(c: char, out: &mut String) {
    if c.is_whitespace() {
        out.push(' ');
        return;
    }
    if c.is_control() {
        return;
    }
    for lower in c.to_lowercase() {
        for d in std::iter::once(lower).nfd() {
            if is_combining_mark(d) {
                continue;
            }
            match d {
                'ß' => out.push_str("ss"),
                'æ' => out.push_str("ae"),
                'œ' => out.push_str("oe"),
                'ø' => out.push('o'),
                'ł' => out.push('l'),
                'đ' | 'ð' => out.push('d'),
                'þ' => out.push_str("th"),
                'ħ' => out.push('h'),
                'ı' => out.push('i'),
                'ς' => out.push('σ'),
                other => out.push(other),
            }
        }
    }
}

/// What one character folds to (before spaces collapse).
fn fold_char(c: char) -> String {
    let mut s = String::new();
    push_folded(c, &mut s);
    s
}

/// The search form of `text`.
pub fn fold(text: &str) -> String {
    let mut raw = String::with_capacity(text.len());
    for c in text.chars() {
        push_folded(c, &mut raw);
    }
    let mut out = String::with_capacity(raw.len());
    for word in raw.split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The search key of several names: each folded, joined by [`KEY_SEPARATOR`].
pub fn key_of<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let folded: Vec<String> = names
        .into_iter()
        .map(fold)
        .filter(|f| !f.is_empty())
        .collect();
    folded.join(&KEY_SEPARATOR.to_string())
}

/// A `LIKE` pattern matching keys that contain the folded `text`; `None` when nothing is left
/// of it to search for.
pub fn contains_pattern(text: &str) -> Option<String> {
    let folded = fold(text);
    if folded.is_empty() {
        return None;
    }
    let escaped = folded
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Some(format!("%{escaped}%"))
}

/// Folding in SQL, for tables this crate does not own: `translate` for the characters that fold
/// to one character or none, `replace` for those that fold to several, then spaces collapse.
/// Covers Latin, Greek and Cyrillic (every script of the EU's official languages), white space
/// and control characters; anything else is only folded where Rust and SQL agree anyway.
pub struct SqlFold {
    /// `translate`'s `from`: single-character foldings first, then deleted characters.
    pub from: String,
    /// `translate`'s `to`.
    pub to: String,
    /// Characters that fold to more than one character.
    multi: Vec<(char, String)>,
}

const FOLDED_RANGES: [(u32, u32); 6] = [
    (0x0001, 0x024F),
    (0x0300, 0x036F),
    (0x0370, 0x052F),
    (0x1E00, 0x1FFF),
    (0x2000, 0x206F),
    (0x3000, 0x3000),
];

impl SqlFold {
    pub fn get() -> &'static SqlFold {
        static FOLD: OnceLock<SqlFold> = OnceLock::new();
        FOLD.get_or_init(|| {
            let mut singles_from = String::new();
            let mut to = String::new();
            let mut deleted = String::new();
            let mut multi = Vec::new();
            for (start, end) in FOLDED_RANGES {
                for c in (start..=end).filter_map(char::from_u32) {
                    let f = fold_char(c);
                    let mut chars = f.chars();
                    match (chars.next(), chars.next()) {
                        (None, _) => deleted.push(c),
                        (Some(one), None) if one == c => {}
                        (Some(one), None) => {
                            singles_from.push(c);
                            to.push(one);
                        }
                        (Some(_), Some(_)) => multi.push((c, f)),
                    }
                }
            }
            singles_from.push_str(&deleted);
            SqlFold {
                from: singles_from,
                to,
                multi,
            }
        })
    }

    /// SQL folding the text `expr`, where the SQL expressions `from` and `to` yield
    /// [`SqlFold::from`] and [`SqlFold::to`] (bind them once, e.g. in a one-row subquery).
    pub fn sql(&self, expr: &str, from: &str, to: &str) -> String {
        let mut folded = format!("translate({expr}, {from}, {to})");
        for (c, replacement) in &self.multi {
            // Both sides are letters generated above: no quote can occur in them.
            folded = format!("replace({folded}, '{c}', '{replacement}')");
        }
        format!("btrim(regexp_replace({folded}, ' {{2,}}', ' ', 'g'))")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_accents_and_spacing() {
        assert_eq!(fold("  Bundesamt für   Justiz "), "bundesamt fur justiz");
        assert_eq!(fold("ÉCOLE Nationale"), "ecole nationale");
        assert_eq!(fold("Straße"), fold("STRASSE"));
        assert_eq!(fold("Łódź"), "lodz");
        assert_eq!(fold("Ħal Qormi"), "hal qormi");
        assert_eq!(fold("Υπουργείο Υγείας"), fold("ΥΠΟΥΡΓΕΙΟ υγειασ"));
        assert_eq!(fold("ΟΔΟΣ"), fold("οδος"));
        assert_eq!(fold("Министерство"), "министерство");
        assert_eq!(fold("Ærø\u{a0}Kommune"), "aero kommune");
        assert_eq!(fold("a\u{1f}b\tc"), "ab c");
        assert_eq!(fold("İstanbul"), "istanbul");
    }

    #[test]
    fn keys_keep_names_apart_and_patterns_escape_wildcards() {
        assert_eq!(key_of(["A b", "", "Ç"]), "a b\u{1f}c");
        assert_eq!(contains_pattern(" 100%_x "), Some("%100\\%\\_x%".into()));
        assert_eq!(contains_pattern("  "), None);
    }

    #[test]
    fn the_sql_table_maps_each_character_once() {
        let f = SqlFold::get();
        let mut seen = std::collections::BTreeSet::new();
        for c in f.from.chars() {
            assert!(seen.insert(c), "{c:?} twice");
        }
        assert!(f.from.chars().count() > f.to.chars().count());
        assert!(!f.from.contains('\0'));
        assert!(f.multi.iter().any(|(c, s)| *c == 'ß' && s == "ss"));
    }
}
