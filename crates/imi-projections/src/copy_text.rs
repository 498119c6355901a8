//! Rows encoded for `COPY ... FROM STDIN` (text format) straight from their `Serialize` form.
//!
//! A rebuild writes millions of rows. Serializing each into a `serde_json::Value` first (a map
//! per row, a string per key) and reading the fields back out of it took about a third of a
//! long rebuild's CPU (docs/BENCHMARKS.md). Here each field is written once into one buffer, in
//! the form its column will take, before the table's columns are known: a string as its text,
//! anything else as its JSON. [`CopyRows::write`] then lays the fields out in the columns'
//! order, as `json_populate_recordset` would read the rows' JSON (the live path's form): a
//! missing or `null` field is NULL, a string its text (its JSON in a JSON column), a JSON array
//! in an array column an array literal, anything else its JSON text.

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStruct, Serializer};
use std::borrow::Cow;
use std::fmt;

/// One column of a table, as [`CopyRows::write`] fills it.
#[derive(sqlx::FromRow)]
pub(crate) struct Column {
    pub name: String,
    /// `json` or `jsonb`: the value's JSON text.
    pub json: bool,
    /// An array type: a JSON array becomes an array literal.
    pub array: bool,
}

/// Rows, each a list of named fields, their values back to back in one buffer.
#[derive(Default)]
pub(crate) struct CopyRows {
    text: Vec<u8>,
    fields: Vec<Field>,
    /// Where each row's fields end in `fields`.
    ends: Vec<usize>,
}

struct Field {
    name: Cow<'static, str>,
    kind: Kind,
    start: usize,
    end: usize,
}

/// What a field's bytes hold.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Null,
    /// A string's own text.
    Str,
    /// JSON text: a number, a boolean, an array, an object.
    Json,
}

impl CopyRows {
    /// Encodes `rows`, each a struct or a map.
    pub(crate) fn encode<T: Serialize>(rows: &[T]) -> Result<Self, sqlx::Error> {
        let mut encoded = CopyRows::default();
        for row in rows {
            row.serialize(&mut encoded)
                .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
            encoded.ends.push(encoded.fields.len());
        }
        Ok(encoded)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends the rows to `out` as `COPY`'s text, their fields in `columns`' order.
    pub(crate) fn write(&self, columns: &[Column], out: &mut Vec<u8>) -> Result<(), sqlx::Error> {
        // Rows of one type name their fields in the same order: where each column's field was
        // in the row before is looked at first.
        let mut at = vec![usize::MAX; columns.len()];
        let mut scratch = Vec::new();
        let mut first = 0;
        for &end in &self.ends {
            let fields = &self.fields[first..end];
            first = end;
            for (n, column) in columns.iter().enumerate() {
                if n > 0 {
                    out.push(b'\t');
                }
                let field = match fields.get(at[n]) {
                    Some(f) if f.name == column.name.as_str() => Some(f),
                    _ => {
                        let found = fields.iter().position(|f| f.name == column.name.as_str());
                        at[n] = found.unwrap_or(usize::MAX);
                        found.map(|i| &fields[i])
                    }
                };
                match field {
                    None => out.extend_from_slice(b"\\N"),
                    Some(f) => self.write_field(f, column, out, &mut scratch)?,
                }
            }
            out.push(b'\n');
        }
        Ok(())
    }

    fn write_field(
        &self,
        field: &Field,
        column: &Column,
        out: &mut Vec<u8>,
        scratch: &mut Vec<u8>,
    ) -> Result<(), sqlx::Error> {
        let bytes = &self.text[field.start..field.end];
        match field.kind {
            Kind::Null => out.extend_from_slice(b"\\N"),
            Kind::Str if column.json => {
                // The string's JSON: its text, quoted.
                let text = std::str::from_utf8(bytes).map_err(|e| sqlx::Error::Encode(e.into()))?;
                scratch.clear();
                serde_json::to_writer(&mut *scratch, text)
                    .map_err(|e| sqlx::Error::Encode(e.into()))?;
                escape(out, scratch);
            }
            Kind::Json if column.array && bytes.first() == Some(&b'[') => {
                let items: Vec<serde_json::Value> =
                    serde_json::from_slice(bytes).map_err(|e| sqlx::Error::Encode(e.into()))?;
                let mut literal = String::from("{");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        literal.push(',');
                    }
                    match item {
                        serde_json::Value::Null => literal.push_str("NULL"),
                        serde_json::Value::String(s) => array_element(&mut literal, s),
                        other => array_element(&mut literal, &other.to_string()),
                    }
                }
                literal.push('}');
                escape(out, literal.as_bytes());
            }
            Kind::Str | Kind::Json => escape(out, bytes),
        }
        Ok(())
    }

    /// Encodes one field of the current row.
    fn field<T: Serialize + ?Sized>(
        &mut self,
        name: Cow<'static, str>,
        value: &T,
    ) -> Result<(), Error> {
        let start = self.text.len();
        let kind = match value.serialize(Scalar(&mut self.text)) {
            Ok(kind) => kind,
            Err(Error::Composite) => {
                self.text.truncate(start);
                serde_json::to_writer(&mut self.text, value)
                    .map_err(|e| Error::Custom(e.to_string()))?;
                Kind::Json
            }
            Err(e) => return Err(e),
        };
        self.fields.push(Field {
            name,
            kind,
            start,
            end: self.text.len(),
        });
        Ok(())
    }
}

/// An element of an array literal, quoted.
pub(crate) fn array_element(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// A field of COPY's text format: backslash, tab, newline and carriage return escaped, the runs
/// between them copied whole (all four are ASCII, so no UTF-8 sequence holds one).
pub(crate) fn escape(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        out.extend_from_slice(escaped);
        run = i + 1;
    }
    out.extend_from_slice(&bytes[run..]);
}

/// Why a row could not be encoded; `Composite` only tells [`CopyRows::field`] to write a value
/// as JSON.
#[derive(Debug)]
pub(crate) enum Error {
    Composite,
    Custom(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Composite => f.write_str("a composite value where a scalar was expected"),
            Error::Custom(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Custom(msg.to_string())
    }
}

/// The methods of `Serializer` for bytes and compound values (but maps and structs), each
/// answering `$refuse`.
macro_rules! refuse_compounds {
    ($ok:ty, $refuse:expr) => {
        fn serialize_bytes(self, _: &[u8]) -> Result<$ok, Error> {
            $refuse
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<$ok, Error> {
            $refuse
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
            $refuse
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
            $refuse
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Error> {
            $refuse
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Error> {
            $refuse
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Error> {
            $refuse
        }
    };
}

fn not_a_row<T>() -> Result<T, Error> {
    Err(Error::Custom("a row must be a struct or a map".into()))
}

/// A row: a struct's fields or a map's entries, each a field.
impl<'a> Serializer for &'a mut CopyRows {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = RowMap<'a>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<RowMap<'a>, Error> {
        Ok(RowMap {
            rows: self,
            key: None,
        })
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_i8(self, _: i8) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_i16(self, _: i16) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_i32(self, _: i32) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_i64(self, _: i64) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_u8(self, _: u8) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_u16(self, _: u16) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_u32(self, _: u32) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_u64(self, _: u64) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_f32(self, _: f32) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_f64(self, _: f64) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_char(self, _: char) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_str(self, _: &str) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_none(self) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_unit(self) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        not_a_row()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Error> {
        not_a_row()
    }
    refuse_compounds!((), not_a_row());
}

impl SerializeStruct for &mut CopyRows {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// A row given as a map (a `serde_json::Value` object): its keys must be strings.
pub(crate) struct RowMap<'a> {
    rows: &'a mut CopyRows,
    key: Option<String>,
}

impl SerializeMap for RowMap<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        match serde_json::to_value(key) {
            Ok(serde_json::Value::String(key)) => {
                self.key = Some(key);
                Ok(())
            }
            _ => Err(Error::Custom("a row's keys must be strings".into())),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::Custom("a row's value without its key".into()))?;
        self.rows.field(Cow::Owned(key), value)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// A field's value, when it is a scalar: written as its column takes it; anything else is
/// `Composite`, and written as JSON instead.
struct Scalar<'a>(&'a mut Vec<u8>);

impl Scalar<'_> {
    fn json<T: Serialize>(self, value: T) -> Result<Kind, Error> {
        serde_json::to_writer(self.0, &value).map_err(|e| Error::Custom(e.to_string()))?;
        Ok(Kind::Json)
    }
}

impl Serializer for Scalar<'_> {
    type Ok = Kind;
    type Error = Error;
    type SerializeSeq = Impossible<Kind, Error>;
    type SerializeTuple = Impossible<Kind, Error>;
    type SerializeTupleStruct = Impossible<Kind, Error>;
    type SerializeTupleVariant = Impossible<Kind, Error>;
    type SerializeMap = Impossible<Kind, Error>;
    type SerializeStruct = Impossible<Kind, Error>;
    type SerializeStructVariant = Impossible<Kind, Error>;

    fn serialize_bool(self, v: bool) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Kind, Error> {
        self.json(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Kind, Error> {
        // JSON has no NaN or infinity: serde_json writes them as null.
        if v.is_finite() {
            self.json(v)
        } else {
            Ok(Kind::Null)
        }
    }
    fn serialize_f64(self, v: f64) -> Result<Kind, Error> {
        if v.is_finite() {
            self.json(v)
        } else {
            Ok(Kind::Null)
        }
    }
    fn serialize_char(self, v: char) -> Result<Kind, Error> {
        let mut utf8 = [0; 4];
        self.serialize_str(v.encode_utf8(&mut utf8))
    }
    fn serialize_str(self, v: &str) -> Result<Kind, Error> {
        self.0.extend_from_slice(v.as_bytes());
        Ok(Kind::Str)
    }
    fn serialize_none(self) -> Result<Kind, Error> {
        Ok(Kind::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Kind, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Kind, Error> {
        Ok(Kind::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Kind, Error> {
        Ok(Kind::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Kind, Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Kind, Error> {
        value.serialize(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error::Composite)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(Error::Composite)
    }
    refuse_compounds!(Kind, Err(Error::Composite));
}

#[cfg(test)]
mod tests {
    use super::{array_element, escape, Column, CopyRows};
    use serde::Serialize;
    use serde_json::json;

    fn column(name: &str, json: bool, array: bool) -> Column {
        Column {
            name: name.into(),
            json,
            array,
        }
    }

    #[test]
    fn copy_text_escapes_only_its_four_specials_and_keeps_every_character() {
        let mut out = Vec::new();
        escape(&mut out, "Zürich\tß\\n\nÉtat\r«ok»".as_bytes());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Zürich\\tß\\\\n\\nÉtat\\r«ok»"
        );
        let mut plain = Vec::new();
        escape(&mut plain, "Ελλάδα, no specials".as_bytes());
        assert_eq!(String::from_utf8(plain).unwrap(), "Ελλάδα, no specials");
    }

    #[test]
    fn an_array_element_is_quoted_with_its_quotes_and_backslashes_escaped() {
        let mut out = String::new();
        array_element(&mut out, r#"a "b" \c ő"#);
        assert_eq!(out, r#""a \"b\" \\c ő""#);
    }

    #[derive(Serialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        RequestClosed,
    }

    #[derive(Serialize)]
    struct Row {
        id: String,
        n: i64,
        ratio: f64,
        done: bool,
        kind: Kind,
        missing: Option<String>,
        tags: Vec<String>,
        params: serde_json::Value,
        text_in_json: String,
    }

    /// Every field as the JSON path (the rows' JSON read by `json_populate_recordset`)
    /// takes it, in the columns' order, whatever the row's own order.
    #[test]
    fn fields_go_in_the_columns_order_each_as_its_column_takes_it() {
        let row = Row {
            id: "a\tb".into(),
            n: -7,
            ratio: 0.5,
            done: true,
            kind: Kind::RequestClosed,
            missing: None,
            tags: vec!["x \"y\"".into(), "z".into()],
            params: json!({"k": "v\n"}),
            text_in_json: "plain".into(),
        };
        let columns = [
            column("text_in_json", true, false),
            column("params", true, false),
            column("tags", false, true),
            column("missing", false, false),
            column("kind", false, false),
            column("done", false, false),
            column("ratio", false, false),
            column("n", false, false),
            column("id", false, false),
            column("absent", false, false),
        ];
        let rows = CopyRows::encode(&[&row, &row]).unwrap();
        let mut out = Vec::new();
        rows.write(&columns, &mut out).unwrap();
        let line =
            r#""plain"	{"k":"v\\n"}	{"x \\"y\\"","z"}	\N	request_closed	true	0.5	-7	a\tb	\N"#;
        assert_eq!(String::from_utf8(out).unwrap(), format!("{line}\n{line}\n"));
    }

    #[test]
    fn a_map_row_is_read_by_its_keys_and_anything_else_is_refused() {
        let rows = CopyRows::encode(&[json!({"b": [1, null], "a": null})]).unwrap();
        let mut out = Vec::new();
        rows.write(
            &[column("a", false, false), column("b", false, true)],
            &mut out,
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\\N\t{\"1\",NULL}\n");
        assert!(CopyRows::encode(&["not a row"]).is_err());
        assert!(CopyRows::encode(&[json!({"a": 1}), json!(2)]).is_err());
    }
}
